/**
 * Meeting at a rendezvous (protocols/meet.ts, signaling/carrier.ts): peers that share no room with
 * the rendezvous, and cannot reach each other, wait there at a topic, hear of each other, and negotiate through it;
 * the rendezvous passes sessions on only between peers of a common topic.
 */
import { describe, expect, it } from "bun:test";
import { rendezvousTopic } from "../../../src/domain/rooms.ts";
import type { LinksInit } from "../../../src/network.ts";
import { CircuitRelay } from "../../../src/transport/protocols/circuit-relay.ts";
import { MemoryNetwork } from "../../../src/transport/memory/index.ts";
import type { SignalMessage } from "../../../src/transport/signaling/signal.ts";
import { waitFor } from "../../helpers/instance.ts";
import { signalingNode, type SignalingNode } from "../../helpers/signaling-nodes.ts";

const node = signalingNode;
type Node = SignalingNode;

const connected = (x: Node, y: Node) => x.m.status().some((s) => s.nodeId === y.id && s.state === "connected");
const knows = (x: Node, y: Node) => x.m.status().some((s) => s.nodeId === y.id);

/** `x` uses `r` as its rendezvous, waiting at `topics` there. */
async function wait(x: Node, r: Node, topics: string[]) {
  x.m.useRendezvous(r.id, topics);
  await x.m.connect({ nodeId: r.id, memory: r.name });
  await waitFor(() => connected(x, r) && connected(r, x), 3000, `${x.name} linked to the rendezvous`);
}

const TRIP = rendezvousTopic({ name: "trip", key: null }, "0".repeat(32));
const WORK = rendezvousTopic({ name: "work", key: null }, "0".repeat(32));
const OFFER: SignalMessage = { session: "webrtc:s1", kind: "offer", sdp: "v=0 marker-9c2f" };

it("meets two peers waiting at one topic, and passes their signaling on", async () => {
  const net = new MemoryNetwork();
  const [r, a, b] = [await node(net, "r"), await node(net, "a"), await node(net, "b")];
  await wait(a, r, [TRIP]);
  await wait(b, r, [WORK, TRIP]);
  // A, waiting already, hears of B when B comes, and files it as a peer to link to; B is told of no one.
  await waitFor(() => knows(a, b), 3000, "A heard of B");
  expect(knows(b, a)).toBe(false);
  await a.m.signaling.send({ nodeId: b.id }, OFFER);
  await waitFor(() => b.heard.length > 0, 3000, "the offer at B");
  expect(b.heard).toEqual([{ from: a.id, message: OFFER }]);
  await b.m.signaling.send({ nodeId: a.id }, { session: "webrtc:s1", kind: "answer", sdp: "v=0 answer" });
  await waitFor(() => a.heard.length > 0, 3000, "the answer at A");
  expect(a.heard[0]!.from).toBe(b.id);
  // The rendezvous shares no room with either, and links to nothing on their behalf.
  expect(r.m.status().map((s) => s.nodeId).sort()).toEqual([a.id, b.id].sort());
  expect(r.m.keeps(a.id) && r.m.keeps(b.id) && a.m.keeps(r.id)).toBe(true);
  expect(a.m.keeps(b.id)).toBe(false);
});

it("passes nothing on between peers of different topics, or for one that waits nowhere", async () => {
  const net = new MemoryNetwork();
  const [r, a, b, c] = [await node(net, "r"), await node(net, "a"), await node(net, "b"), await node(net, "c")];
  await wait(a, r, [TRIP]);
  await wait(b, r, [WORK]);
  // C is linked to R without waiting anywhere, and knows B's node id from elsewhere.
  await c.m.connect({ nodeId: r.id, memory: r.name });
  await waitFor(() => connected(c, r), 3000, "C linked to R");
  await Bun.sleep(200);
  expect(knows(a, b) || knows(b, a)).toBe(false);
  // A and C take R for a common member (as if it had proved a room) and ask it to carry a session to B: R refuses both.
  a.m.vouch(r.id, true);
  c.m.vouch(r.id, true);
  await expect(a.m.signaling.send({ nodeId: b.id }, OFFER)).rejects.toThrow(/no common peer passed a session on/);
  await expect(c.m.signaling.send({ nodeId: b.id }, OFFER)).rejects.toThrow(/no common peer passed a session on/);
  expect(b.heard).toEqual([]);
  // Once B waits at A's topic too, the same request goes through.
  b.m.useRendezvous(r.id, [WORK, TRIP]);
  await waitFor(() => knows(a, b), 3000, "A met B");
  await a.m.signaling.send({ nodeId: b.id }, OFFER);
  await waitFor(() => b.heard.length > 0, 3000, "the offer at B");
});

