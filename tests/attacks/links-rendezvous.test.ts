/**
 * Issue 22, rendezvous: a stranger who knew an open room's name computed its topic, said `meet` there and was told
 * who waits in it; new identities pushed an honest client out of a rendezvous's peer table; one `meet` (even of no
 * topic) kept an outsider linked for good. Now a rendezvous tells those waiting of a newcomer (a few at a time, within
 * its source's budget), and only they reach out to it, so no one learns a room's members without being seen by them;
 * a client waiting at a topic holds a seat (a share per source) that fresh identities cannot take; and a wait lasts
 * only while it is renewed.
 */
import { describe, expect, it } from "bun:test";
import { randomBytes } from "node:crypto";
import { rendezvousTopic } from "../../src/domain/rooms.ts";
import { MemoryNetwork } from "../../src/transport/memory/index.ts";
import { startInstance, waitFor } from "../helpers/instance.ts";
import { memoryManagers } from "../helpers/memory-managers.ts";
import { peersOf, waitForLink } from "../helpers/mesh.ts";
import { rawRogue, rogueIdentity, startRogue, type Rogue } from "../helpers/rogue.ts";

const WS = ["--transports", "websocket"];
const topic = () => randomBytes(16).toString("base64url");

describe("a rendezvous", () => {
  it("tells no stranger who waits at an open room's topic; those waiting hear of it, and may reach out", async () => {
    const BOTH = ["--transports", "webrtc,websocket"];
    await using r = await startInstance({ args: BOTH });
    const member = [...BOTH, "--room", "lobby", "--rendezvous", r.http];
    await using a = await startInstance({ args: member });
    await using b = await startInstance({ args: member });
    await waitForLink(a, b, undefined, 30_000);
    // The stranger knows the room's name, so its topic at r, and waits there as a client would.
    await using rogue = await startRogue(rogueIdentity(), { from: "127.0.0.2" });
    rogue.links.useRendezvous(r.nodeId, [rendezvousTopic({ name: "lobby", key: null }, r.nodeId)]);
    await rogue.links.connect({ nodeId: r.nodeId, ws: r.ws }, "given");
    const heard = async (x: typeof a) => (await peersOf(x)).some((p) => p.node_id === rogue.id);
    await waitFor(async () => (await heard(a)) && (await heard(b)), 10_000, "the members heard of the stranger");
    await Bun.sleep(1000);
    const learned = rogue.links.status().map((s) => s.nodeId).filter((id) => id === a.nodeId || id === b.nodeId);
    expect(learned).toEqual([]);
  }, 90_000);

  it("keeps an honest client's place while 64 new identities come and wait there", async () => {
    await using r = await startInstance({ args: WS });
    await using c = await startInstance({ args: [...WS, "--room", "lobby", "--rendezvous", r.http] });
    const cAtR = async () => (await peersOf(r)).find((p) => p.node_id === c.nodeId)?.state;
    await waitFor(async () => (await cAtR()) === "connected", 10_000, "the client linked to the rendezvous");
    await Bun.sleep(500); // its meet said
    const rogues: Rogue[] = [];
    for (let i = 0; i < 64; i++) rogues.push(await startRogue(rogueIdentity(), { from: `127.0.0.${2 + (i % 8)}` }));
    try {
      for (const rogue of rogues) {
        rogue.links.useRendezvous(r.nodeId, [topic()]);
        rogue.links.connect({ nodeId: r.nodeId, ws: r.ws }, "given").catch(() => {});
      }
      let linked = 0;
      const samples = 40;
      for (let i = 0; i < samples; i++) {
        await Bun.sleep(250);
        if ((await cAtR()) === "connected") linked++;
      }
      console.log(`the honest client linked to the rendezvous in ${linked} of ${samples} samples`);
      expect(linked).toBe(samples);
    } finally {
      await Promise.all(rogues.map((x) => x[Symbol.asyncDispose]()));
    }
  }, 120_000);

  it("takes an honest client that comes after 64 new identities waiting there", async () => {
    await using r = await startInstance({ args: WS });
    const rogues: Rogue[] = [];
    for (let i = 0; i < 64; i++) rogues.push(await startRogue(rogueIdentity(), { from: `127.0.0.${2 + (i % 8)}` }));
    try {
      await Promise.all(
        rogues.map(async (rogue) => {
          rogue.links.useRendezvous(r.nodeId, [topic()]);
          await rogue.links.connect({ nodeId: r.nodeId, ws: r.ws }, "given").catch(() => {});
        }),
      );
      await waitFor(async () => (await peersOf(r)).filter((p) => p.state === "connected").length >= 60, 20_000, "the identities linked");
      await using c = await startInstance({ args: [...WS, "--room", "lobby", "--rendezvous", r.http] });
      const cAtR = async () => (await peersOf(r)).find((p) => p.node_id === c.nodeId)?.state;
      await waitFor(async () => (await cAtR()) === "connected", 20_000, "the client linked to the rendezvous");
      // Once it waits there, it holds a seat the identities that keep coming cannot take.
      await Bun.sleep(6000);
      for (let i = 0; i < 20; i++) {
        await Bun.sleep(250);
        expect(await cAtR()).toBe("connected");
      }
    } finally {
      await Promise.all(rogues.map((x) => x[Symbol.asyncDispose]()));
    }
  }, 120_000);

  it("does not keep linked a peer that said meet at no topic", async () => {
    await using r = await startInstance({ args: WS });
    using rogue = await rawRogue(r, { pong: true });
    rogue.control({ t: "meet", topics: [] });
    // Sharing no room and waiting nowhere, it is unlinked once the grace for its hello is over.
    await waitFor(() => rogue.closed(), 10_000, "the outsider unlinked");
  }, 30_000);
});

describe("a wait at a rendezvous", () => {
  const manager = memoryManagers();

  it("lasts only while it is said again: one meet does not keep a peer linked for good", async () => {
    const net = new MemoryNetwork();
    const r = await manager(net, "r", { waitMs: 2500 });
    const client = await manager(net, "client", { waitMs: 2500 });
    const once = await manager(net, "once");
    const at = (x: { id: string }) => r.m.status().find((s) => s.nodeId === x.id)?.state;
    // A client renews its wait; `once` says meet a single time, as a raw frame would.
    client.m.useRendezvous(r.id, [topic()]);
    await client.m.connect({ nodeId: r.id, memory: "r" });
    once.m.useRendezvous(r.id, [topic()]);
    await once.m.connect({ nodeId: r.id, memory: "r" });
    await waitFor(() => r.m.keeps(client.id) && r.m.keeps(once.id), 2000, "both wait at r");
    once.m.useRendezvous(r.id, null); // says nothing more
    await waitFor(() => !r.m.keeps(once.id), 6000, "once's wait over");
    expect(r.m.keeps(client.id)).toBe(true);
    expect(at(client)).toBe("connected");
  });
});
