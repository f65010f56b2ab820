import { afterEach, describe, expect, it } from "bun:test";
import dgram from "node:dgram";
import { DialError, DialRefusedError, DialTimeoutError, TransportClosedError } from "../../../src/transport/errors.ts";
import { decodeBeacon, encodeBeacon } from "../../../src/transport/lan/beacon.ts";
import { lanTransport, type BeaconInfo, type LanTransport, type LanTransportInit } from "../../../src/transport/lan/index.ts";
import { decodeDatagram, encodeDatagram, MAX_BEACON_BYTES, type Datagram } from "../../../src/transport/lan/wire.ts";
import type { Link } from "../../../src/transport/link.ts";
import { waitFor } from "../../helpers/instance.ts";
import { freeUdpPort } from "../../helpers/ports.ts";
import { transportCompliance } from "../../helpers/compliance.ts";

const BROADCAST = "127.255.255.255";
const randomId = () => Buffer.from(crypto.getRandomValues(new Uint8Array(10))).toString("hex");

/** A UDP port nothing uses now: bound on port 0 with reuse, read, released. */
function collect(link: Link): Uint8Array[] {
  const frames: Uint8Array[] = [];
  link.onFrame((f) => frames.push(f));
  return frames;
}

const open: LanTransport[] = [];
function transport(init: Partial<LanTransportInit> & { port: number }): LanTransport {
  const t = lanTransport({ localNodeId: randomId(), address: BROADCAST, dialTimeoutMs: 1000, ...init });
  open.push(t);
  return t;
}

/** Another instance on the port, speaking the wire format by hand: lets a test drop, reorder and forge datagrams. */
class RawPeer {
  readonly inbox: Datagram[] = [];
  private constructor(
    readonly socket: dgram.Socket,
    readonly port: number,
    readonly id: string,
  ) {
    socket.on("message", (bytes) => {
      const d = decodeDatagram(bytes);
      if (typeof d !== "string" && d.to === id) this.inbox.push(d);
    });
  }

  static async open(port: number, id = randomId()): Promise<RawPeer> {
    const socket = dgram.createSocket({ type: "udp4", reuseAddr: true });
    await new Promise<void>((resolve) => socket.bind(port, "0.0.0.0", () => resolve()));
    socket.setBroadcast(true);
    return new RawPeer(socket, port, id);
  }

  sendBytes(bytes: Uint8Array): void {
    this.socket.send(bytes, this.port, BROADCAST);
  }

  send(d: Partial<Datagram> & Pick<Datagram, "type" | "to">): void {
    this.sendBytes(encodeDatagram({ from: this.id, session: 0, seq: 0, index: 0, count: 0, payload: new Uint8Array(0), ...d }));
  }