it("ignores whom an instance that is no rendezvous of ours says it met", async () => {
  const net = new MemoryNetwork();
  const [r, a, b, c] = [await node(net, "r"), await node(net, "a"), await node(net, "b"), await node(net, "c")];
  await wait(a, r, [TRIP]);
  await wait(c, r, [TRIP]);
  // A stops using R (R does not know): R still tells A of B, as it tells C, and A does not act on it.
  a.m.useRendezvous(r.id, null);
  await wait(b, r, [TRIP]);
  await waitFor(() => knows(c, b), 3000, "C heard of B");
  await Bun.sleep(300);
  expect(knows(a, b)).toBe(false);
});

it("forgets where a peer waited once its link is gone, and hears it again when it relinks", async () => {
  const net = new MemoryNetwork();
  const [r, a, b] = [await node(net, "r"), await node(net, "a"), await node(net, "b")];
  await wait(a, r, [TRIP]);
  r.m.forget(a.id, "test");
  await waitFor(() => !connected(a, r), 3000, "A unlinked");
  // A redials R (it is A's rendezvous) and says where it waits again: B meets it.
  await waitFor(() => connected(a, r) && connected(r, a), 5000, "A relinked to R");
  await wait(b, r, [TRIP]);
  // Whichever said meet first hears of the other.
  await waitFor(() => knows(a, b) || knows(b, a), 3000, "A and B met after A relinked");
});

it("derives a topic per room and rendezvous that says nothing of the room", () => {
  const room = { name: "trip", key: null };
  const at = (id: string) => rendezvousTopic(room, id);
  expect(at("1".repeat(32))).not.toBe(at("2".repeat(32)));
  expect(at("1".repeat(32))).toBe(at("1".repeat(32)));
  expect(at("1".repeat(32))).toMatch(/^[A-Za-z0-9_-]{22}$/);
  // A private room of the same name meets elsewhere.
  expect(rendezvousTopic({ name: "trip", key: "K".repeat(43) }, "1".repeat(32))).not.toBe(at("1".repeat(32)));
});

