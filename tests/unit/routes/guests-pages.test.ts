/**
 * Owner and guests on the page: a guest sees no room list and gets a room only with its capability; the key of an
 * invite link is kept in an HttpOnly, SameSite=Strict cookie so the page's own requests work without it; the owner's
 * forms create private rooms by default and join by invite link; a link from another site only asks to join.
 */
import { describe, expect, it } from "bun:test";
import type { Invite } from "../../../src/domain/rooms.ts";
import { makeApp } from "../../helpers/app.ts";

const GUEST = { "x-test-client": "192.0.2.7" };
const form = (fields: Record<string, string>, headers: Record<string, string> = {}) => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
  body: new URLSearchParams(fields).toString(),
  redirect: "manual" as const,
});

describe("a guest on the page", () => {
  it("sees no room list and cannot open a private room without its key", async () => {
    const { request, node } = makeApp();
    node.join("family", "k".repeat(43));
    node.join("lobby");
    const landing = await (await request("/", { headers: GUEST })).text();
    expect(landing).not.toContain("family");
    expect(landing).not.toContain("lobby");
    expect(landing).not.toContain('action="/create"');
    const refused = await request("/?room=family&peer_id=gina", { headers: GUEST });
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain("this room is open only to those with its invite link");
    // An open room by its name: the room page, with no other room, no invite and no peers.
    const open = await request("/?room=lobby&peer_id=gina", { headers: GUEST });
    expect(open.status).toBe(200);
    const html = await open.text();
    expect(html).toContain("#lobby");
    expect(html).not.toContain("family");
    expect(html).not.toContain('id="peers"');
    expect(html).not.toContain('id="invite-url"');
  });

  it("keeps an invite's key in a cookie, and with it reads, streams and posts without the key", async () => {
    const { request, node } = makeApp();
    const key = node.join("family", "Q".repeat(43)).key!;
    const room = node.room("family")!;
    const invite = await request(`/?room=family&key=${key}`, { headers: GUEST });
    expect(invite.status).toBe(200);
    const cookie = invite.headers.getSetCookie().find((c) => c.includes(`_room_${room.id}=`))!;
    // Named for this instance, and holding a token derived for it alone, never the key (see tests/attacks/page-low.test.ts).
    expect(cookie).toStartWith(`egoat_${node.id.slice(0, 12)}_room_${room.id}=`);
    expect(cookie).not.toContain(key);
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("SameSite=Strict");
    expect(cookie).not.toContain("family");
    const jar = { ...GUEST, cookie: cookie.split(";")[0]! };
    expect((await request("/?room=family&peer_id=gina", { headers: jar })).status).toBe(200);
    const posted = await request("/rooms/family/messages", form({ peer_id: "gina", text: "hello from a guest" }, jar));
    expect(posted.status).toBe(303);
    expect((await request("/rooms/family/older?before=9007199254740991", { headers: jar })).status).toBe(200);
    expect(node.history("family").map((m) => [m.text, m.guest])).toEqual([["hello from a guest", true]]);
    const stream = new AbortController();
    const live = await request("/rooms/family/events", { headers: jar, signal: stream.signal });
    expect(live.status).toBe(200);
    expect(live.headers.get("content-type")).toContain("text/event-stream");
    stream.abort();
    expect((await request("/rooms/family/events", { headers: GUEST })).status).toBe(403);
    // Without the cookie the same post is refused and nothing is stored.
    const refused = await request("/rooms/family/messages", form({ peer_id: "gina", text: "again" }, GUEST));
    expect(refused.status).toBe(403);
    expect(node.history("family")).toHaveLength(1);
  });

  it("is told apart from the owner even under the owner's name", async () => {
    const { request, node } = makeApp();
    node.join("lobby");
    await request("/rooms/lobby/messages", form({ peer_id: "tester", text: "I am the owner" }, GUEST));
    await request("/rooms/lobby/messages", form({ peer_id: "tester", text: "I really am" }));
    const html = await (await request("/?room=lobby&peer_id=tester")).text();
    expect(html).toContain('<li class="msg guest"');
    expect(html).toContain(">guest at tester · this instance</span>");
    expect(html).toContain(">tester · this instance</span>");
  });
});

describe("the owner's forms", () => {
  it("create a private room unless 'open' is picked", async () => {
    const { request, node } = makeApp();
    const res = await request("/create", form({ name: "family", peer_id: "bob" }));
    expect(res.status).toBe(303);
    // The name typed in the form is the owner's setting from now on, not a part of the address.
    expect(res.headers.get("location")).toBe("/?room=family");
    expect(node.name).toBe("bob");
    expect(node.room("family")?.key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await request("/create", form({ name: "lobby", open: "1", peer_id: "bob" }));
    expect(node.room("lobby")?.key).toBeNull();
  });

  it("join by invite link: the room with its key, and a link to the issuing instance", async () => {
    const linked: Invite[] = [];
    const { request, node } = makeApp({ linkInvite: (invite) => void linked.push(invite) });
    const key = "Z".repeat(43);
    const url = `http://192.0.2.9:8080/?room=family&key=${key}&node=${"a".repeat(32)}`;
    const res = await request("/invite", form({ invite: url, peer_id: "bob" }));
    expect(res.status).toBe(303);
    expect(node.room("family")?.key).toBe(key);
    expect(linked).toEqual([{ url: "http://192.0.2.9:8080", room: "family", key, node: "a".repeat(32), rendezvous: [] }]);
    const bad = await request("/invite", form({ invite: "not a link", peer_id: "bob" }));
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain("That is not a link: an invite link starts with http:// and names a room. Copy the whole link again.");
    const clash = await request("/invite", form({ invite: url.replace(key, "Y".repeat(43)), peer_id: "bob" }));
    expect(clash.status).toBe(409);
  });

  it("are the owner's only", async () => {
    const { request, node } = makeApp();
    for (const [path, fields] of [
      ["/create", { name: "x" }],
      ["/join", { room: "x" }],
      ["/invite", { invite: `http://192.0.2.9:8080/?room=x` }],
    ] as const) {
      const res = await request(path, form(fields, GUEST));
      expect(res.status).toBe(403);
    }
    expect(node.rooms()).toEqual([]);
  });

  it("a link from another site to an unjoined room asks before joining, as the owner's own navigation does", async () => {
    const { request, node } = makeApp();
    const res = await request("/?room=elsewhere&peer_id=bob", { headers: { "sec-fetch-site": "cross-site" } });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("There is no room #elsewhere here");
    expect(html).toContain("A link from another site led here. Nothing was joined or created.");
    expect(html).toContain('<form method="post" action="/create"');
    expect(node.rooms()).toEqual([]);
    // The user's own navigation is asked too; the choice (a POST) creates it.
    expect((await request("/?room=elsewhere&peer_id=bob", { headers: { "sec-fetch-site": "none", "sec-fetch-mode": "navigate" } })).status).toBe(200);
    expect(node.rooms()).toEqual([]);
    expect((await request("/create", form({ name: "elsewhere", open: "1" }))).status).toBe(303);
    expect(node.rooms()).toEqual(["elsewhere"]);
  });
});
