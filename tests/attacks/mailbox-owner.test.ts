/**
 * Issue 24, a mailbox's page: GET /mailbox tells the mailbox's owner what it holds (topics, items, bytes, the oldest
 * item's time, its size), says plainly on an instance that keeps none that it keeps none, and tells a guest (a
 * request from another host) nothing, not even whether the instance keeps a mailbox.
 */
import { describe, expect, it } from "bun:test";
import { send } from "../helpers/mesh.ts";
import { startInstance, waitFor } from "../helpers/instance.ts";
import { createTestLan, curlFrom, netnsUnavailable, startHosted, type TestHost } from "../helpers/netns.ts";

const WS = ["--transports", "websocket"];
const FIELDS = ["bytes", "items", "max_bytes", "oldest", "topics"];

interface Stats {
  topics: number;
  items: number;
  bytes: number;
  oldest: number | null;
  max_bytes: number;
}

describe("GET /mailbox", () => {
  it("tells the owner what the mailbox holds: topics, items, bytes, the oldest item's time and its size", async () => {
    await using m = await startInstance({ args: [...WS, "--mailbox", "--mailbox-size", "64MiB"] });
    const empty = await fetch(`${m.http}/mailbox`);
    expect(empty.status).toBe(200);
    expect(await empty.json()).toEqual({ topics: 0, items: 0, bytes: 0, oldest: null, max_bytes: 64 * 1024 * 1024 });

    const before = Date.now();
    await using a = await startInstance({ args: [...WS, "--rendezvous", m.http] });
    await fetch(`${a.http}/rooms`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "den" }) });
    await send(a, "den", "kept for later", "alice");
    const stats = await waitFor(async () => {
      const res = await fetch(`${m.http}/mailbox`);
      const body = (await res.json()) as Stats;
      return res.status === 200 && body.items >= 1 ? body : null;
    }, 30_000, "the mailbox holds a's message");
    expect(Object.keys(stats).sort()).toEqual(FIELDS);
    expect(stats.topics).toBe(1);
    expect(stats.items).toBe(1);
    expect(stats.bytes % 256).toBe(0); // sealed items are padded to 256 bytes
    expect(stats.bytes).toBeGreaterThan(0);
    expect(stats.oldest).toBeGreaterThanOrEqual(before);
    expect(stats.oldest).toBeLessThanOrEqual(Date.now());
    expect(stats.max_bytes).toBe(64 * 1024 * 1024);
  }, 60_000);

  it("answers 404 with the reason on an instance without --mailbox", async () => {
    await using plain = await startInstance({ args: WS });
    const res = await fetch(`${plain.http}/mailbox`);
    expect(res.status).toBe(404);
    const body = (await res.json()) as { error?: string };
    expect(Object.keys(body)).toEqual(["error"]);
    expect(body.error).toContain("--mailbox");
  }, 30_000);
});

const unavailable = netnsUnavailable() ?? (Bun.which("curl") ? null : "curl is missing");
if (unavailable) console.log(`GET /mailbox from a guest on another host skipped: ${unavailable}`);

/** A GET made with curl from inside `host`: its status and body. */

describe.skipIf(unavailable !== null)("GET /mailbox from a guest on another host", () => {
  it("is refused with 403 whether the instance keeps a mailbox or not, and the owner still reads it", async () => {
    await using lan = createTestLan(2);
    const [home, guest] = lan.hosts as [TestHost, TestHost];
    const flags = ["--transports", "websocket", "--lan-addr", "127.255.255.255"];
    await using mailbox = await startHosted(home, [...flags, "--mailbox"]);
    await using plain = await startHosted(home, [...flags, "--ws-port", "9001"], { httpPort: 8081 });
    expect((await mailbox.api("/mailbox")).status).toBe(200);
    expect((await plain.api("/mailbox")).status).toBe(404);
    for (const port of [8080, 8081]) {
      const res = curlFrom(guest, `http://${home.ip}:${port}/mailbox`);
      expect(res.status).toBe(403);
      const body = JSON.parse(res.body) as { error?: string };
      expect(Object.keys(body)).toEqual(["error"]);
      expect(body.error).toContain("only for the owner");
    }
  }, 60_000);
});
