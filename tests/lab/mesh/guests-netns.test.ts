/**
 * A guest from a real address on another host (a network namespace): the instance tells it from the owner by the
 * socket's address alone. The owner reaches its instance from inside the host (loopback, through the test's proxy).
 */
import { describe, expect, it } from "bun:test";
import { createTestLan, curlFrom, netnsUnavailable, startHosted, type TestHost } from "../../helpers/netns.ts";

const unavailable = netnsUnavailable() ?? (Bun.which("curl") ? null : "curl is missing");
if (unavailable) console.log(`guest namespace test skipped: ${unavailable}`);

/** A request made with curl from inside `host`: its status and body. */

describe.skipIf(unavailable !== null)("a guest on another host", () => {
  it("gets a private room only with its key, never the room list or the peers, and is marked as a guest", async () => {
    await using lan = createTestLan(2);
    const [home, guest] = lan.hosts as [TestHost, TestHost];
    await using owner = await startHosted(home, ["--transports", "websocket,http", "--name", "alice", "--lan-addr", "127.255.255.255"]);
    const created = await owner.api("/rooms", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "family" }) });
    expect(created.status).toBe(200);
    const { key } = (await created.json()) as { key: string };
    await owner.api("/send", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ room: "family", text: "for the family" }) });

    const base = `http://${home.ip}:8080`;
    expect(curlFrom(guest, `${base}/history?room=family`)).toEqual({ status: 403, body: '{"error":"this room is open only to those with its invite link"}' });
    expect(curlFrom(guest, `${base}/history?room=family&key=${"A".repeat(43)}`).status).toBe(403);
    expect(curlFrom(guest, `${base}/peers`).status).toBe(403);
    const landing = curlFrom(guest, `${base}/`);
    expect(landing.status).toBe(200);
    expect(landing.body).not.toContain("family");

    const read = curlFrom(guest, `${base}/history?room=family&key=${key}`);
    expect(read.status).toBe(200);
    expect((JSON.parse(read.body) as { text: string }[]).map((m) => m.text)).toEqual(["for the family"]);
    expect(curlFrom(guest, `${base}/send`, { room: "family", key, peer_id: "alice", text: "I am alice too" }).status).toBe(200);

    // The owner sees the guest's message marked, though it took the owner's name.
    const all = (await (await owner.api("/history?room=family")).json()) as { peer_id: string; text: string; guest?: boolean }[];
    expect(all.map((m) => [m.peer_id, m.text, m.guest ?? false])).toEqual([
      ["alice", "for the family", false],
      ["alice", "I am alice too", true],
    ]);
  }, 60_000);
});
