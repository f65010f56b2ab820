/**
 * Issue 22, from the SSRF finding: a GET from loopback is the owner's, but not every GET from loopback is the owner
 * navigating. An instance fetching its own loopback (after a redirect), curl, or a script send none of a browser's
 * navigation headers: such a request must never join or create a room. Nothing joins on a GET at all now; the
 * owner's own navigation to a room not here is asked first (see page-unknown-rooms.test.ts).
 */
import { describe, expect, it } from "bun:test";
import { startInstance } from "../helpers/instance.ts";

/** The rooms joined at the instance, as its owner's landing page lists them. */
const roomsOf = async (http: string) => [...(await (await fetch(`${http}/`)).text()).matchAll(/<li[^>]* data-room="([^"]+)"/g)].map((m) => m[1]);

describe("a GET from loopback without the owner's navigation joins nothing", () => {
  it("no headers (an instance's own fetch, curl), partial Sec-Fetch headers, or a page's subresource: no room is joined", async () => {
    await using a = await startInstance({ args: ["--name", "alice"] });
    const tries: Record<string, string>[] = [
      {}, // Bun's fetch after a redirect to loopback, curl, a script
      { "sec-fetch-site": "none" }, // no mode: no browser sends this for a navigation
      { "sec-fetch-site": "same-origin", "sec-fetch-mode": "no-cors", "sec-fetch-dest": "image" },
      { "sec-fetch-site": "same-origin", "sec-fetch-mode": "cors", "sec-fetch-dest": "empty" },
    ];
    for (const [i, headers] of tries.entries()) {
      const res = await fetch(`${a.http}/?room=lured-${i}&peer_id=mallory`, { headers, redirect: "manual" });
      expect(res.status).toBeLessThan(500);
      expect((await res.text()).includes('id="messages"')).toBe(false);
    }
    expect(await roomsOf(a.http)).toEqual([]);
  }, 30_000);

  it("a redirect to the instance's own loopback, followed by a client there, joins nothing", async () => {
    await using a = await startInstance({ args: ["--name", "alice"] });
    // A server anywhere that redirects to the instance's own loopback page with a room of its choosing.
    using lure = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => Response.redirect(`${a.http}/?room=lured&peer_id=mallory`, 302) });
    const res = await fetch(`http://127.0.0.1:${lure.port}/`);
    expect(res.status).toBe(200);
    expect(await roomsOf(a.http)).toEqual([]);
  }, 30_000);
});
