import { afterEach, describe, expect, it } from "bun:test";
import { generateKeyPairSync } from "node:crypto";
import { nodeIdOf } from "../../../src/storage/identity.ts";
import { LinkManager, type LinkManagerInit } from "../../../src/transport/links/index.ts";
import { MemoryNetwork, memoryTransport } from "../../../src/transport/memory/index.ts";
import type { Tier } from "../../../src/domain/tiers.ts";
import type { SignalMessage } from "../../../src/transport/signaling/signal.ts";
import { DialRefusedError, WrongPeerError } from "../../../src/transport/errors.ts";
import { waitFor } from "../../helpers/instance.ts";

/** Each manager's identity: the node id its links' handshakes prove. */
function identity() {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  return { nodeId: nodeIdOf(publicKey), publicKey, privateKey };
}
// In the order of their node ids, as a < b < c were before ids came from keys (the tie-break prefers the lower id).
const [first, second, third] = [identity(), identity(), identity()].sort((x, y) => (x.nodeId < y.nodeId ? -1 : 1)) as [ReturnType<typeof identity>, ReturnType<typeof identity>, ReturnType<typeof identity>];
const IDENTITY = { a: first, b: second, c: third };
const ID = { a: first.nodeId, b: second.nodeId, c: third.nodeId };
const NAME = Object.fromEntries(Object.entries(ID).map(([name, id]) => [id, name]));
const FAST: Partial<LinkManagerInit> = { pingIntervalMs: 50, deadAfterMs: 300, retryMinMs: 100, retryMaxMs: 400, staggerMs: 20, dialTimeoutMs: 1000 };

let managers: LinkManager[] = [];
afterEach(async () => {
  await Promise.all(managers.map((m) => m.close()));
  managers = [];
});

async function manager(network: MemoryNetwork, name: keyof typeof ID, tiers: Tier[], init: Partial<LinkManagerInit> = {}) {
  const m = new LinkManager({ identity: IDENTITY[name], transports: tiers.map((t) => memoryTransport(network, name, t)), ...FAST, ...init });
  await m.start();
  managers.push(m);
  return m;
}

const primaryOf = (m: LinkManager, peer: string) => m.status().find((s) => s.nodeId === peer)?.tier ?? null;
const bytes = (s: string) => new TextEncoder().encode(s);

function inbox(m: LinkManager) {
  const got: string[] = [];
  m.onData((from, data) => got.push(`${NAME[from]}:${new TextDecoder().decode(data)}`));
  return got;
}

