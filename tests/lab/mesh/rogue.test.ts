/**
 * Attacks on a real instance by a rogue that speaks the real handshake with a key of its own (tests/helpers/rogue.ts):
 * each test is one attack of issue 9's list, and what the instance must do instead.
 */
import { describe, expect, it } from "bun:test";
import { nodeIdOf } from "../../../src/storage/identity.ts";
import { startInstance, waitFor } from "../../helpers/instance.ts";
import { peersOf, send, waitForCount, waitForLink } from "../../helpers/mesh.ts";
import { openRoom, rogueIdentity, startRogue } from "../../helpers/rogue.ts";

const WS = ["--transports", "websocket"];

/** A TCP listener that counts the connections anyone makes to it. */
function countingListener() {
  let connections = 0;
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { open: () => void connections++, data: () => {} } });
  return { origin: `http://127.0.0.1:${server.port}`, ws: `ws://127.0.0.1:${server.port}`, count: () => connections, [Symbol.dispose]: () => server.stop(true) };
}

describe("a rogue instance", () => {
  it("reading: holding no key, it learns no room and gets no message, even naming the room's id", async () => {
    await using a = await startInstance({ args: [...WS, "--room", "lobby"] });
    await send(a, "lobby", "for members only");
    await using rogue = await startRogue();
    await rogue.link(a);
    const { id } = openRoom("lobby", rogue.id, a.nodeId);
    rogue.send(a, { type: "hello", name: "rogue", proofs: ["A".repeat(22)], addresses: {} });
    rogue.send(a, { type: "vector", rooms: { [id]: {} } });
    await waitFor(() => rogue.received.some((r) => r.frame.type === "hello"), 5000, "a's hello");
    await Bun.sleep(500);
    expect(rogue.received.map((r) => r.frame.type).filter((t) => t !== "hello")).toEqual([]);
    expect(JSON.stringify(rogue.received)).not.toContain("lobby");
    expect(JSON.stringify(rogue.received)).not.toContain(id);
  }, 30_000);

  it("impersonation: claiming another node's id over its own key, it is known only by its own", async () => {
    await using a = await startInstance({ args: [...WS, "--room", "lobby"] });
    await using b = await startInstance({ args: [...WS, "--room", "lobby", "--peer", a.http] });
    await waitForLink(a, b);
    const identity = rogueIdentity(b.nodeId);
    await using rogue = await startRogue(identity);
    await rogue.link(a);
    const { proof } = openRoom("lobby", nodeIdOf(identity.publicKey), a.nodeId);
    rogue.send(a, { type: "hello", name: "rogue", proofs: [proof], addresses: { http: "http://127.0.0.1:9", ws: "ws://127.0.0.1:9" } });
    await waitFor(async () => (await peersOf(a)).some((p) => p.node_id === rogue.id && p.rooms.length > 0), 5000, "the rogue filed under its own id");
    expect(rogue.id).not.toBe(b.nodeId);
    const asB = (await peersOf(a)).filter((p) => p.node_id === b.nodeId);
    expect(asB).toHaveLength(1);
    expect(asB[0]).toMatchObject({ state: "connected", name: expect.not.stringMatching(/^rogue$/) });
    // b's saved address is still b's: after a restart a links to b again.
    await a.stop();
    await using again = await startInstance({ db: a.db, args: [...WS, "--room", "lobby"] });
    await waitForLink(again, b);
  }, 60_000);

  it("dialling: a stranger's hello, however it names addresses, makes the instance dial nothing", async () => {
    await using a = await startInstance({ args: [...WS, "--room", "lobby"] });
    using trap = countingListener();
    await using rogue = await startRogue();
    await rogue.link(a);
    rogue.send(a, { type: "hello", name: "rogue", proofs: [], addresses: { http: trap.origin, ws: trap.ws } });
    await Bun.sleep(1500);
    expect(trap.count()).toBe(0);
    // An address with a path of its choosing is no address at all: the frame is refused and the link closed.
    await using other = await startRogue();
    await other.link(a);
    other.send(a, { type: "hello", name: "rogue", proofs: [], addresses: { http: `${trap.origin}/mesh/evil` } } as never);
    await waitFor(async () => !(await peersOf(a)).some((p) => p.node_id === other.id && p.state === "connected"), 5000, "the link closed");
    expect(trap.count()).toBe(0);
  }, 30_000);

  it("lockout: 64 invented instances cannot keep a real member out; strangers are unlinked", async () => {
    await using a = await startInstance({ args: [...WS, "--room", "lobby"] });
    const rogues = await Promise.all(Array.from({ length: 64 }, () => startRogue()));
    try {
      await Promise.all(rogues.map((r) => r.link(a).catch(() => {})));
      await using b = await startInstance({ args: [...WS, "--room", "lobby", "--peer", a.http] });
      await waitForLink(b, a, undefined, 20_000);
      await send(a, "lobby", "still reachable");
      await waitForCount(b, "lobby", 1);
      // Sharing no room, the rogues do not stay linked: each is unlinked 5 s after linking, or displaced by a newcomer
      // before that (each may come back, and is unlinked again).
      const forgotten = () => rogues.filter((r) => a.output().includes(`forgot ${r.id}: `)).length;
      await waitFor(() => forgotten() === rogues.length, 30_000, "every stranger unlinked");
      expect(a.output()).toContain("shares no room with this instance");
    } finally {
      await Promise.all(rogues.map((r) => r[Symbol.asyncDispose]()));
    }
  }, 90_000);

  it("amplification: asking again with the same vector brings nothing twice", async () => {
    await using a = await startInstance({ args: [...WS, "--room", "lobby"] });
    for (let i = 0; i < 40; i++) await send(a, "lobby", `${i} ${"x".repeat(2000)}`);
    await using rogue = await startRogue();
    await rogue.link(a);
    const { proof, id } = openRoom("lobby", rogue.id, a.nodeId);
    rogue.send(a, { type: "hello", name: "member", proofs: [proof], addresses: {} });
    rogue.send(a, { type: "vector", rooms: { [id]: {} } });
    const messages = () => rogue.received.filter((r) => r.frame.type === "messages");
    const got = () => messages().flatMap((r) => (r.frame.type === "messages" ? r.frame.messages : []));
    await waitFor(() => got().length === 40, 5000, "the history once");
    const once = messages().reduce((n, r) => n + r.bytes, 0);
    for (let i = 0; i < 20; i++) rogue.send(a, { type: "vector", rooms: { [id]: {} } });
    await Bun.sleep(1000);
    expect(got()).toHaveLength(40);
    expect(messages().reduce((n, r) => n + r.bytes, 0)).toBe(once);
  }, 30_000);
});
