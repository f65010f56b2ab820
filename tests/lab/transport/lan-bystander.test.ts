/**
 * A bystander on the LAN port sees every datagram (they are broadcast) and sends whatever it likes: it must learn
 * nothing from them and be able neither to close a secured link nor to slip a datagram into it.
 */
import { afterEach, describe, expect, it } from "bun:test";
import { generateKeyPairSync } from "node:crypto";
import dgram from "node:dgram";
import { nodeIdOf } from "../../../src/storage/identity.ts";
import { lanTransport, type LanTransport, type LanTransportInit } from "../../../src/transport/lan/index.ts";
import { decodeDatagram, encodeDatagram, TAG_BYTES, type Datagram } from "../../../src/transport/lan/wire.ts";
import type { Link } from "../../../src/transport/link.ts";
import { secureChannel, type ChannelIdentity } from "../../../src/transport/secure/channel.ts";
import { waitFor } from "../../helpers/instance.ts";
import { freeUdpPort } from "../../helpers/ports.ts";

const BROADCAST = "127.255.255.255";
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const bytes = (s: string) => new TextEncoder().encode(s);

function identity(): ChannelIdentity {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  return { nodeId: nodeIdOf(publicKey), publicKey, privateKey };
}

const open: { close(): unknown }[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((o) => o.close()));
});

/** Everything broadcast on the port, raw, and a way to send raw datagrams there. */
async function bystander(port: number) {
  const socket = dgram.createSocket({ type: "udp4", reuseAddr: true });
  await new Promise<void>((resolve) => socket.bind(port, "0.0.0.0", () => resolve()));
  socket.setBroadcast(true);
  const seen: Uint8Array[] = [];
  const watchers: ((d: Datagram) => void)[] = [];
  socket.on("message", (b) => {
    seen.push(new Uint8Array(b));
    const d = decodeDatagram(b);
    if (typeof d !== "string") for (const watch of watchers) watch(d);
  });
  open.push({ close: () => new Promise<void>((resolve) => socket.close(() => resolve())) });
  const send = (b: Uint8Array) => socket.send(b, port, BROADCAST);
  return {
    seen,
    decoded: () => seen.map((b) => decodeDatagram(b)).filter((d): d is Datagram => typeof d !== "string"),
    send,
    /** Calls `watch` with each datagram seen from now on. */
    watch: (watch: (d: Datagram) => void) => watchers.push(watch),
    /** Sends a datagram of its making, untagged or with a made-up tag. */
    forge: (d: Partial<Datagram> & Pick<Datagram, "type" | "from" | "to" | "session">, fakeTag = false) =>
      send(encodeDatagram({ seq: 0, index: 0, count: 0, payload: new Uint8Array(0), ...d }, fakeTag ? new Uint8Array(32) : undefined)),
  };
}

/** Two LAN transports on one port and a link between them, secured as the link manager secures it. */
async function securedPair(port: number, init: Partial<LanTransportInit> = {}) {
  const [a, b] = [identity(), identity()];
  const transports = [a, b].map((id) => lanTransport({ localNodeId: id.nodeId, port, address: BROADCAST, dialTimeoutMs: 1000, ...init })) as [LanTransport, LanTransport];
  open.push(...transports);
  const accepted = Promise.withResolvers<Link>();
  await transports[1].listen((link) => accepted.resolve(link));
  await transports[0].listen(() => {});
  const dialled = await transports[0].dial({ nodeId: b.nodeId, lan: `127.0.0.1:${port}` });
  const [atA, atB] = await Promise.all([
    secureChannel(dialled, { identity: a, initiator: true, expected: b.nodeId, timeoutMs: 2000 }),
    secureChannel(await accepted.promise, { identity: b, initiator: false, timeoutMs: 2000 }),
  ]);
  return { a, b, transports, atA: atA.link, atB: atB.link };
}

function collect(link: Link): string[] {
  const got: string[] = [];
  link.onFrame((f) => got.push(text(f)));
  return got;
}

