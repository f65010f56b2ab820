/**
 * Issue 22: 64 invented identities that proved an open room (its name is all it takes) filled the peer table for good,
 * and a member of a private room was refused. Peers now stand in ranks: named by the owner, members of a private room,
 * authors of messages held here, then those waiting at a rendezvous here, then fresh ones; a newcomer takes the place of
 * an absent peer or of the oldest fresh one (from the source holding the most), never of a linked peer of rank.
 */
import { describe, expect, it } from "bun:test";
import type { Vouched } from "../../src/transport/links/standing.ts";
import { MemoryNetwork } from "../../src/transport/memory/index.ts";
import { startInstance, waitFor } from "../helpers/instance.ts";
import { memoryManagers } from "../helpers/memory-managers.ts";
import { peersOf, send, waitForCount, waitForLink } from "../helpers/mesh.ts";
import { openRoom, rogueIdentity, startRogue, type Rogue } from "../helpers/rogue.ts";

const WS = ["--transports", "websocket"];

describe("a full peer table", () => {
  it("64 invented members of an open room keep no private room's member out, and newcomers do not displace it", async () => {
    await using a = await startInstance({ args: [...WS, "--room", "lobby"] });
    const created = await fetch(`${a.http}/rooms`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "team" }) });
    const { invite } = (await created.json()) as { invite: string };
    // Eight sources of eight: each within what one address may hold of the /link tier.
    const rogues: Rogue[] = [];
    for (let i = 0; i < 64; i++) rogues.push(await startRogue(rogueIdentity(), { from: `127.0.0.${2 + (i % 8)}` }));
    try {
      await Promise.all(
        rogues.map(async (r) => {
          await r.link(a);
          r.send(a, { type: "hello", name: "rogue", proofs: [openRoom("lobby", r.id, a.nodeId).proof], addresses: {} });
        }),
      );
      await waitFor(async () => (await peersOf(a)).filter((p) => p.state === "connected" && p.rooms.includes("lobby")).length === 64, 20_000, "64 members of lobby");
      await using b = await startInstance({ args: [...WS, "--invite", invite] });
      await waitForLink(a, b, undefined, 20_000);
      // The rogues it displaced link again, each a newcomer in turn: b keeps its place throughout.
      for (let i = 0; i < 20; i++) {
        await Bun.sleep(250);
        expect((await peersOf(a)).find((p) => p.node_id === b.nodeId)?.state).toBe("connected");
      }
      await send(a, "team", "for members of team");
      await waitForCount(b, "team", 1);
    } finally {
      await Promise.all(rogues.map((r) => r[Symbol.asyncDispose]()));
    }
  }, 120_000);
});

describe("the ranks of peers", () => {
  const manager = memoryManagers();

  it("a newcomer displaces the oldest fresh peer, never a named one, a private room's member or an author", async () => {
    const net = new MemoryNetwork();
    const vouched = new Map<string, Vouched>();
    const a = await manager(net, "a", { maxPeers: 4, standing: (id) => vouched.get(id) ?? null });
    const [named, member, author, fresh1, fresh2] = await Promise.all(["named", "member", "author", "fresh1", "fresh2"].map((n) => manager(net, n)));
    const linked = (x: { id: string }) => a.m.status().some((s) => s.nodeId === x.id && s.state === "connected");
    a.m.named(named!.id);
    for (const peer of [named!, member!, author!, fresh1!]) {
      await peer.m.connect({ nodeId: a.id, memory: "a" });
      await waitFor(() => linked(peer), 3000, `${peer.name} linked`);
      a.m.vouch(peer.id, true);
    }
    vouched.set(member!.id, "private");
    vouched.set(author!.id, "history");
    // The table is full: the fresh one goes, whatever came first.
    await fresh2!.m.connect({ nodeId: a.id, memory: "a" });
    await waitFor(() => linked(fresh2!), 3000, "fresh2 linked");
    expect(linked(fresh1!)).toBe(false);
    for (const peer of [named!, member!, author!]) expect(linked(peer)).toBe(true);
    // Every other place is held by a linked peer of rank: fresh1, coming back, is refused.
    a.m.vouch(fresh2!.id, true);
    vouched.set(fresh2!.id, "private");
    await Bun.sleep(500);
    expect(linked(fresh1!)).toBe(false);
    expect(a.m.status().map((s) => s.nodeId).sort()).toEqual([named!.id, member!.id, author!.id, fresh2!.id].sort());
  });
});
