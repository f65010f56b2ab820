import { afterEach, describe, expect, it } from "bun:test";
import { membershipTag, newRoomKey, openRoomKey, roomIdOf } from "../../../src/domain/rooms.ts";
import { generateKeyPairSync } from "node:crypto";
import { nodeIdOf } from "../../../src/storage/identity.ts";
import type { Node } from "../../../src/node.ts";
import { openNode } from "../../../src/open-node.ts";
import { RoomConflictError } from "../../../src/rooms/rooms.ts";
import { openStorage, type Storage } from "../../../src/storage/index.ts";
import { signMessage, type SignedFields } from "../../../src/sync/signatures.ts";
import { decodeFrame, encodeFrame } from "../../../src/sync/codec.ts";
import { LIMITS, type Frame, type WireMessage } from "../../../src/sync/frames.ts";
import type { AdvertisedAddresses } from "../../../src/domain/urls.ts";
import { LinkManager } from "../../../src/transport/links/index.ts";
import { MemoryNetwork, memoryTransport } from "../../../src/transport/memory/index.ts";
import type { Tier } from "../../../src/domain/tiers.ts";
import { waitFor } from "../../helpers/instance.ts";

const FAST = { pingIntervalMs: 50, deadAfterMs: 300, retryMinMs: 100, retryMaxMs: 400, staggerMs: 20, dialTimeoutMs: 1000 };

interface TestNode {
  node: Node;
  storage: Storage;
  links: LinkManager;
  name: string;
}

let running: TestNode[] = [];
afterEach(async () => {
  for (const t of running) t.node.stopReplication();
  await Promise.all(running.map((t) => t.links.close()));
  running = [];
});

async function start(
  net: MemoryNetwork,
  name: string,
  rooms: string[],
  tiers: Tier[] = ["websocket"],
  addresses: () => AdvertisedAddresses = () => ({}),
  antiEntropyMs = 200,
): Promise<TestNode> {
  const storage = openStorage(":memory:");
  // Listening under the node id lets peers learnt from gossip be dialled.
  const links = new LinkManager({ identity: storage.identity, transports: tiers.map((t) => memoryTransport(net, storage.identity.nodeId, t)), ...FAST });
  const node = openNode({ storage, name, network: { links, addresses, antiEntropyMs, unsharedGraceMs: 500 } });
  for (const room of rooms) node.join(room);
  await links.start();
  node.startReplication();
  const t = { node, storage, links, name };
  running.push(t);
  return t;
}

/** A message signed by `by`'s own key, as its instance would sign it. */
const signed = (by: TestNode, fields: SignedFields) => ({ ...fields, ...signMessage(fields, by.storage.identity) });

const link = (from: TestNode, to: TestNode) => from.node.introduce({ nodeId: to.node.id });
const texts = (t: TestNode, room: string) => t.node.history(room, 0, 100_000).map((m) => m.text);
const post = (t: TestNode, room: string, text: string) => t.node.post({ room, peer_id: t.name, text });