describe("a LAN bystander", () => {
  it("sees only ciphertext, and cannot close, disturb or replay into a secured link", async () => {
    const port = await freeUdpPort();
    const eve = await bystander(port);
    const { a, b, transports, atA, atB } = await securedPair(port);
    const atBFrames = collect(atB);
    const atAFrames = collect(atA);
    for (let i = 0; i < 5; i++) atA.send(bytes(`secret marker ${i}`));
    await waitFor(() => atBFrames.length === 5, 3000, "the first frames");

    // What the bystander learnt: the link's session, its ids, its sequence numbers. Not the frames.
    const ours = eve.decoded().filter((d) => d.session !== 0 && (d.from === a.nodeId || d.from === b.nodeId));
    expect(ours.some((d) => d.type === "data")).toBe(true);
    expect(eve.seen.some((datagram) => text(datagram).includes("secret marker"))).toBe(false);
    const { session } = ours.find((d) => d.type === "data")!;
    const nextSeq = Math.max(...ours.filter((d) => d.from === a.nodeId && d.type === "data").map((d) => d.seq)) + 1;
    const captured = [...eve.seen];

    // Forged as A to B, and as B to A: FIN, reset, data at the next sequence numbers (untagged, and with a made-up
    // tag), acks; then every datagram seen so far, replayed.
    const forge = (from: string, to: string, d: Partial<Datagram> & Pick<Datagram, "type">, fakeTag = false) => eve.forge({ from, to, session, ...d }, fakeTag);
    for (const [from, to] of [[a.nodeId, b.nodeId], [b.nodeId, a.nodeId]] as const) {
      for (const fakeTag of [false, true]) {
        forge(from, to, { type: "fin", payload: bytes("bye from eve") }, fakeTag);
        forge(from, to, { type: "reset" }, fakeTag);
        for (let seq = nextSeq; seq < nextSeq + 4; seq++) forge(from, to, { type: "data", seq, count: 1, payload: bytes(`injected ${seq}`) }, fakeTag);
        forge(from, to, { type: "ack", seq: 1_000_000 }, fakeTag);
      }
    }
    for (const datagram of captured) eve.send(datagram);
    await Bun.sleep(300);
    expect(atA.closed).toBe(false);
    expect(atB.closed).toBe(false);
    expect(transports[1].stats.unauthenticated + transports[0].stats.unauthenticated).toBeGreaterThan(0);

    // The link carries on: later frames arrive whole, in order, once, both ways.
    for (let i = 5; i < 10; i++) atA.send(bytes(`secret marker ${i}`));
    atB.send(bytes("answer"));
    await waitFor(() => atBFrames.length === 10 && atAFrames.length === 1, 3000, "the later frames");
    await Bun.sleep(100);
    expect(atBFrames).toEqual(Array.from({ length: 10 }, (_, i) => `secret marker ${i}`));
    expect(atAFrames).toEqual(["answer"]);
    expect(eve.seen.some((datagram) => text(datagram).includes("secret marker") || text(datagram).includes("answer"))).toBe(false);
    // Every datagram of the secured link after the handshake carries a tag.
    const forged = (d: Datagram) => text(d.payload).startsWith("injected");
    const late = eve.decoded().filter((d) => d.session === session && d.type === "data" && d.seq >= nextSeq && !forged(d));
    expect(late.length).toBeGreaterThan(0);
    expect(late.every((d) => d.tag?.tag.byteLength === TAG_BYTES)).toBe(true);
  });

  it("cannot slip data past the handshake while it runs", async () => {
    const port = await freeUdpPort();
    const eve = await bystander(port);
    // The handshake is A's data 0 and 1 and B's data 0. The moment each link exists, data is forged to follow it.
    let dialer = "";
    eve.watch((d) => {
      const ahead = (from: string, to: string, first: number) => {
        for (let seq = first; seq < first + 4; seq++) eve.forge({ type: "data", from, to, session: d.session, seq, count: 1, payload: bytes(`injected ${seq}`) });
      };
      // B has its link: as A, past A's last handshake message.
      if (d.type === "synAck" && !dialer) ahead((dialer = d.to), d.from, 2);
      // A has its link: as B, past B's only one.
      if (d.type === "data" && d.seq === 0 && d.from === dialer && !text(d.payload).startsWith("injected")) ahead(d.to, d.from, 1);
    });
    const { atA, atB } = await securedPair(port);
    const atBFrames = collect(atB);
    const atAFrames = collect(atA);
    atA.send(bytes("to B"));
    atB.send(bytes("to A"));
    await waitFor(() => (atBFrames.length === 1 && atAFrames.length === 1) || atA.closed || atB.closed, 3000, "the first frames");
    await Bun.sleep(100);
    expect(atA.closed || atB.closed).toBe(false);
    expect(atBFrames).toEqual(["to B"]);
    expect(atAFrames).toEqual(["to A"]);
  });

  it("cannot make a sender believe that a silent peer got its frames", async () => {
    const port = await freeUdpPort();
    const eve = await bystander(port);
    // B in a process of its own, so that it can be frozen without a word to A: it echoes what it gets.
    const root = new URL("../../../", import.meta.url).pathname;
    const peer = Bun.spawn([process.execPath, "-e", `
      import { generateKeyPairSync } from "node:crypto";
      import { nodeIdOf } from "${root}src/storage/identity.ts";
      import { lanTransport } from "${root}src/transport/lan/index.ts";
      import { secureChannel } from "${root}src/transport/secure/channel.ts";
      const { publicKey, privateKey } = generateKeyPairSync("ed25519");
      const identity = { nodeId: nodeIdOf(publicKey), publicKey, privateKey };
      const lan = lanTransport({ localNodeId: identity.nodeId, port: ${port}, address: "${BROADCAST}" });
      await lan.listen(async (raw) => {
        const { link } = await secureChannel(raw, { identity, initiator: false, timeoutMs: 2000 });
        link.onFrame((frame) => link.send(frame));
      });
      console.log(identity.nodeId);
    `], { stdout: "pipe", stderr: "inherit" });
    open.push({ close: () => peer.kill("SIGKILL") });
    const { value } = await peer.stdout.getReader().read();
    const b = text(value!).trim();

    const a = identity();
    const lan = lanTransport({ localNodeId: a.nodeId, port, address: BROADCAST, dialTimeoutMs: 2000, linkTimeoutMs: 1000 });
    open.push(lan);
    await lan.listen(() => {});
    const raw = await lan.dial({ nodeId: b, lan: `127.0.0.1:${port}` });
    const { link } = await secureChannel(raw, { identity: a, initiator: true, expected: b, timeoutMs: 2000 });
    const echoed = collect(link);
    const closed = Promise.withResolvers<string>();
    link.onClose((reason) => closed.resolve(reason));
    link.send(bytes("are you there"));
    await waitFor(() => echoed.length === 1, 3000, "the echo");

    // B freezes. The bystander acknowledges, as B, each datagram A sends it, the moment it sees one.
    peer.kill("SIGSTOP");
    eve.watch((d) => {
      if (d.type !== "data" || d.from !== a.nodeId || d.to !== b) return;
      for (const fakeTag of [false, true]) eve.forge({ type: "ack", from: b, to: a.nodeId, session: d.session, seq: d.seq + 1 }, fakeTag);
    });
    for (let i = 0; i < 3; i++) link.send(bytes(`into the void ${i}`));
    // A is not fooled: nothing acknowledges its frames, so the link closes instead of losing them silently.
    const reason = await Promise.race([closed.promise, Bun.sleep(4000).then(() => "still open")]);
    expect(reason).toContain("stopped acknowledging");
    expect(lan.stats.unauthenticated).toBeGreaterThan(0);
  });

  it("lets the handshake finish when its last message waits for the window", async () => {
    // A window for one handshake message at a time: message 3 queues behind message 1 until B acks that.
    const port = await freeUdpPort();
    const { atA, atB } = await securedPair(port, { windowBytes: 300 });
    const atBFrames = collect(atB);
    atA.send(bytes("after the handshake"));
    await waitFor(() => atBFrames.length === 1, 3000, "the frame");
  });

  it("a link closed by its own end still closes the far end", async () => {
    const port = await freeUdpPort();
    const { atA, atB } = await securedPair(port);
    const reason = Promise.withResolvers<string>();
    atB.onClose((r) => reason.resolve(r));
    atA.close("done here");
    expect(await reason.promise).toContain("done here");
  });
});
