// What all links together hold for far ends that do not read (src/transport/queue-budget.ts): each link's queue has
// its cap (32 MiB), and their sum one too (256 MiB), past which the link holding the most is closed, never the process.
import { afterEach, describe, expect, it } from "bun:test";
import type { Link } from "../../../src/transport/link.ts";
import { MAX_QUEUED_TOTAL_BYTES } from "../../../src/transport/limits.ts";
import { QUEUED, QueueBudget, type QueueHolder } from "../../../src/transport/queue-budget.ts";
import { routedWebSocket, websocketTransport, type Routed } from "../../../src/transport/websocket/index.ts";
import { waitFor } from "../../helpers/instance.ts";
import { pausedMember, type RawUpgrade } from "../../helpers/raw-upgrade.ts";

const MiB = 1024 * 1024;

describe("the budget", () => {
  const holder = (name: string, bytes: () => number) => {
    const h: QueueHolder & { why?: string } = { bufferedBytes: 0, closed: false, close: (why) => void (h.why = why) };
    Object.defineProperty(h, "bufferedBytes", { get: bytes });
    return Object.assign(h, { name });
  };

  it("answers the link holding the most once the sum passes the limit, counting again what others hold first", () => {
    const budget = new QueueBudget(100);
    let bHolds = 60;
    const a = holder("a", () => 30);
    const b = holder("b", () => bHolds);
    expect(budget.note(a, 30)).toBeUndefined();
    expect(budget.note(b, 60)).toBeUndefined();
    // a wants 50 in all: 110 > 100, and b holds the most.
    expect(budget.note(a, 50)).toBe(b);
    // b drained meanwhile: counted again, nobody needs closing.
    bHolds = 10;
    expect(budget.note(a, 50)).toBeUndefined();
    expect(budget.total).toBe(60);
    budget.forget(b);
    expect(budget.total).toBe(50);
  });
});

describe("links whose far ends stopped reading", () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it("ten links of 30 MiB each: the process holds at most the budget, and the links holding the most are closed", async () => {
    const transport = websocketTransport();
    const server = Bun.serve<Routed>({ port: 0, hostname: "127.0.0.1", fetch: (req, s) => transport.upgrade(req, s), websocket: routedWebSocket });
    cleanup.push(() => server.stop(true), () => transport.close());
    const accepted: Link[] = [];
    await transport.listen((link) => accepted.push(link));
    const readers: RawUpgrade[] = [];
    for (let i = 0; i < 10; i++) readers.push(await pausedMember(`ws://127.0.0.1:${server.port}/link`, `127.0.0.${10 + i}`));
    cleanup.push(() => readers.forEach((r) => r.end()));
    await waitFor(() => accepted.length === 10);
    const closed: string[] = [];
    for (const link of accepted) link.onClose((why) => closed.push(why));
    const frame = new Uint8Array(MiB);
    let peak = 0;
    for (let i = 0; i < 30; i++) {
      for (const link of accepted) {
        if (link.closed) continue;
        try {
          link.send(frame);
        } catch {
          // This link was the one holding the most: closed, and its send refused.
        }
      }
      peak = Math.max(peak, QUEUED.total);
    }
    const held = accepted.filter((l) => !l.closed).reduce((sum, l) => sum + l.bufferedBytes, 0);
    console.log(`10 links of 30 MiB toward readers that stopped: ${closed.length} closed, ${(held / MiB).toFixed(0)} MiB held, at most ${(peak / MiB).toFixed(0)} MiB counted`);
    expect(peak).toBeLessThanOrEqual(MAX_QUEUED_TOTAL_BYTES);
    expect(closed.length).toBeGreaterThan(0);
    expect(closed.every((why) => why.includes("this one's the most"))).toBe(true);
    expect(accepted.some((l) => !l.closed)).toBe(true);
  }, 30_000);
});
