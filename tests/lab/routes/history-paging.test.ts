import { expect, it } from "bun:test";
import { startInstance } from "../../helpers/instance.ts";

it("paging /history with since during hundreds of concurrent sends sees every message exactly once", async () => {
  await using instance = await startInstance();
  const room = "paging";
  const total = 400;
  const seen: string[] = [];
  let since = 0;
  let sending = true;

  // A reader that pages with small limits and long polling while writers race it.
  const reader = (async () => {
    while (sending || seen.length < total) {
      const res = await fetch(`${instance.http}/history?room=${room}&since=${since}&limit=7&wait=2`);
      expect(res.status).toBe(200);
      const page = (await res.json()) as { id: string; timestamp: number }[];
      for (const m of page) {
        expect(m.timestamp).toBeGreaterThan(since);
        since = m.timestamp;
        seen.push(m.id);
      }
      if (!sending && page.length === 0) break;
    }
  })();

  const accepted: string[] = [];
  const writer = async (w: number) => {
    for (let i = 0; i < total / 8; i++) {
      const res = await fetch(`${instance.http}/send`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ room, peer_id: `writer-${w}`, text: `w${w} #${i}` }),
      });
      expect(res.status).toBe(200);
      accepted.push(((await res.json()) as { id: string }).id);
    }
  };
  await Promise.all(Array.from({ length: 8 }, (_, w) => writer(w)));
  sending = false;
  await reader;

  expect(accepted).toHaveLength(total);
  expect(seen).toHaveLength(total);
  expect(new Set(seen).size).toBe(total);
  expect(new Set(seen)).toEqual(new Set(accepted));
});