  async next(match: (d: Datagram) => boolean, timeoutMs = 3000): Promise<Datagram> {
    await waitFor(() => this.inbox.some(match), timeoutMs);
    const at = this.inbox.findIndex(match);
    return this.inbox.splice(at, 1)[0]!;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

transportCompliance("lan", async (options) => {
  const port = await freeUdpPort();
  const bId = randomId();
  const a = lanTransport({ localNodeId: randomId(), port, address: BROADCAST, dialTimeoutMs: 1000, ...options });
  const b = lanTransport({ localNodeId: bId, port, address: BROADCAST, dialTimeoutMs: 1000, ...options });
  await Promise.all([a.ready, b.ready]);
  return {
    a,
    b,
    addressOfB: { nodeId: bId, lan: `127.0.0.1:${port}` },
    nowhere: { nodeId: randomId(), lan: `127.0.0.1:${port}` },
  };
});

describe("LAN datagram codec", () => {
  const sample: Datagram = {
    type: "data",
    from: "aaaaaaaaaaaaaaaaaaaa",
    to: "bbbbbbbbbbbbbbbbbbbb",
    session: 0xdeadbeef,
    seq: 7,
    index: 2,
    count: 3,
    payload: Uint8Array.of(1, 2, 3),
  };

  it("round-trips every datagram type", () => {
    for (const type of ["syn", "synAck", "ack", "fin", "reset"] as const) {
      const d = { ...sample, type, index: 0, count: 0, payload: new Uint8Array(0) };
      expect(decodeDatagram(encodeDatagram(d))).toEqual(d);
    }
    expect(decodeDatagram(encodeDatagram(sample))).toEqual(sample);
    const beacon = { ...sample, type: "beacon" as const, to: "", index: 0, count: 0, payload: encodeBeacon({ nodeId: sample.from })! };
    expect(decodeDatagram(encodeDatagram(beacon))).toEqual(beacon);
  });

  it("lays out magic, version, type, session, seq and fragment fields at fixed offsets", () => {
    const bytes = encodeDatagram(sample);
    const view = new DataView(bytes.buffer);
    expect([...bytes.subarray(0, 4)]).toEqual([0x45, 0x47, 1, 4]);
    expect([view.getUint32(4), view.getUint32(8), view.getUint16(12), view.getUint16(14)]).toEqual([0xdeadbeef, 7, 2, 3]);
    expect(bytes.byteLength).toBe(16 + 1 + 20 + 1 + 20 + 3);
  });

  it("answers a reason for malformed datagrams instead of throwing", () => {
    const good = encodeDatagram(sample);
    const edit = (offset: number, value: number) => {
      const copy = good.slice();
      copy[offset] = value;
      return copy;
    };
    const bad: [string, Uint8Array][] = [
      ["empty", new Uint8Array(0)],
      ["wrong magic", edit(0, 0x46)],
      ["unknown version", edit(2, 2)],
      ["unknown type", edit(3, 99)],
      ["zero fragment count", encodeDatagram({ ...sample, index: 0, count: 0 })],
      ["index past count", encodeDatagram({ ...sample, index: 3, count: 3 })],
      ["fragments on an ack", encodeDatagram({ ...sample, type: "ack", payload: new Uint8Array(0) })],
      ["id runs past the end", edit(16, 200)],
      ["id not printable", edit(17, 0x00)],
      ["beacon with a receiver", encodeDatagram({ ...sample, type: "beacon", index: 0, count: 0 })],
      ["data without a receiver", encodeDatagram({ ...sample, to: "" })],
      ["no sender", encodeDatagram({ ...sample, from: "" })],
      ["payload on an ack", encodeDatagram({ ...sample, type: "ack", index: 0, count: 0 })],
      ["oversize beacon", encodeDatagram({ ...sample, type: "beacon", to: "", index: 0, count: 0, payload: new Uint8Array(MAX_BEACON_BYTES + 1) })],
    ];
    for (const [what, bytes] of bad) expect([what, typeof decodeDatagram(bytes)]).toEqual([what, "string"]);
    for (let length = 0; length < good.byteLength - 3; length++) expect(typeof decodeDatagram(good.subarray(0, length))).toBe("string");
  });

  it("never throws on random bytes", () => {
    for (let i = 0; i < 5000; i++) {
      const bytes = crypto.getRandomValues(new Uint8Array(4 + Math.floor(Math.random() * 200)));
      if (i % 2) bytes.set([0x45, 0x47, 1, 1 + (i % 7)]);
      expect(() => decodeDatagram(bytes)).not.toThrow();
    }
  });

  it("round-trips beacons and checks every field", () => {
    const id = "cccccccccccccccccccc";
    const info: BeaconInfo = { nodeId: id, name: "Ana's laptop", salt: "s".repeat(22), rooms: ["lobbylobbylobby1", "dev-team-dev-tea"], http: "http://10.0.0.2:8080", ws: "ws://10.0.0.2:9000" };
    const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
    expect(decodeBeacon(encodeBeacon(info)!, id)).toEqual(info);
    expect(decodeBeacon(json({ ...info, extra: 1 }), id)).toEqual(info);
    expect(decodeBeacon(encodeBeacon(info)!, "someone-else")).toBeNull();
    for (const wrong of [{ name: "" }, { name: 5 }, { rooms: "lobby" }, { rooms: ["no spaces"] }, { http: "ftp://x" }, { http: "http://10.0.0.2:8080/mesh/evil" }, { ws: "ws://10.0.0.2:9000/link?x" }, { ws: 1 }]) {
      expect(decodeBeacon(json({ ...info, ...wrong }), id)).toBeNull();
    }
    for (const junk of ["", "null", "[]", "{", '"x"']) expect(decodeBeacon(new TextEncoder().encode(junk), id)).toBeNull();
    expect(decodeBeacon(Uint8Array.of(0xff, 0xfe), id)).toBeNull();
  });

  it("trims rooms until a beacon fits, and gives up when nothing does", () => {
    const rooms = Array.from({ length: 200 }, (_, i) => `room-${i}`.padEnd(16, "x"));
    const payload = encodeBeacon({ nodeId: "n", rooms })!;
    expect(payload.byteLength).toBeLessThanOrEqual(MAX_BEACON_BYTES);
    const kept = decodeBeacon(payload, "n")!.rooms!;
    expect(kept.length).toBeGreaterThan(10);
    expect(kept).toEqual(rooms.slice(0, kept.length));
    expect(encodeBeacon({ nodeId: "n", name: "x".repeat(2000) })).toBeNull();
  });
});

describe("LAN transport", () => {
  it("beacons of each of three instances on one port reach the other two, never itself", async () => {
    const port = await freeUdpPort();
    const heard = new Map<string, (BeaconInfo & { from: string })[]>();
    const ids = [randomId(), randomId(), randomId()];
    for (const [i, id] of ids.entries()) {
      heard.set(id, []);
      transport({
        port,
        localNodeId: id,
        beaconIntervalMs: 50,
        beacon: () => ({ nodeId: id, name: `n${i}`, rooms: ["lobbylobbylobby1"], http: `http://127.0.0.1:${8000 + i}` }),
        onBeacon: (info) => heard.get(id)!.push(info),
      });
    }
    await waitFor(() => ids.every((id) => new Set(heard.get(id)!.map((b) => b.nodeId)).size === 2));
    for (const [i, id] of ids.entries()) {
      const from = new Set(heard.get(id)!.map((b) => b.nodeId));
      expect(from).toEqual(new Set(ids.filter((other) => other !== id)));
      const fromNext = heard.get(id)!.find((b) => b.nodeId === ids[(i + 1) % 3])!;
      expect(fromNext).toEqual({ nodeId: ids[(i + 1) % 3]!, name: `n${(i + 1) % 3}`, rooms: ["lobbylobbylobby1"], http: `http://127.0.0.1:${8000 + ((i + 1) % 3)}`, from: `127.0.0.1:${port}` });
    }
  });

  it("a frame on link A→B does not reach C's links", async () => {
    const port = await freeUdpPort();
    const [bId, cId] = [randomId(), randomId()];
    const [a, b, c] = [transport({ port }), transport({ port, localNodeId: bId }), transport({ port, localNodeId: cId })];
    const atB: Link[] = [];
    const atC: Link[] = [];
    await Promise.all([b.listen((l) => atB.push(l)), c.listen((l) => atC.push(l)), a.ready]);
    const toB = await a.dial({ nodeId: bId, lan: `127.0.0.1:${port}` });
    const toC = await a.dial({ nodeId: cId, lan: `127.0.0.1:${port}` });
    await waitFor(() => atB.length === 1 && atC.length === 1);
    const [framesB, framesC] = [collect(atB[0]!), collect(atC[0]!)];
    toB.send(new TextEncoder().encode("for B"));
    toC.send(new TextEncoder().encode("for C"));
    await waitFor(() => framesB.length === 1 && framesC.length === 1);
    await Bun.sleep(50);
    expect(new TextDecoder().decode(framesB[0])).toBe("for B");
    expect(new TextDecoder().decode(framesC[0])).toBe("for C");
    expect([framesB.length, framesC.length]).toEqual([1, 1]);
    // C saw A's datagrams to B (all are broadcast) and dropped them.
    expect(c.stats.received).toBeGreaterThan(c.stats.sent);
  });

  for (const maxDatagramBytes of [60_000, 1200]) {
    it(`a 1 MiB frame and 500 small frames arrive intact and in order (${maxDatagramBytes}-byte datagrams)`, async () => {
      const port = await freeUdpPort();
      const bId = randomId();
      const a = transport({ port, maxDatagramBytes });
      const b = transport({ port, localNodeId: bId, maxDatagramBytes });
      const accepted: Link[] = [];
      await b.listen((l) => accepted.push(l));
      const link = await a.dial({ nodeId: bId, lan: `127.0.0.1:${port}` });
      await waitFor(() => accepted.length === 1);
      const frames = collect(accepted[0]!);
      const big = new Uint8Array(1024 * 1024).map((_, i) => (i * 7919) % 251);
      link.send(big);
      for (let i = 0; i < 500; i++) link.send(new TextEncoder().encode(`small ${i}`));
      await waitFor(() => frames.length === 501, 10_000);
      expect(frames[0]!.byteLength).toBe(big.byteLength);
      expect(Buffer.compare(frames[0]!, big)).toBe(0);
      expect(frames.slice(1).map((f) => new TextDecoder().decode(f))).toEqual(Array.from({ length: 500 }, (_, i) => `small ${i}`));
    }, 15_000);
  }

  it("drops bad datagrams without throwing, counts them, and keeps working", async () => {
    const port = await freeUdpPort();
    const bId = randomId();
    const a = transport({ port });
    const b = transport({ port, localNodeId: bId });
    const accepted: Link[] = [];
    await b.listen((l) => accepted.push(l));
    const link = await a.dial({ nodeId: bId, lan: `127.0.0.1:${port}` });
    await waitFor(() => accepted.length === 1);
    const frames = collect(accepted[0]!);
    const raw = await RawPeer.open(port);
    const header = encodeDatagram({ type: "data", from: raw.id, to: bId, session: 1, seq: 0, index: 0, count: 1, payload: Uint8Array.of(1) });
    const before = b.stats.malformed;
    const junk = [
      ...Array.from({ length: 50 }, () => crypto.getRandomValues(new Uint8Array(1 + Math.floor(Math.random() * 1500)))),
      header.subarray(0, 10),
      header.subarray(0, 20),
      Uint8Array.of(0x00, 0x00, ...header.subarray(2)),
      encodeDatagram({ type: "data", from: raw.id, to: bId, session: 1, seq: 0, index: 5, count: 2, payload: Uint8Array.of(1) }),
      (() => {
        const oversize = header.slice();
        new DataView(oversize.buffer).setUint16(14, 0);
        return oversize;
      })(),
      encodeDatagram({ type: "beacon", from: raw.id, to: "", session: 0, seq: 0, index: 0, count: 0, payload: new TextEncoder().encode('{"nodeId":"forged"}') }),
    ];
    for (const bytes of junk) raw.sendBytes(bytes);
    await waitFor(() => b.stats.malformed - before >= junk.length - 2); // random bytes could, rarely, be a valid datagram
    link.send(Uint8Array.of(42));
    await waitFor(() => frames.length === 1);
    expect(frames).toEqual([Uint8Array.of(42)]);
    await raw.close();
  });

  it("delivers in order, once, whatever order and how often datagrams arrive", async () => {
    const port = await freeUdpPort();
    const bId = randomId();
    const b = transport({ port, localNodeId: bId });
    const accepted: Link[] = [];
    await b.listen((l) => accepted.push(l));
    const raw = await RawPeer.open(port);
    raw.send({ type: "syn", to: bId, session: 5 });
    await raw.next((d) => d.type === "synAck" && d.session === 5);
    expect(accepted).toHaveLength(1);
    const frames = collect(accepted[0]!);
    const data = (seq: number, payload: number[], index = 0, count = 1) =>
      raw.send({ type: "data", to: bId, session: 5, seq, index, count, payload: Uint8Array.from(payload) });
    data(3, [4], 1, 2);
    data(1, [1]);
    data(1, [1]);
    data(0, [0]);
    data(2, [2, 3], 0, 2);
    data(0, [0]);
    data(4, [5]);
    await waitFor(() => frames.length >= 4);
    await raw.next((d) => d.type === "ack" && d.seq === 5);
    await Bun.sleep(50);
    expect(frames).toEqual([Uint8Array.of(0), Uint8Array.of(1), Uint8Array.of(2, 3, 4), Uint8Array.of(5)]);
    await raw.close();
  });

  it("resends what the peer did not acknowledge", async () => {
    const port = await freeUdpPort();
    const a = transport({ port });
    const raw = await RawPeer.open(port);
    const dialing = a.dial({ nodeId: raw.id, lan: `127.0.0.1:${port}` });
    const syn = await raw.next((d) => d.type === "syn");
    raw.send({ type: "synAck", to: syn.from, session: syn.session });
    const link = await dialing;
    link.send(Uint8Array.of(9));
    const first = await raw.next((d) => d.type === "data");
    const again = await raw.next((d) => d.type === "data", 1000);
    expect([again.seq, [...again.payload]]).toEqual([first.seq, [9]]);
    expect(a.stats.retransmitted).toBeGreaterThanOrEqual(1);
    raw.send({ type: "ack", to: syn.from, session: syn.session, seq: 1 });
    await Bun.sleep(500);
    raw.inbox.length = 0;
    await Bun.sleep(500);
    expect(raw.inbox.filter((d) => d.type === "data")).toEqual([]);
    expect(link.closed).toBe(false);
    await raw.close();
  });

  it("closes a link whose peer stops acknowledging", async () => {
    const port = await freeUdpPort();
    const a = transport({ port, linkTimeoutMs: 400 });
    const raw = await RawPeer.open(port);
    const dialing = a.dial({ nodeId: raw.id, lan: `127.0.0.1:${port}` });
    const syn = await raw.next((d) => d.type === "syn");
    raw.send({ type: "synAck", to: syn.from, session: syn.session });
    const link = await dialing;
    const reasons: string[] = [];
    link.onClose((r) => reasons.push(r));
    link.send(Uint8Array.of(1));
    await waitFor(() => link.closed, 3000);
    expect(reasons).toEqual(["the peer stopped acknowledging"]);
    await raw.next((d) => d.type === "fin");
    await raw.close();
  });

  it("a dial to an instance that is not listening fails at once", async () => {
    const port = await freeUdpPort();
    const bId = randomId();
    const a = transport({ port, dialTimeoutMs: 5000 });
    await transport({ port, localNodeId: bId }).ready;
    const started = Date.now();
    await expect(a.dial({ nodeId: bId, lan: `127.0.0.1:${port}` })).rejects.toBeInstanceOf(DialRefusedError);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("a failed dial says why: no answer, a bad address, the transport closed", async () => {
    const port = await freeUdpPort();
    const lan = `127.0.0.1:${port}`;
    const a = transport({ port, dialTimeoutMs: 300 });
    await expect(a.dial({ nodeId: randomId(), lan })).rejects.toBeInstanceOf(DialTimeoutError);
    await expect(a.dial({ nodeId: "not a wire id", lan })).rejects.toHaveProperty("name", "DialError");
    await expect(a.dial({ nodeId: randomId() })).rejects.toHaveProperty("name", "DialError");
    const dialing = a.dial({ nodeId: randomId(), lan });
    await Bun.sleep(20);
    await a.close();
    await expect(dialing).rejects.toBeInstanceOf(TransportClosedError);
    await expect(a.dial({ nodeId: randomId(), lan })).rejects.toBeInstanceOf(TransportClosedError);
  });

  it("an abort during a dial rejects with the signal's reason", async () => {
    const port = await freeUdpPort();
    const a = transport({ port, dialTimeoutMs: 5000 });
    const dialing = a.dial({ nodeId: randomId(), lan: `127.0.0.1:${port}` }, AbortSignal.timeout(50));
    await expect(dialing).rejects.toHaveProperty("name", "TimeoutError");
  });

  it("refuses links past maxLinks", async () => {
    const port = await freeUdpPort();
    const bId = randomId();
    const b = transport({ port, localNodeId: bId, maxLinks: 4 });
    const accepted: Link[] = [];
    await b.listen((l) => accepted.push(l));
    const raw = await RawPeer.open(port);
    for (let session = 1; session <= 10; session++) raw.send({ type: "syn", to: bId, session });
    await waitFor(() => raw.inbox.length >= 10);
    expect(raw.inbox.filter((d) => d.type === "synAck")).toHaveLength(4);
    expect(raw.inbox.filter((d) => d.type === "reset")).toHaveLength(6);
    expect(accepted).toHaveLength(4);
    await raw.close();
  });

  it("nothing keeps the process alive after close", async () => {
    const port = await freeUdpPort();
    const script = `
      import { lanTransport } from "${import.meta.dir}/../../../src/transport/lan/index.ts";
      const common = { port: ${port}, address: "${BROADCAST}", beaconIntervalMs: 20, beacon: () => ({ nodeId: "x" }) };
      const a = lanTransport({ ...common, localNodeId: "a" });
      const b = lanTransport({ ...common, localNodeId: "b" });
      await b.listen((l) => l.onFrame(() => {}));
      const link = await a.dial({ nodeId: "b", lan: "127.0.0.1:${port}" });
      link.send(new Uint8Array(200000));
      await Bun.sleep(100);
      await a.close();
      await b.close();
      console.log("closed");
    `;
    const started = Date.now();
    const child = Bun.spawn([process.execPath, "-e", script], { stdout: "pipe", stderr: "pipe" });
    const code = await child.exited;
    expect(await new Response(child.stdout).text()).toBe("closed\n");
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it("reports a port held by a socket without address reuse", async () => {
    const holder = dgram.createSocket("udp4");
    await new Promise<void>((resolve) => holder.bind(0, "0.0.0.0", () => resolve()));
    const a = transport({ port: holder.address().port });
    await expect(a.ready).rejects.toHaveProperty("code", "EADDRINUSE");
    await expect(a.listen(() => {})).rejects.toHaveProperty("code", "EADDRINUSE");
    await expect(a.dial({ nodeId: randomId(), lan: "127.0.0.1:1" })).rejects.toBeInstanceOf(DialError);
    await new Promise<void>((resolve) => holder.close(() => resolve()));
  });

  it("round trips 1000 pings in order", async () => {
    const port = await freeUdpPort();
    const bId = randomId();
    const a = transport({ port });
    const b = transport({ port, localNodeId: bId });
    await b.listen((l) => l.onFrame((f) => l.send(f)));
    const link = await a.dial({ nodeId: bId, lan: `127.0.0.1:${port}` });
    const times: number[] = [];
    let wake = () => {};
    const got: number[] = [];
    link.onFrame((f) => {
      got.push(new DataView(f.buffer).getUint32(0));
      wake();
    });
    for (let i = 0; i < 1000; i++) {
      const started = performance.now();
      const arrived = new Promise<void>((resolve) => (wake = resolve));
      const ping = new Uint8Array(4);
      new DataView(ping.buffer).setUint32(0, i);
      link.send(ping);
      await arrived;
      times.push(performance.now() - started);
    }
    expect(got).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    times.sort((x, y) => x - y);
    console.log(`LAN loopback round trip over 1000 pings: p50 ${times[500]!.toFixed(3)} ms, p99 ${times[990]!.toFixed(3)} ms`);
  });
});
