/**
 * Issue 22, high: 16 members that never read, each asking for a 40 MB history, took the instance to 1.8 GiB: a
 * catch-up queued all of it toward a peer that took none. Now history goes out only while the peer's link holds
 * little, pushes wait for the next catch-up while it holds much, and a reader that stays stuck is unlinked.
 */
import { describe, expect, it } from "bun:test";
import { startInstance, waitFor } from "../helpers/instance.ts";
import { peersOf } from "../helpers/mesh.ts";
import { openRoom, rawRogue, type RawRogue } from "../helpers/rogue.ts";
import { memoryOf, stallingProxy, type StallingProxy } from "../helpers/stalling-proxy.ts";

const MB = 1024 * 1024;
const READERS = 16;
/** 2,500 messages of 16,000 characters: a 40 MB history. */
const HISTORY = 2500;
const TEXT = "x".repeat(16_000);

async function post(http: string, text: string) {
  const res = await fetch(`${http}/send`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ room: "lobby", text, peer_id: "owner" }) });
  if (res.status !== 200) throw new Error(`send answered ${res.status}`);
}

describe("members that never read", () => {
  it("asking for a 40 MB history each, cost the instance a bounded amount, and are unlinked", async () => {
    await using a = await startInstance({ args: ["--transports", "websocket", "--room", "lobby"] });
    for (let i = 0; i < HISTORY; i += 25) await Promise.all(Array.from({ length: 25 }, (_, j) => post(a.http, `${i + j} ${TEXT}`)));
    Bun.gc(true);
    await Bun.sleep(500);
    const before = await memoryOf(a.proc.pid);
    const proxies: StallingProxy[] = [];
    const readers: RawRogue[] = [];
    const pings: ReturnType<typeof setInterval>[] = [];
    try {
      for (let r = 0; r < READERS; r++) {
        const proxy = await stallingProxy(a.ws);
        proxies.push(proxy);
        const reader = await rawRogue({ ...a, ws: proxy.ws }, { pong: true });
        readers.push(reader);
        await waitFor(async () => (await peersOf(a)).some((p) => p.node_id === reader.id && p.state === "connected"), 10_000, "the reader's link elected");
        const { proof, id } = openRoom("lobby", reader.id, a.nodeId);
        reader.send({ type: "hello", name: `reader ${r}`, proofs: [proof], addresses: {} });
        // From now on it reads nothing, but stays alive to the instance: its own pings keep arriving.
        proxy.stall();
        let n = 0;
        pings.push(setInterval(() => reader.closed() ?? reader.control({ t: "ping", n: ++n }), 400));
        reader.send({ type: "vector", rooms: { [id]: {} } });
      }
      // New messages meanwhile are pushed to every member, the stuck ones among them.
      for (let i = 0; i < 200; i++) await post(a.http, `live ${i} ${TEXT}`);
      let peak = 0;
      let settled = 0;
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline) {
        settled = (await memoryOf(a.proc.pid)).rss;
        peak = Math.max(peak, settled);
        await Bun.sleep(250);
      }
      const grown = peak - before.rss;
      const mib = (bytes: number) => `${Math.round(bytes / MB)} MiB`;
      console.log(`rss before ${mib(before.rss)}; with ${READERS} stuck readers: peak ${mib(peak)} (+${mib(grown)}), 15 s on ${mib(settled)}`);
      // Before the gate: +785 MiB in this test (each reader held its whole 40 MB history, and every push on top of it).
      expect(grown).toBeLessThan(256 * MB);
      // A reader that stays stuck is unlinked (the instance closes the link), which lets go of what waited for it.
      await waitFor(() => readers.every((r) => r.closed() !== null), 60_000, "every stuck reader unlinked");
      const after = await memoryOf(a.proc.pid);
      console.log(`rss once they were unlinked: ${Math.round(after.rss / MB)} MiB`);
    } finally {
      pings.forEach(clearInterval);
      readers.forEach((r) => r[Symbol.dispose]());
      await Promise.all(proxies.map((p) => p[Symbol.asyncDispose]()));
    }
  }, 180_000);
});