describe("replication", () => {
  it("pushes a new message to a linked peer in the same room, both ways", async () => {
    const net = new MemoryNetwork();
    const a = await start(net, "a", ["r"]);
    const b = await start(net, "b", ["r"]);
    link(a, b);
    await waitFor(() => a.node.peers()[0]?.state === "connected", 3000, "linked");
    await waitFor(() => a.node.peers()[0]?.rooms.length === 1, 3000, "hello");
    post(a, "r", "from a");
    post(b, "r", "from b");
    await waitFor(() => texts(a, "r").length === 2 && texts(b, "r").length === 2, 3000, "both messages everywhere");
    expect(new Set(texts(a, "r"))).toEqual(new Set(["from a", "from b"]));
    expect(a.node.peers()[0]).toMatchObject({ node_id: b.node.id, name: "b", tier: "websocket", state: "connected", rooms: ["r"] });
  });

  it("catches up on history written before the link existed", async () => {
    const net = new MemoryNetwork();
    const a = await start(net, "a", ["r"]);
    const b = await start(net, "b", ["r"]);
    for (let i = 0; i < 1200; i++) post(a, "r", `old ${i}`);
    link(b, a);
    await waitFor(() => texts(b, "r").length === 1200, 5000, "catch-up");
    expect(texts(b, "r")).toEqual(texts(a, "r"));
  });

  it("replicates only rooms both sides joined, and starts when one joins later", async () => {
    const net = new MemoryNetwork();
    const a = await start(net, "a", ["shared", "only-a"]);
    const b = await start(net, "b", ["shared"]);
    post(a, "only-a", "private");
    post(a, "shared", "public");
    link(a, b);
    await waitFor(() => texts(b, "shared").length === 1, 3000, "shared room");
    await Bun.sleep(200);
    expect(b.node.history("only-a")).toEqual([]);
    b.node.join("only-a");
    await waitFor(() => texts(b, "only-a").length === 1, 3000, "room joined later");
  });

  it("a chain converges: C knows only B, B only A, and A and C end up linked directly", async () => {
    const net = new MemoryNetwork();
    const a = await start(net, "a", ["r"]);
    const b = await start(net, "b", ["r"]);
    const c = await start(net, "c", ["r"]);
    link(b, a);
    link(c, b);
    await waitFor(() => a.node.peers().some((p) => p.node_id === c.node.id && p.state === "connected"), 5000, "A linked to C");
    await waitFor(() => c.node.peers().some((p) => p.node_id === a.node.id && p.state === "connected"), 5000, "C linked to A");
    for (const t of [a, b, c]) for (let n = 0; n < 20; n++) post(t, "r", `${t.name}${n}`);
    await waitFor(() => [a, b, c].every((t) => texts(t, "r").length === 60), 5000, "convergence");
    for (const t of [a, b, c]) expect(new Set(texts(t, "r")).size).toBe(60);
  });

  it("forwards through a peer when two members have no direct link", async () => {
    const net = new MemoryNetwork();
    const a = await start(net, "a", ["r"], ["websocket"]);
    const b = await start(net, "b", ["r"], ["websocket", "http"]);
    const c = await start(net, "c", ["r"], ["http"]);
    link(a, b);
    link(c, b);
    await waitFor(() => b.node.peers().filter((p) => p.state === "connected").length === 2, 3000, "B linked to both");
    await Bun.sleep(300);
    post(a, "r", "across");
    await waitFor(() => texts(c, "r").includes("across"), 3000, "forwarded to C");
    expect(c.node.peers().find((p) => p.node_id === a.node.id)?.state ?? "disconnected").not.toBe("connected");
  });

  it("loses nothing across a failover: messages sent while the primary died arrive once", async () => {
    const net = new MemoryNetwork();
    const a = await start(net, "a", ["r"], ["webrtc", "websocket"]);
    const b = await start(net, "b", ["r"], ["webrtc", "websocket"]);
    link(a, b);
    await waitFor(() => a.node.peers()[0]?.tier === "webrtc" && b.node.peers()[0]?.rooms.length === 1, 3000, "webrtc up");
    let i = 0;
    const writer = setInterval(() => post(a, "r", `m${i++}`), 5);
    await Bun.sleep(100);
    net.cut.add("webrtc");
    await waitFor(() => a.node.peers()[0]?.tier === "websocket", 3000, "failover");
    await Bun.sleep(100);
    net.cut.delete("webrtc");
    await waitFor(() => a.node.peers()[0]?.tier === "webrtc", 5000, "climb back");
    clearInterval(writer);
    await waitFor(() => texts(b, "r").length === i, 5000, `all ${i} messages at B`);
    expect(new Set(texts(b, "r")).size).toBe(i);
  });

  it("a bad frame closes the link it came on, and the instance carries on", async () => {
    const net = new MemoryNetwork();
    const a = await start(net, "a", ["r"]);
    const b = await start(net, "b", ["r"]);
    link(a, b);
    await waitFor(() => a.node.peers()[0]?.state === "connected", 3000, "linked");
    const changes: (string | null)[] = [];
    b.links.onChange((_, tier) => changes.push(tier));
    a.links.send(b.node.id, Uint8Array.of(3, 0, 0, 0, 2, 0x7b, 0x7d));
    a.links.send(b.node.id, encodeFrame({ type: "vector", rooms: {} }).map((x, j) => (j === 0 ? 9 : x)));
    await waitFor(() => changes.includes(null), 3000, "link closed by B");
    await waitFor(() => a.node.peers()[0]?.state === "connected", 5000, "relinked");
    post(a, "r", "still works");
    await waitFor(() => texts(b, "r").includes("still works"), 3000, "message after relink");
  });

  it("delivery: members acknowledge what they receive at once, so the author knows when every linked member holds it", async () => {
    const net = new MemoryNetwork();
    // Vectors are compared only once a minute here: what comes sooner is the acknowledgement.
    const [a, b, c] = await Promise.all(["a", "b", "c"].map((n) => start(net, n, ["r"], ["websocket"], () => ({}), 60_000)));
    link(b!, a!);
    link(c!, a!);
    await waitFor(() => a!.node.delivered("r").members === 2, 3000, "two members linked");
    expect(a!.node.delivered("r")).toEqual({ seq: 0, members: 2, boxed: 0 });
    const told: string[] = [];
    a!.node.onDelivery((room) => told.push(room));
    const m = post(a!, "r", "hello");
    await waitFor(() => a!.node.delivered("r").seq === m.seq, 2000, "delivered to both");
    expect(told).toContain("r");
    for (const t of [b!, c!]) expect(texts(t, "r")).toEqual(["hello"]);
    // A burst: the acknowledgements coming meanwhile call nothing up twice, and the last of it is delivered too.
    for (let i = 0; i < 300; i++) post(a!, "r", `burst ${i}`);
    await waitFor(() => a!.node.delivered("r").seq === 301, 5000, "the burst delivered");
    for (const t of [b!, c!]) expect(texts(t, "r")).toHaveLength(301);
    // With no member linked, nothing is delivered to anyone.
    await Promise.all([b!.links.close(), c!.links.close()]);
    await waitFor(() => a!.node.delivered("r").members === 0, 3000, "members gone");
    expect(a!.node.delivered("r")).toEqual({ seq: 0, members: 0, boxed: 0 });
  });

  it("ignores messages for a room the sender never said it joined", async () => {
    const net = new MemoryNetwork();
    const a = await start(net, "a", ["r", "x"]);
    const b = await start(net, "b", ["r"]);
    link(a, b);
    await waitFor(() => a.node.peers()[0]?.rooms.length === 1, 3000, "hello");
    // Between instances rooms go by their ids.
    const sneaked = signed(b, { origin: b.node.id, room: a.node.room("x")!.id, seq: 1, peer_id: "b", text: "sneaked in", sent_at: 1 });
    b.links.send(a.node.id, encodeFrame({ type: "messages", messages: [sneaked] }));
    const fine = signed(b, { origin: b.node.id, room: a.node.room("r")!.id, seq: 1, peer_id: "b", text: "fine", sent_at: 1 });
    b.links.send(a.node.id, encodeFrame({ type: "messages", messages: [fine] }));
    await waitFor(() => texts(a, "r").includes("fine"), 3000, "the shared room's message");
    expect(a.node.history("x")).toEqual([]);
  });
});

