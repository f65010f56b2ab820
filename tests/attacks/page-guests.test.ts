/**
 * Issue 22, what a new user met: two guests who typed the same name saw each other's messages as their own. A guest is
 * a browser (an HttpOnly cookie with a random id, given with its first room page), not a name: which messages are its
 * own is decided by that id alone. The owner is one person whatever name it writes under.
 */
import { describe, expect, it } from "bun:test";
import { makeApp } from "../helpers/app.ts";
import { SseReader } from "../helpers/sse.ts";

const form = (fields: Record<string, string>, headers: Record<string, string>) => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
  body: new URLSearchParams(fields).toString(),
  redirect: "manual" as const,
});
/** The texts of a page's messages, each marked when the page shows it as the reader's own. */
const shown = (html: string) => [...html.matchAll(/<li class="msg([^"]*)"[\s\S]*?<p class="text"><span>([^<]*)<\/span>/g)].map((m) => `${m[2]}${m[1]!.includes("own") ? " (own)" : ""}`);

/** A guest's browser: its address, and the cookies the instance gave it. */
async function guestBrowser(request: (path: string, init?: RequestInit) => Promise<Response>, address: string, name: string) {
  const jar = new Map<string, string>();
  const headers = () => ({ "x-test-client": address, cookie: [...jar].map(([k, v]) => `${k}=${v}`).join("; ") });
  const keep = (res: Response) => {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(";");
      const at = pair!.indexOf("=");
      jar.set(pair!.slice(0, at), pair!.slice(at + 1));
    }
    return res;
  };
  const page = async () => (await keep(await request(`/?room=lobby&peer_id=${name}`, { headers: headers() }))).text();
  await page();
  return { jar, headers, page, say: async (text: string) => keep(await request("/rooms/lobby/messages", form({ peer_id: name, text }, headers()))) };
}

describe("a guest is a browser, not a name", () => {
  it("two guests named alike: each sees only its own messages as its own, on the page and in the stream", async () => {
    const { request, node } = makeApp();
    node.join("lobby");
    const first = await guestBrowser(request, "192.0.2.7", "gina");
    const second = await guestBrowser(request, "192.0.2.8", "gina");
    expect((await first.say("from the first browser")).status).toBe(303);
    expect((await second.say("from the second browser")).status).toBe(303);
    expect(shown(await first.page())).toEqual(["from the first browser (own)", "from the second browser"]);
    expect(shown(await second.page())).toEqual(["from the first browser", "from the second browser (own)"]);
    // Live, in the first browser's stream: the second's new message is not its own, its own is.
    const stop = new AbortController();
    const stream = await request(`/rooms/lobby/events?since=${node.history("lobby").at(-1)!.timestamp}&peer_id=gina`, { headers: first.headers(), signal: stop.signal });
    const reader = new SseReader(stream);
    await second.say("live from the second");
    await first.say("live from the first");
    const events = await reader.until(2);
    stop.abort();
    expect(events.map((e) => shown(e.data)[0])).toEqual(["live from the second", "live from the first (own)"]);
  });

  it("two browsers on one address are two guests too", async () => {
    const { request, node } = makeApp();
    node.join("lobby");
    const first = await guestBrowser(request, "192.0.2.7", "gina");
    const second = await guestBrowser(request, "192.0.2.7", "gina");
    await first.say("one");
    await second.say("two");
    expect(shown(await first.page())).toEqual(["one (own)", "two"]);
  });

  it("the guest's id is an HttpOnly, SameSite=Strict cookie named for this instance, 128 random bits", async () => {
    const { request, node } = makeApp();
    node.join("lobby");
    const { jar } = await guestBrowser(request, "192.0.2.7", "gina");
    const name = `egoat_${node.id.slice(0, 12)}_guest`;
    expect(jar.get(name)).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const res = await request("/?room=lobby&peer_id=gina", { headers: { "x-test-client": "192.0.2.9" } });
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith(`${name}=`))!;
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("SameSite=Strict");
  });

  it("a guest taking the owner's name is not the owner, and the owner under any name is", async () => {
    const { request, node } = makeApp();
    node.join("lobby");
    const guest = await guestBrowser(request, "192.0.2.7", "tester");
    await guest.say("the guest as tester");
    node.post({ room: "lobby", peer_id: "tester", text: "the owner" });
    node.post({ room: "lobby", peer_id: "someone else", text: "the owner under another name" });
    const owner = await (await request("/?room=lobby")).text();
    expect(shown(owner)).toEqual(["the guest as tester", "the owner (own)", "the owner under another name (own)"]);
    expect(shown(await guest.page())).toEqual(["the guest as tester (own)", "the owner", "the owner under another name"]);
  });
});