describe("link manager", () => {
  it("links on every tier, makes the best one primary, and carries data both ways", async () => {
    const net = new MemoryNetwork();
    const a = await manager(net, "a", ["websocket", "http"]);
    const b = await manager(net, "b", ["websocket", "http"]);
    const atA = inbox(a);
    const atB = inbox(b);
    a.connect({ nodeId: ID.b, memory: "b" });
    await waitFor(() => primaryOf(a, ID.b) === "websocket" && primaryOf(b, ID.a) === "websocket", 3000, "websocket primary");
    await waitFor(() => a.status()[0]!.tiers.length === 2, 3000, "http standing by");
    expect(a.status()[0]).toMatchObject({ state: "connected", tiers: ["websocket", "http"] });
    expect(a.status()[0]!.rttMs).toBeGreaterThanOrEqual(0);
    expect(a.send(ID.b, bytes("hello"))).toBe(true);
    expect(b.send(ID.a, bytes("back"))).toBe(true);
    await waitFor(() => atB.length === 1 && atA.length === 1, 2000, "data");
    expect(atB).toEqual(["a:hello"]);
    expect(atA).toEqual(["b:back"]);
  });

  it("fails over to the next tier when the primary goes silent, and climbs back when it returns", async () => {
    const net = new MemoryNetwork();
    const a = await manager(net, "a", ["webrtc", "websocket"]);
    const b = await manager(net, "b", ["webrtc", "websocket"]);
    const changes: string[] = [];
    a.onChange((_, tier, previous) => changes.push(`${previous}->${tier}`));
    a.connect({ nodeId: ID.b, memory: "b" });
    await waitFor(() => primaryOf(a, ID.b) === "webrtc", 3000, "webrtc primary");

    net.cut.add("webrtc");
    await waitFor(() => primaryOf(a, ID.b) === "websocket" && primaryOf(b, ID.a) === "websocket", 3000, "failover to websocket");
    const atB = inbox(b);
    expect(a.send(ID.b, bytes("during the cut"))).toBe(true);
    await waitFor(() => atB.length === 1, 2000, "data over websocket");

    net.cut.delete("webrtc");
    await waitFor(() => primaryOf(a, ID.b) === "webrtc" && primaryOf(b, ID.a) === "webrtc", 5000, "back on webrtc");
    expect(changes).toContain("webrtc->websocket");
    expect(changes.at(-1)).toBe("websocket->webrtc");
  });

  it("reports a peer with no live link as disconnected, and send says so", async () => {
    const net = new MemoryNetwork();
    const a = await manager(net, "a", ["websocket"]);
    await manager(net, "b", ["websocket"]);
    a.connect({ nodeId: ID.b, memory: "b" });
    await waitFor(() => primaryOf(a, ID.b) === "websocket", 3000, "linked");
    net.cut.add("websocket");
    await waitFor(() => a.status()[0]!.state !== "connected", 3000, "link declared dead");
    expect(a.send(ID.b, bytes("x"))).toBe(false);
  });

  it("keeps one link per tier when both ends dial at once", async () => {
    const net = new MemoryNetwork();
    const a = await manager(net, "a", ["websocket"]);
    const b = await manager(net, "b", ["websocket"]);
    a.connect({ nodeId: ID.b, memory: "b" });
    b.connect({ nodeId: ID.a, memory: "a" });
    await waitFor(() => primaryOf(a, ID.b) && primaryOf(b, ID.a), 3000, "linked");
    await Bun.sleep(300);
    const atB = inbox(b);
    a.send(ID.b, bytes("once"));
    await Bun.sleep(50);
    expect(atB).toEqual(["a:once"]);
    expect(a.status()).toHaveLength(1);
    expect(a.status()[0]!.state).toBe("connected");
  });

  it("refuses a link that reaches the wrong instance, or itself", async () => {
    const net = new MemoryNetwork();
    const a = await manager(net, "a", ["websocket"]);
    await manager(net, "c", ["websocket"]);
    a.connect({ nodeId: ID.b, memory: "c" });
    a.connect({ nodeId: ID.a, memory: "a" });
    await Bun.sleep(300);
    expect(a.status().filter((s) => s.state === "connected")).toEqual([]);
  });

  it("carries WebRTC signaling over an existing link", async () => {
    const net = new MemoryNetwork();
    const a = await manager(net, "a", ["websocket"]);
    const b = await manager(net, "b", ["websocket"]);
    const got: [string, SignalMessage][] = [];
    b.signaling.onMessage((from, m) => got.push([from, m]));
    a.connect({ nodeId: ID.b, memory: "b" });
    await waitFor(() => primaryOf(a, ID.b), 3000, "linked");
    await a.signaling.send({ nodeId: ID.b }, { session: "s1", kind: "offer", sdp: "v=0" });
    await waitFor(() => got.length === 1, 1000, "signal");
    expect(got[0]).toEqual([ID.a, { session: "s1", kind: "offer", sdp: "v=0" }]);
    await expect(a.signaling.send({ nodeId: ID.c }, { session: "s2", kind: "offer", sdp: "v=0" })).rejects.toThrow();
  });

  it("holds no more peers than its limit: a newcomer displaces a fresh peer, never a linked member of a private room", async () => {
    const net = new MemoryNetwork();
    let bPrivate = false;
    const a = await manager(net, "a", ["websocket"], { maxPeers: 1, standing: (id) => (id === ID.b && bPrivate ? "private" : null) });
    await manager(net, "b", ["websocket"]);
    const c = await manager(net, "c", ["websocket"]);
    a.connect({ nodeId: ID.b, memory: "b" });
    await waitFor(() => primaryOf(a, ID.b), 3000, "linked to b");
    // b proved a private room we share: c is refused, dialled or dialling.
    a.vouch(ID.b, true);
    bPrivate = true;
    await expect(a.connect({ nodeId: ID.c, memory: "c" })).rejects.toThrow("most peers allowed");
    c.connect({ nodeId: ID.a, memory: "a" });
    await Bun.sleep(300);
    expect(a.status().map((s) => s.nodeId)).toEqual([ID.b]);
    expect(primaryOf(c, ID.a)).toBeNull();
    // b shares nothing after all: the next newcomer takes its place, and b's links close.
    a.vouch(ID.b, false);
    bPrivate = false;
    await waitFor(() => primaryOf(a, ID.c), 3000, "c in b's place");
    expect(a.status().map((s) => s.nodeId)).toEqual([ID.c]);
  });

  it("a peer past its frames a second loses its link; another peer's link carries on", async () => {
    const net = new MemoryNetwork();
    const a = await manager(net, "a", ["websocket"], { framesPerSecond: 100 });
    const b = await manager(net, "b", ["websocket"]);
    const c = await manager(net, "c", ["websocket"]);
    const atA = inbox(a);
    b.connect({ nodeId: ID.a, memory: "a" });
    c.connect({ nodeId: ID.a, memory: "a" });
    await waitFor(() => primaryOf(b, ID.a) && primaryOf(c, ID.a), 3000, "both linked");
    for (let i = 0; i < 1000 && b.send(ID.a, bytes(`flood ${i}`)); i++);
    await waitFor(() => a.status().find((s) => s.nodeId === ID.b)?.log.some((e) => e.event.includes("over 100 frames a second")), 3000, "b's link closed");
    expect(atA.filter((m) => m.startsWith("b:")).length).toBeLessThan(1000);
    expect(c.send(ID.a, bytes("still here"))).toBe(true);
    await waitFor(() => atA.includes("c:still here"), 2000, "c's frame");
  });

  it("forget closes a peer's links, stops dialling it, and frees its place", async () => {
    const net = new MemoryNetwork();
    const a = await manager(net, "a", ["websocket", "http"]);
    const b = await manager(net, "b", ["websocket", "http"]);
    const changes: (Tier | null)[] = [];
    a.onChange((peer, tier) => peer === ID.b && changes.push(tier));
    a.connect({ nodeId: ID.b, memory: "b" });
    await waitFor(() => a.status()[0]?.tiers.length === 2, 3000, "both tiers");
    a.forget(ID.b, "test says so");
    expect(a.status()).toEqual([]);
    await waitFor(() => primaryOf(b, ID.a) === null, 3000, "b sees the links close");
    expect(changes.at(-1)).toBeNull();
    await Bun.sleep(500); // several retry periods: nothing is redialled
    expect(a.status()).toEqual([]);
  });

  it("a duplicate that replaces the primary on its tier leaves a usable primary (send never spins)", async () => {
    const net = new MemoryNetwork();
    // Both ends dial at once; b's dial is quick and becomes primary, a's is slow (a stalled handshake) and, being the
    // lower id's, replaces it when it finally connects.
    net.dialDelayMs = (from) => (from === "a" ? 300 : 0);
    net.delayMs = 20;
    const a = await manager(net, "a", ["websocket"]);
    const b = await manager(net, "b", ["websocket"]);
    const atA = inbox(a);
    a.connect({ nodeId: ID.b, memory: "b" });
    b.connect({ nodeId: ID.a, memory: "a" });
    await waitFor(() => primaryOf(b, ID.a) === "websocket", 3000, "b's link primary");
    const deadline = Date.now() + 800;
    while (Date.now() < deadline) {
      b.send(ID.a, bytes("tick"));
      await Bun.sleep(1);
    }
    await waitFor(() => primaryOf(b, ID.a) === "websocket", 3000, "a primary again");
    expect(b.send(ID.a, bytes("after"))).toBe(true);
    await waitFor(() => atA.includes("b:after"), 2000, "data after the swap");
  });

  it("connect resolves with the first tier that links", async () => {
    const net = new MemoryNetwork();
    const a = await manager(net, "a", ["webrtc", "websocket"]);
    await manager(net, "b", ["websocket"]);
    expect(await a.connect({ nodeId: ID.b, memory: "b" })).toBe("websocket");
  });

  it("a connect where every tier fails rejects with an AggregateError of each tier's error; an address where another node answers is not tried again", async () => {
    const net = new MemoryNetwork();
    const a = await manager(net, "a", ["webrtc", "websocket"]);
    await manager(net, "c", ["websocket"]);
    // Nothing listens for webrtc at c, and c is not b.
    const error = await a.connect({ nodeId: ID.b, memory: "c" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AggregateError);
    const causes = (error as AggregateError).errors;
    expect(causes).toHaveLength(2);
    expect(causes.some((e) => e instanceof DialRefusedError)).toBe(true);
    expect(causes.some((e) => e instanceof WrongPeerError && e.message === `reached ${ID.c}, not ${ID.b}`)).toBe(true);
    // webrtc (refused) is retried; websocket reached another node there, so it is not, until the address changes.
    await waitFor(() => (a.status()[0]?.log.filter((e) => /webrtc dial failed/.test(e.event)).length ?? 0) >= 2, 3000, "a webrtc retry");
    await Bun.sleep(300);
    const websocketFailures = a.status()[0]!.log.filter((e) => /websocket dial failed/.test(e.event));
    expect(websocketFailures.map((e) => e.event)).toEqual([`websocket dial failed (1x): reached ${ID.c}, not ${ID.b}; not tried again at this address`]);
    // At a new address the peer is dialled again, and found.
    await manager(net, "b", ["websocket"]);
    expect(await a.connect({ nodeId: ID.b, memory: "b" })).toBe("websocket");
  });

  it("dials a staggered tier when its wait ends, not at the next regular pump", async () => {
    const net = new MemoryNetwork();
    // Regular pumps twice a second (retryMinMs 5 s); websocket waits 50 ms behind webrtc, which nothing answers.
    const slow = { staggerMs: 50, retryMinMs: 5000, retryMaxMs: 5000 };
    const a = await manager(net, "a", ["webrtc", "websocket"], slow);
    await manager(net, "b", ["websocket"], slow);
    const started = Date.now();
    await a.connect({ nodeId: ID.b, memory: "b" });
    await waitFor(() => primaryOf(a, ID.b) === "websocket", 3000, "websocket");
    const up = a.status()[0]!.log.find((e) => e.event.startsWith("websocket link up"))!.at - started;
    // At the wait's end (50 ms), give or take a busy machine; the regular pump would have come at 500 ms.
    expect(up).toBeGreaterThanOrEqual(45);
    expect(up).toBeLessThan(400);
  });

  it("dials a tier that dialAtOnce names for the address with the best one, not after its stagger", async () => {
    const net = new MemoryNetwork();
    // websocket would wait 2 s behind webrtc, which nothing answers; at memory address "b" it is dialled at once.
    const init = { staggerMs: 2000, retryMinMs: 5000, retryMaxMs: 5000, dialAtOnce: (address: { memory?: string }) => (address.memory === "b" ? (["websocket"] as Tier[]) : []) };
    const a = await manager(net, "a", ["webrtc", "websocket", "http"], init);
    await manager(net, "b", ["websocket"], init);
    const started = Date.now();
    await a.connect({ nodeId: ID.b, memory: "b" });
    const up = a.status()[0]!.log.find((e) => e.event.startsWith("websocket link up"))!.at - started;
    expect(up).toBeLessThan(1000);
    // http, not named, still waits for its turn (two staggers).
    expect(a.status()[0]!.log.some((e) => /http/.test(e.event))).toBe(false);
  });

  it("keeps a short log of each peer's state changes", async () => {
    const net = new MemoryNetwork();
    const a = await manager(net, "a", ["webrtc", "websocket"]);
    await manager(net, "b", ["webrtc", "websocket"]);
    await a.connect({ nodeId: ID.b, memory: "b" });
    await waitFor(() => primaryOf(a, ID.b) === "webrtc", 3000, "webrtc primary");
    net.cut.add("webrtc");
    await waitFor(() => primaryOf(a, ID.b) === "websocket", 3000, "failover");
    const events = a.status()[0]!.log.map((e) => e.event);
    expect(events[0]).toBe("connecting");
    expect(events).toContain("webrtc link up (dialled)");
    expect(events.some((e) => /^connected over (webrtc|websocket)$/.test(e))).toBe(true);
    // Whichever end notices the silence first closes the link; the other hears it closed by its peer.
    expect(events.some((e) => /^webrtc link closed: (closed by peer: )?silent for \d+ ms$/.test(e))).toBe(true);
    expect(events.at(-1)).toBe("primary webrtc -> websocket");
    for (let i = 0; i < 100; i++) a.closeLink(ID.b, "websocket", `churn ${i}`);
    expect(a.status()[0]!.log.length).toBeLessThanOrEqual(32);
  });
});
