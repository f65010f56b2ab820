import { describe, expect, it } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { isRoomName, roomNameFrom } from "../../../src/domain/names.ts";
import { makeApp } from "../../helpers/app.ts";
import { tempDir } from "../../helpers/instance.ts";

const form = (fields: Record<string, string>, htmx = false) => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded", ...(htmx ? { "hx-request": "true" } : {}) },
  body: new URLSearchParams(fields).toString(),
});

describe("the page", () => {
  it("landing offers to create a room (private unless made open), to join by invite link, and lists joined rooms", async () => {
    const { request, node } = makeApp();
    node.join("family");
    const res = await request("/");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    const html = await res.text();
    expect(html).toStartWith("<!doctype html>");
    expect(html).toContain('<form method="post" action="/create"');
    expect(html).toContain('<input type="checkbox" name="open" value="1"/>');
    expect(html).toContain('<form method="post" action="/invite"');
    // The owner's name is a setting kept by the instance, never carried in an address.
    expect(html).toContain('href="/?room=family"');
  });

  it("a deep link joins the room and renders its history on the server", async () => {
    const { request, send, node } = makeApp();
    await send({ room: "lobby", peer_id: "carol", text: "first!" });
    const html = await (await request("/?room=lobby&peer_id=dave")).text();
    expect(node.rooms()).toContain("lobby");
    expect(html).toContain("first!");
    expect(html).toContain('<span class="author">carol</span>');
    expect(html).toContain('hx-sse:connect="/rooms/lobby/events?since=');
    expect(html).toContain('name="peer_id" value="dave"');
  });

  it("the invite panel links to this instance's public address", async () => {
    const { request, node } = makeApp();
    node.join("lobby");
    const html = await (await request("/?room=lobby&peer_id=dave")).text();
    expect(html).toContain(`value="http://192.0.2.1:8080/?room=lobby&amp;node=`.replace("&amp;", "&"));
    expect(html).toContain('<figure class="qr" aria-label="QR code of the invite link"><svg');
  });

  it("a room link without a name asks for one, with the room filled in", async () => {
    const { request, node } = makeApp();
    const html = await (await request("/?room=party")).text();
    expect(html).toContain('value="party"');
    expect(node.rooms()).toEqual([]);
  });

  it("escapes user text in every place it is shown", async () => {
    const { request, send } = makeApp();
    const evil = `<img src=x onerror=alert(1)>"'&`;
    await send({ room: "r", peer_id: `<b>${evil}`, text: evil });
    const html = await (await request(`/?room=r&peer_id=${encodeURIComponent('"><script>x</script>')}`)).text();
    // Outside attributes, that is: inside a quoted one (a title) '<' is inert.
    expect(html.replace(/="[^"]*"/g, '=""')).not.toContain("<img src=x");
    // Inside a quoted attribute '<' is inert; what matters is that the quote cannot end the attribute.
    expect(html).not.toContain('"><script>x</script>');
    expect(html).toContain('value="&#34;><script>x</script>"');
    expect(html).toContain("&lt;img src=x onerror=alert(1)&gt;");
  });

  it("an invalid room in the address answers 400 with what was typed made into a name, to confirm", async () => {
    const res = await makeApp().request("/?room=My%20Trip&peer_id=a");
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain("so &#x27;My Trip&#x27; becomes &#x27;my-trip&#x27;");
    expect(html).toContain('value="my-trip"');
  });

  it("refuses an invalid name with a 400 page", async () => {
    const res = await makeApp().request(`/?room=r&peer_id=${"n".repeat(65)}`);
    expect(res.status).toBe(400);
  });

  it("shows the newest 50 messages and a link to older ones", async () => {
    const { request, send } = makeApp();
    for (let i = 0; i < 60; i++) await send({ room: "r", text: `m${i}` });
    const html = await (await request("/?room=r&peer_id=a")).text();
    expect(html.match(/class="msg[ "]/g)?.length).toBe(50);
    expect(html).toContain("Load older messages");
    expect(html).not.toContain(">m9<");
    expect(html).toContain(">m10<");
  });

  it("older messages come as a fragment, with a further link only when more exist", async () => {
    const { request, send } = makeApp();
    const stamps: number[] = [];
    for (let i = 0; i < 60; i++) stamps.push(((await (await send({ room: "r", text: `m${i}` })).json()) as { timestamp: number }).timestamp);
    const fragment = await (await request(`/rooms/r/older?before=${stamps[10]}&peer_id=a`)).text();
    expect(fragment.match(/class="msg[ "]/g)?.length).toBe(10);
    expect(fragment).not.toContain("Load older");
    expect(fragment).not.toContain("<html");
  });

  it("a window into the past (before=) has no live stream and a way back", async () => {
    const { request, send } = makeApp();
    for (let i = 0; i < 3; i++) await send({ room: "r", text: `m${i}` });
    const html = await (await request("/?room=r&peer_id=a&before=1")).text();
    expect(html).not.toContain("hx-sse:connect");
    expect(html).toContain("Jump to the latest messages");
  });
});

