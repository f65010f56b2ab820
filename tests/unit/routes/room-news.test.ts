// What the page shows of rooms beyond their messages: unread counts and read marks, leaving (keeping or deleting the
// history), search (FTS5), room names made from what was typed, and the members list.
import { describe, expect, it } from "bun:test";
import { roomNameFrom } from "../../../src/domain/names.ts";
import { makeApp } from "../../helpers/app.ts";

const GUEST = { "x-test-client": "198.51.100.7" };
const form = (fields: Record<string, string>, headers: Record<string, string> = {}) => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
  body: new URLSearchParams(fields).toString(),
});

describe("unread counts and read marks", () => {
  it("count messages not written by the owner here since the room was last seen, newest room first", async () => {
    const { node, send, request } = makeApp();
    node.join("quiet");
    await send({ room: "busy", text: "mine" });
    node.post({ room: "busy", peer_id: "gina", text: "from a guest", guest: true });
    node.post({ room: "busy", peer_id: "gina", text: "again", guest: true });
    expect(node.activity().map((r) => [r.name, r.unread, r.latest?.text ?? null])).toEqual([
      ["busy", 2, "again"],
      ["quiet", 0, null],
    ]);
    // Opening the room reads it; so does the page's script, with the newest stamp it showed.
    await request("/?room=busy&peer_id=tester");
    expect(node.activity()[0]!.unread).toBe(0);
    const later = node.post({ room: "busy", peer_id: "gina", text: "later", guest: true });
    expect(node.activity()[0]!.unread).toBe(1);
    const res = await request("/rooms/busy/read", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ stamp: later.timestamp }) });
    expect(res.status).toBe(204);
    expect(node.activity()[0]!.unread).toBe(0);
  });

  it("the room list shows the counts, and a guest may not mark rooms read", async () => {
    const { node, request } = makeApp();
    node.join("a");
    node.post({ room: "a", peer_id: "gina", text: "psst", guest: true });
    node.join("b");
    const html = await (await request("/?room=b&peer_id=tester")).text();
    expect(html).toMatch(/data-room="a" data-latest="\d+" data-unread="1"/);
    expect(html).toContain('<span class="badge"><span>1</span><span class="visually-hidden"> unread</span></span>');
    expect(html).toContain("gina: psst");
    const res = await request("/rooms/a/read", { method: "POST", headers: { "content-type": "application/json", ...GUEST }, body: JSON.stringify({ stamp: 1e15 }) });
    expect(res.status).toBe(403);
    expect(node.activity().find((r) => r.name === "a")!.unread).toBe(1);
  });
});

describe("leaving a room", () => {
  it("keeps its history unless asked, stops it replicating, and joining again takes it up", async () => {
    const { node, request } = makeApp();
    const room = node.join("trip", "k".repeat(43));
    node.post({ room: "trip", peer_id: "tester", text: "before leaving" });
    const read = node.post({ room: "trip", peer_id: "gina", text: "read before leaving", guest: true });
    node.markRead("trip", read.timestamp);
    const res = await request("/rooms/trip/leave", form({}));
    expect(res.status).toBe(303);
    expect(node.rooms()).toEqual([]);
    expect(node.leftRooms()).toEqual(["trip"]);
    // Left, it is no room to anyone: its page asks to join, and another room of that name is refused.
    expect(() => node.join("trip")).toThrow(/was left here and its history kept/);
    expect(node.rejoin("trip")).toEqual(room);
    expect(node.history("trip").map((m) => m.text)).toEqual(["before leaving", "read before leaving"]);
    // Read before it was left, it is read still.
    expect(node.activity().map((r) => [r.name, r.unread])).toEqual([["trip", 0]]);
  });

  it("deleting the history drops its messages and files, and a room joined again never reuses a sequence", async () => {
    const { node, request, storage } = makeApp();
    node.join("trip");
    node.join("stays");
    for (const text of ["one", "two", "three"]) node.post({ room: "trip", peer_id: "tester", text });
    node.post({ room: "stays", peer_id: "tester", text: "one more" });
    // Searched once (so indexed), then one more that is not indexed yet: both kinds go with the room.
    expect(node.search("trip", "one")).toHaveLength(1);
    node.post({ room: "trip", peer_id: "tester", text: "four, not indexed yet" });
    expect((await request("/rooms/trip/leave", form({ delete: "1" }))).status).toBe(303);
    expect(node.rooms()).toEqual(["stays"]);
    expect(node.leftRooms()).toEqual([]);
    expect(storage.db.query("SELECT count(*) AS n FROM messages").get()).toEqual({ n: 1 });
    expect(node.search("trip", "one")).toEqual([]);
    // The index holds exactly what is left.
    expect(() => storage.db.run("INSERT INTO messages_text (messages_text) VALUES ('integrity-check')")).not.toThrow();
    expect(node.search("stays", "one").map((h) => h.message.text)).toEqual(["one more"]);
    // Its members still hold seq 1-4 of ours: joined again, this instance goes on at 5.
    node.join("trip");
    expect(node.post({ room: "trip", peer_id: "tester", text: "back" }).seq).toBe(5);
  });

  it("is the owner's only", async () => {
    const { node, request } = makeApp();
    node.join("open");
    expect((await request("/rooms/open/leave", form({ delete: "1" }, GUEST))).status).toBe(403);
    expect(node.rooms()).toEqual(["open"]);
  });
});

