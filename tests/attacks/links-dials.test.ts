/**
 * Issue 22: one `peers` frame from a member listing 256 invented peers, each "at" a third party's port, made the
 * instance open 510 connections to it in 4 s. What one introducer (a member's peers frame, a hello, a rendezvous's
 * met, a LAN beacon) can make this instance dial is now a budget per unit of time, and a peer not yet linked has only
 * a few addresses dialled.
 */
import { expect, it } from "bun:test";
import { randomBytes } from "node:crypto";
import { AddressBook, MAX_UNLINKED_ADDRESSES } from "../../src/transport/links/address-book.ts";
import { DIAL_BUDGET } from "../../src/transport/links/introductions.ts";
import { startInstance, waitFor } from "../helpers/instance.ts";
import { peersOf } from "../helpers/mesh.ts";
import { openRoom, rogueIdentity, startRogue } from "../helpers/rogue.ts";

/** A TCP listener that counts the connections anyone makes to it. */
function countingListener() {
  let connections = 0;
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { open: () => void connections++, data: () => {} } });
  return { origin: `http://127.0.0.1:${server.port}`, ws: `ws://127.0.0.1:${server.port}`, count: () => connections, [Symbol.dispose]: () => server.stop(true) };
}

it("a member's peers frames of invented peers make the instance dial a third party only within the member's budget", async () => {
  await using a = await startInstance({ args: ["--transports", "websocket,http", "--room", "lobby"] });
  using trap = countingListener();
  await using member = await startRogue(rogueIdentity(), { from: "127.0.0.2" });
  await member.link(a);
  const lobby = openRoom("lobby", member.id, a.nodeId);
  member.send(a, { type: "hello", name: "member", proofs: [lobby.proof], addresses: {} });
  await waitFor(async () => (await peersOf(a)).some((p) => p.node_id === member.id && p.rooms.includes("lobby")), 5000, "the member proved lobby");
  const invented = () =>
    Array.from({ length: 256 }, () => ({ node_id: randomBytes(16).toString("hex"), name: "x", rooms: [lobby.id], addresses: { http: trap.origin, ws: trap.ws } }));
  for (let i = 0; i < 4; i++) {
    member.send(a, { type: "peers", peers: invented() });
    await Bun.sleep(1000);
  }
  console.log(`4 peers frames of 256 invented peers each: ${trap.count()} connections to the third party in 4 s`);
  // Two tiers (websocket, http) per peer dialled, within the burst of one introducer.
  expect(trap.count()).toBeLessThanOrEqual(2 * DIAL_BUDGET.burst + 4);
}, 30_000);

it("a peer never linked keeps only a few addresses, whoever names them; the user's own still count", () => {
  const book = new AddressBook("n".repeat(32));
  const named: string[] = [];
  for (let i = 0; i < 10; i++) {
    const ws = `ws://192.0.2.${i}:9000`;
    book.learn({ ws }, "advertised");
    named.push(ws);
  }
  const kept = named.filter((ws) => !book.novel({ ws }));
  expect(kept.length).toBeLessThanOrEqual(MAX_UNLINKED_ADDRESSES);
  // What the user gives is always taken.
  book.learn({ http: "http://198.51.100.9:8080" }, "given");
  expect(book.novel({ http: "http://198.51.100.9:8080" })).toBe(false);
});