describe("the send form", () => {
  it("without JavaScript: stores the message and redirects back to the room (303)", async () => {
    const { request, node } = makeApp();
    node.join("r");
    const res = await request("/rooms/r/messages", form({ peer_id: "erin", text: "via form" }));
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/?room=r&peer_id=erin");
    expect(node.history("r").map((m) => [m.peer_id, m.text])).toEqual([["erin", "via form"]]);
  });

  it("from the page's script: stores the message and answers its id, stamp and sequence", async () => {
    const { request, node } = makeApp();
    node.join("r");
    const res = await request("/rooms/r/messages", { ...form({ peer_id: "erin", text: "via script" }), headers: { ...form({}).headers, accept: "application/json" } });
    expect(res.status).toBe(200);
    const [stored] = node.history("r");
    expect(await res.json()).toEqual({ id: stored!.id, timestamp: stored!.timestamp, seq: 1 });
  });

  it("from the page's script: an empty text answers 400 JSON in plain words", async () => {
    const res = await makeApp().request("/rooms/r/messages", { ...form({ peer_id: "erin", text: "" }), headers: { ...form({}).headers, accept: "application/json" } });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: "Write something before sending." });
  });

  it("without JavaScript: a text over 16384 characters answers 413 with the page, keeping the draft", async () => {
    const { request, node } = makeApp();
    node.join("r");
    const res = await request("/rooms/r/messages", form({ peer_id: "erin", text: "y".repeat(17000) }));
    expect(res.status).toBe(413);
    const html = await res.text();
    expect(html).toContain("16384 characters");
    expect(html).toContain("y".repeat(17000));
    expect(node.history("r")).toEqual([]);
  });

  it("16000 'é' from the form are taken: the limit counts characters, not bytes (it was 'request body is over 64 KiB')", async () => {
    const { request, node } = makeApp();
    node.join("r");
    const res = await request("/rooms/r/messages", form({ peer_id: "erin", text: "é".repeat(16000) }));
    expect(res.status).toBe(303);
    expect(node.history("r")[0]!.text).toBe("é".repeat(16000));
  });

  it("a send retried with its nonce posts once and answers the same message", async () => {
    const { request, node } = makeApp();
    node.join("r");
    const post = () =>
      request("/rooms/r/messages", { ...form({ peer_id: "erin", text: "once", nonce: "n0nce-of-the-page-123" }), headers: { ...form({}).headers, accept: "application/json" } });
    const first = (await (await post()).json()) as { id: string };
    const again = (await (await post()).json()) as { id: string };
    expect(again.id).toBe(first.id);
    expect(node.history("r").map((m) => m.text)).toEqual(["once"]);
  });

  it("an invalid room in the path answers 400", async () => {
    const res = await makeApp().request("/rooms/a%20b/messages", form({ text: "x" }));
    expect(res.status).toBe(400);
  });

  it("refuses JSON with 415", async () => {
    const res = await makeApp().request("/rooms/r/messages", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(res.status).toBe(415);
  });

  it("the peers panel renders on its own for refreshes", async () => {
    const html = await (await makeApp().request("/peers/panel")).text();
    expect(html).toStartWith('<section id="peers"');
    expect(html).toContain("No other instances linked yet.");
  });
});

describe("assets", () => {
  for (const [name, type] of [
    ["htmx.js", "javascript"],
    ["hx-sse.js", "javascript"],
    ["app.js", "javascript"],
    ["style.css", "css"],
  ]) {
    it(`serves ${name}`, async () => {
      const res = await makeApp().request(`/assets/${name}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toContain(type!);
      expect((await res.text()).length).toBeGreaterThan(100);
    });
  }

  it("a name that is no asset but a property every object has is no asset either (the HTTP fuzz found 500s)", async () => {
    for (const name of ["toString", "valueOf", "constructor", "__proto__", "hasOwnProperty"]) {
      const res = await makeApp().request(`/assets/${name}`);
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ error: `no asset named '${name}'` });
    }
  });

  it("serves the room-name rule to the page as the very function the server applies", async () => {
    const res = await makeApp().request("/assets/room-name.js");
    expect(res.headers.get("content-type")).toContain("javascript");
    const dir = tempDir("e-goat-room-name-");
    const path = join(dir, "room-name.mjs");
    await Bun.write(path, await res.text());
    const served = (await import(path)) as { roomNameFrom: (typed: string) => string; roomNamePattern: RegExp };
    rmSync(dir, { recursive: true, force: true });
    for (const typed of ["My Trip", "  Zürich -- 2026!  ", "日本", "x".repeat(70), "ok.name_1"]) expect(served.roomNameFrom(typed)).toBe(roomNameFrom(typed));
    for (const name of ["family", "a b", "x".repeat(65), ""]) expect(served.roomNamePattern.test(name)).toBe(isRoomName(name));
  });
});