describe("private rooms between instances", () => {
  it("two groups' rooms of the same name never mix; the same key joins them", async () => {
    const net = new MemoryNetwork();
    const [ours, theirs] = [newRoomKey(), newRoomKey()];
    const a = await start(net, "a", []);
    const b = await start(net, "b", []);
    const c = await start(net, "c", []);
    a.node.join("family", ours);
    b.node.join("family", theirs);
    c.node.join("family", ours);
    link(a, b);
    link(a, c);
    await waitFor(() => a.node.peers().find((p) => p.node_id === c.node.id)?.rooms.length === 1, 3000, "a and c share family");
    // a and b are linked but share no room: same name, different keys.
    await waitFor(() => a.node.peers().find((p) => p.node_id === b.node.id)?.state === "connected", 3000, "a and b linked");
    expect(a.node.peers().find((p) => p.node_id === b.node.id)?.rooms).toEqual([]);
    post(a, "family", "ours");
    post(b, "family", "theirs");
    await waitFor(() => texts(c, "family").includes("ours"), 3000, "c gets a's message");
    await Bun.sleep(300);
    expect(texts(a, "family")).toEqual(["ours"]);
    expect(texts(b, "family")).toEqual(["theirs"]);
    expect(texts(c, "family")).toEqual(["ours"]);
  });

  it("a room's id comes from its key, never from its name", () => {
    const key = newRoomKey();
    expect(roomIdOf({ name: "family", key })).toBe(roomIdOf({ name: "other", key }));
    expect(roomIdOf({ name: "family", key })).not.toBe(roomIdOf({ name: "family", key: newRoomKey() }));
    expect(roomIdOf({ name: "family", key: null })).toBe(roomIdOf({ name: "family", key: openRoomKey("family") }));
    expect(roomIdOf({ name: "family", key })).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it("one name stands for one room on an instance", () => {
    const node = openNode({ storage: openStorage(":memory:"), name: "n" });
    const key = newRoomKey();
    node.join("family", key);
    expect(node.join("family", key).key).toBe(key);
    expect(() => node.join("family", newRoomKey())).toThrow(RoomConflictError);
    expect(() => node.join("family")).toThrow(/a private room named 'family' is already joined here/);
    node.join("open");
    expect(() => node.join("open", key)).toThrow(/an open room named 'open'/);
    // Posting to a private room by name stays in that room.
    node.post({ room: "family", peer_id: "n", text: "hi" });
    expect(node.room("family")?.key).toBe(key);
  });
});

describe("a rogue peer", () => {
  it("that holds no key learns no room of ours and gets no message, even naming a room's id", async () => {
    const net = new MemoryNetwork();
    const key = newRoomKey();
    const a = await start(net, "a", []);
    a.node.join("family", key);
    post(a, "family", "family secret");
    // The rogue speaks the real handshake with a key of its own, and sends whatever it likes.
    const rogue = await start(net, "rogue", []);
    rogue.node.stopReplication();
    const received: Frame[] = [];
    rogue.links.onData((from, data) => {
      if (from === a.node.id) received.push(decodeFrame(data).frame);
    });
    await rogue.links.connect({ nodeId: a.node.id });
    const familyId = a.node.room("family")!.id;
    rogue.links.send(a.node.id, encodeFrame({ type: "hello", name: "rogue", proofs: ["A".repeat(22), familyId], addresses: {} }));
    rogue.links.send(a.node.id, encodeFrame({ type: "vector", rooms: { [familyId]: {} } }));
    await waitFor(() => received.some((f) => f.type === "hello"), 3000, "a's hello");
    await Bun.sleep(300);
    expect(received.filter((f) => f.type === "messages")).toEqual([]);
    const wire = JSON.stringify(received);
    expect(wire).not.toContain("family");
    expect(wire).not.toContain(familyId);
    expect(a.node.peers().find((p) => p.node_id === rogue.node.id)?.rooms).toEqual([]);
  });
});

describe("introductions", () => {
  it("come only from a member, about a room it shares with us: a stranger cannot make us dial anyone", async () => {
    const net = new MemoryNetwork();
    const a = await start(net, "a", ["r"]);
    const rogue = await start(net, "rogue", []);
    rogue.node.stopReplication();
    await rogue.links.connect({ nodeId: a.node.id });
    const invented = Array.from({ length: 64 }, (_, i) => i.toString(16).padStart(32, "0"));
    const room = a.node.room("r")!.id;
    rogue.links.send(a.node.id, encodeFrame({ type: "hello", name: "rogue", proofs: [], addresses: {} }));
    rogue.links.send(
      a.node.id,
      encodeFrame({ type: "peers", peers: invented.map((node_id) => ({ node_id, name: "x", rooms: [room], addresses: { http: "http://10.9.9.9:8080" } })) }),
    );
    await Bun.sleep(300);
    const known = a.links.status().map((s) => s.nodeId);
    expect(known.filter((id) => invented.includes(id))).toEqual([]);
  });
});

describe("introductions by a member", () => {
  it("are kept only once they link and prove a room; one no tier reaches is dropped, not redialled forever", async () => {
    const net = new MemoryNetwork();
    const a = await start(net, "a", ["r"]);
    const b = await start(net, "b", ["r"]);
    link(b, a);
    await waitFor(() => a.node.peers().some((p) => p.node_id === b.node.id && p.rooms.length === 1), 3000, "b a member");
    const room = a.node.room("r")!.id;
    const invented = Array.from({ length: 16 }, (_, i) => i.toString(16).padStart(32, "f"));
    const dials: string[] = [];
    net.dialDelayMs = (_from, to) => (invented.includes(to) && dials.push(to), 0);
    b.links.send(a.node.id, encodeFrame({ type: "peers", peers: invented.map((node_id) => ({ node_id, name: "x", rooms: [room], addresses: {} })) }));
    await waitFor(() => new Set(dials).size === invented.length, 3000, "each introduction tried");
    await Bun.sleep(500); // several retry periods (FAST.retryMinMs is 100)
    expect(dials).toHaveLength(invented.length);
    expect(a.links.status().filter((s) => invented.includes(s.nodeId))).toEqual([]);
    expect(a.storage.peers.all().map((p) => p.node_id)).toEqual([b.node.id]);
  });
});

describe("an address that changes", () => {
  it("is passed on to the other members: one that could not reach the old address hears of the new one", async () => {
    const net = new MemoryNetwork();
    // A and B share no tier: they hear of each other only through C, as two instances behind NATs would.
    let aAt: AdvertisedAddresses = { http: "http://10.1.0.2:8080" };
    const a = await start(net, "a", ["r"], ["websocket"], () => aAt);
    const b = await start(net, "b", ["r"], ["http"]);
    const c = await start(net, "c", ["r"], ["websocket", "http"]);
    const toldB: (string | undefined)[] = [];
    const connect = b.links.connect.bind(b.links);
    b.links.connect = (address, ...rest) => {
      if (address.nodeId === a.node.id) toldB.push(address.http);
      return connect(address, ...rest);
    };
    link(a, c);
    link(b, c);
    await waitFor(() => toldB.includes("http://10.1.0.2:8080"), 3000, "B told of A by C");
    // A learns where it is reached from outside, and says so (node.addressesChanged re-sends its hellos).
    aAt = { http: "http://203.0.113.100:8080", ws: "ws://203.0.113.100:9000" };
    a.node.addressesChanged();
    await waitFor(() => toldB.includes("http://203.0.113.100:8080"), 3000, "B told of A's new address by C");
  });
});

describe("signed messages", () => {
  it("a member cannot forge another instance's message, nor poison a sequence with its own", async () => {
    const net = new MemoryNetwork();
    const a = await start(net, "a", ["r"]);
    const b = await start(net, "b", ["r"]);
    const c = await start(net, "c", ["r"]);
    link(a, b);
    link(a, c);
    await waitFor(() => a.node.peers().filter((p) => p.rooms.length === 1).length === 2, 3000, "a linked to b and c");
    const room = a.node.room("r")!.id;
    // b writes as c: signed with b's key, or with c's key and b's key claimed, or with c's origin and its own sig.
    const asC = { origin: c.node.id, room, seq: 1, peer_id: "c", text: "forged as c", sent_at: 1 };
    const forgeries = [signed(b, asC), { ...signed(c, asC), text: "altered after signing" }, { ...signed(b, asC), key: signed(c, asC).key }];
    b.links.send(a.node.id, encodeFrame({ type: "messages", messages: forgeries }));
    // b's own message, signed by b, with the largest sequence there is: it would make every later one of b invalid.
    const poison = signed(b, { origin: b.node.id, room, seq: Number.MAX_SAFE_INTEGER, peer_id: "b", text: "poison", sent_at: 1 });
    b.links.send(a.node.id, encodeFrame({ type: "messages", messages: [poison] }));
    post(b, "r", "b's real first");
    post(c, "r", "c's real first");
    await waitFor(() => texts(a, "r").length === 2, 3000, "the real messages");
    await Bun.sleep(200);
    expect(texts(a, "r").sort()).toEqual(["b's real first", "c's real first"]);
    // c's real message 1 was not taken by the forgery: everyone holds the same.
    await waitFor(() => texts(c, "r").length === 2 && texts(b, "r").length === 2, 3000, "everyone converged");
  });
});

describe("bounds on what a member can make us do", () => {
  it("bloat: invented authors slow to their sender's rate once a room is crowded; a newcomer still links and catches up", async () => {
    const net = new MemoryNetwork();
    const a = await start(net, "a", ["r"]);
    const rogue = await start(net, "rogue", ["r"]);
    rogue.node.stopReplication();
    // The rogue holds the room's key, so it may write; but it invents authors, each a key of its own.
    await rogue.links.connect({ nodeId: a.node.id });
    await waitFor(() => rogue.links.status().some((s) => s.state === "connected"), 3000, "rogue linked");
    rogue.links.send(a.node.id, encodeFrame({ type: "hello", name: "rogue", proofs: rogue.node.joinedRooms().map((r) => membershipTag(r, rogue.node.id, a.node.id)), addresses: {} }));
    await waitFor(() => a.node.peers().some((p) => p.node_id === rogue.node.id && p.rooms.length === 1), 3000, "rogue a member");
    post(a, "r", "from a member");
    const room = a.node.room("r")!.id;
    const authors = LIMITS.originsPerRoom + 50;
    const invented: WireMessage[] = [];
    for (let i = 0; i < authors; i++) {
      const { publicKey, privateKey } = generateKeyPairSync("ed25519");
      const fields = { origin: nodeIdOf(publicKey), room, seq: 1, peer_id: "x", text: `author ${i}`, sent_at: 1 };
      invented.push({ ...fields, ...signMessage(fields, { publicKey, privateKey }) });
    }
    for (let i = 0; i < invented.length; i += LIMITS.messagesPerFrame) {
      rogue.links.send(a.node.id, encodeFrame({ type: "messages", messages: invented.slice(i, i + LIMITS.messagesPerFrame) }));
    }
    // Half the places come at once; past them, the rogue's burst of 2000 new authors, then 20 a second.
    const crowded = LIMITS.originsPerRoom / 2 + 2000;
    await waitFor(() => Object.keys(a.storage.messages.vector("r")).length >= crowded, 20_000, "the room crowded");
    await Bun.sleep(200);
    expect(Object.keys(a.storage.messages.vector("r")).length).toBeLessThan(crowded + 200);
    // A newcomer still links, and catches up: a's own message, and the crowd at its rate from a.
    const b = await start(net, "b", ["r"]);
    link(b, a);
    await waitFor(() => texts(b, "r").includes("from a member") && texts(b, "r").length >= crowded, 20_000, "b caught up");
  }, 60_000);
});