describe("relayed links (--relay)", () => {
  const RELAYING = { relay: true };
  const ENDS = { circuits: true };
  const tierAt = (x: Node, y: Node) => x.m.status().find((s) => s.nodeId === y.id)?.tier ?? null;

  /** R relays (or not); A and B wait at TRIP there, and reach each other no other way. */
  async function trio(relay: Partial<LinksInit>) {
    const net = new MemoryNetwork();
    const r = await node(net, "r", relay);
    const a = await node(net, "a", ENDS);
    const b = await node(net, "b", ENDS);
    await wait(a, r, [TRIP]);
    await wait(b, r, [TRIP]);
    return { net, r, a, b };
  }

  it("link two peers that meet at a relaying rendezvous and reach each other no other way, and carry their data", async () => {
    const { a, b } = await trio(RELAYING);
    await waitFor(() => tierAt(a, b) === "relay" && tierAt(b, a) === "relay", 5000, "a relayed link both ways");
    const got: string[] = [];
    b.m.onData((from, data, tier) => from === a.id && got.push(`${tier}:${new TextDecoder().decode(data)}`));
    expect(a.m.send(b.id, new TextEncoder().encode("through the relay"))).toBe(true);
    await waitFor(() => got.length > 0, 3000, "the frame at B");
    expect(got).toEqual(["relay:through the relay"]);
  });

  it("are not made through a rendezvous that does not relay", async () => {
    const { a, b } = await trio({});
    await waitFor(() => knows(a, b), 3000, "A met B");
    await Bun.sleep(800);
    expect(tierAt(a, b)).toBeNull();
  });

  it("end when they carried the relay's bytes, and are opened again", async () => {
    const { a, b } = await trio({ relay: true, relayLimits: { bytes: 20_000 } });
    await waitFor(() => tierAt(a, b) === "relay", 5000, "a relayed link");
    const closed: string[] = [];
    a.m.onChange((id, tier) => id === b.id && tier === null && closed.push("down"));
    for (let i = 0; i < 5; i++) a.m.send(b.id, new Uint8Array(8000));
    await waitFor(() => closed.length > 0, 3000, "the relayed link closed");
    await waitFor(() => tierAt(a, b) === "relay", 5000, "a new relayed link");
    const log = JSON.stringify(a.m.status().find((s) => s.nodeId === b.id)?.log);
    expect(log).toContain("a relayed link carries at most 20000 bytes here");
  });

  it("are left once a direct link carries the data, and not opened again while it does", async () => {
    const { a, b } = await trio(RELAYING);
    await waitFor(() => tierAt(a, b) === "relay", 5000, "a relayed link");
    await a.m.connect({ nodeId: b.id, memory: "b" });
    await waitFor(() => tierAt(a, b) === "websocket" && tierAt(b, a) === "websocket", 3000, "the direct link is primary");
    await waitFor(() => a.m.status().find((s) => s.nodeId === b.id)?.tiers.join() === "websocket", 3000, "the relayed link closed");
    await Bun.sleep(1000);
    expect(a.m.status().find((s) => s.nodeId === b.id)?.tiers).toEqual(["websocket"]);
    expect(b.m.status().find((s) => s.nodeId === a.id)?.tiers).toEqual(["websocket"]);
  });
});

describe("the relay", () => {
  /** A relay over a recording wire, as the link manager wires it. */
  function relayOf(allowed: (from: string, to: string) => boolean, limits = {}) {
    const sent: { to: string; message?: unknown; bytes?: number }[] = [];
    const relay = new CircuitRelay({
      wire: {
        control: (to, message) => (sent.push({ to, message }), true),
        frame: (to, parts) => (sent.push({ to, bytes: parts.reduce((n, p) => n + p.byteLength, 0) }), true),
        buffered: () => 0,
      },
      allowed,
      limits,
    });
    return { relay, sent };
  }
  const ID = "A".repeat(22);

  it("refuses a relayed link between peers of no common topic, and tells the target nothing", () => {
    const { relay, sent } = relayOf(() => false);
    relay.open("c", ID, "b");
    expect(sent).toEqual([{ to: "c", message: { t: "shut", c: ID, why: "no relayed link to b: it waits here at none of your topics" } }]);
    expect(relay.frame("c", ID, new Uint8Array(10))).toBe(false);
    expect(relay.size).toBe(0);
  });

  it("holds each peer to its number of relayed links, and all to the total", () => {
    const { relay, sent } = relayOf(() => true, { perPeer: 2, total: 3 });
    const id = (n: number) => `${n}`.padStart(22, "A");
    relay.open("a", id(1), "b");
    relay.open("a", id(2), "c");
    relay.open("a", id(3), "d");
    expect(relay.size).toBe(2);
    expect(sent.at(-1)).toEqual({ to: "a", message: { t: "shut", c: id(3), why: "at most 2 relayed links per instance here" } });
    relay.open("e", id(4), "f");
    relay.open("g", id(5), "h");
    expect(relay.size).toBe(3);
    expect(sent.at(-1)).toEqual({ to: "g", message: { t: "shut", c: id(5), why: "this relay carries the most relayed links it allows (3)" } });
    relay.gone("a");
    expect(relay.size).toBe(1);
  });
});