describe("search", () => {
  it("finds every word, the last as a prefix, accents aside, newest first, in that room only; the page marks the matches", async () => {
    const { node, request } = makeApp();
    node.post({ room: "r", peer_id: "a", text: "Dinner at the café on Friday" });
    node.post({ room: "r", peer_id: "b", text: "cafe closed friday" });
    node.post({ room: "r", peer_id: "c", text: "nothing here" });
    node.post({ room: "other", peer_id: "d", text: "cafe friday too" });
    expect(node.search("r", "cafe fri").map((h) => h.message.text)).toEqual(["cafe closed friday", "Dinner at the café on Friday"]);
    // What people type is words, never FTS5 syntax.
    expect(node.search("r", 'NEAR(") OR * "cafe')).toHaveLength(0);
    expect(node.search("r", "   ")).toEqual([]);
    const html = await (await request(`/rooms/r/search?q=${encodeURIComponent("café")}&peer_id=tester`)).text();
    expect(html).toContain("<mark>café</mark>");
    expect(html).toContain("2 messages found");
    expect(html).not.toContain("cafe friday too");
  });

  it("a guest searches only a room it may read", async () => {
    const { node, request } = makeApp();
    node.join("secret", "k".repeat(43));
    node.post({ room: "secret", peer_id: "a", text: "hidden words" });
    const res = await request("/rooms/secret/search?q=hidden", { headers: GUEST });
    expect(res.status).toBe(403);
    expect(await res.text()).not.toContain("hidden words");
  });
});

describe("room names typed into the page", () => {
  it("are made lowercase, spaces and other characters turned into '-', accents dropped, at most 64", () => {
    expect(roomNameFrom("My trip")).toBe("my-trip");
    expect(roomNameFrom("  Zürich -- 2026!  ")).toBe("zurich-2026");
    expect(roomNameFrom("日本")).toBe("");
    expect(roomNameFrom("x".repeat(70))).toHaveLength(64);
  });

  it("the create form shows the name it makes before creating anything", async () => {
    const { node, request } = makeApp();
    const res = await request("/create", form({ name: "My Trip", peer_id: "tester" }));
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('value="my-trip"');
    expect(html).toContain("becomes &#x27;my-trip&#x27;");
    expect(node.rooms()).toEqual([]);
    expect((await request("/create", form({ name: "my-trip", peer_id: "tester" }))).status).toBe(303);
    expect(node.rooms()).toEqual(["my-trip"]);
  });
});

describe("members", () => {
  it("lists this instance with the people who wrote from it, guests marked; a guest sees no connection details", async () => {
    const { node, request } = makeApp();
    node.join("r");
    node.post({ room: "r", peer_id: "tester", text: "a" });
    node.post({ room: "r", peer_id: "gina", text: "b", guest: true });
    const owner = await (await request("/rooms/r/members?peer_id=tester")).text();
    expect(owner).toContain('<span class="member-name" title="tester">tester</span><span class="presence">this instance</span>');
    expect(owner).toContain("gina (guest), tester");
    const guest = await (await request("/rooms/r/members?peer_id=gina", { headers: GUEST })).text();
    expect(guest).toContain("gina (guest), tester");
    expect(guest).not.toContain("Connection");
  });
});

describe("a guest's name", () => {
  it("is remembered in that browser, and never prefilled with the owner's", async () => {
    const { node, request } = makeApp();
    node.join("open");
    const first = await (await request("/?room=open", { headers: GUEST })).text();
    expect(first).toContain('<input name="peer_id" required maxlength="64" value=""');
    const entered = await request("/?room=open&peer_id=gina", { headers: GUEST });
    // Named for this instance: another instance on another port of the host neither reads nor overwrites it.
    const cookie = entered.headers.getSetCookie().find((c) => c.startsWith(`egoat_${node.id.slice(0, 12)}_guest_name=`))!;
    expect(cookie).toContain("HttpOnly");
    const again = await (await request("/?room=open", { headers: { ...GUEST, cookie: cookie.split(";")[0]! } })).text();
    expect(again).toContain('value="gina"');
  });
});
