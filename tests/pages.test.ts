import { describe, expect, it } from "bun:test";
import { makeApp } from "./helpers/app.ts";

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
    expect(html).toContain("/?room=family&amp;peer_id=tester".replace("&amp;", "&"));
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
    const html = await (await makeApp().request("/?room=lobby&peer_id=dave")).text();
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
    expect(html).not.toContain("<img src=x");
    // Inside a quoted attribute '<' is inert; what matters is that the quote cannot end the attribute.
    expect(html).not.toContain('"><script>x</script>');
    expect(html).toContain('value="&#34;><script>x</script>"');
    expect(html).toContain("&lt;img src=x onerror=alert(1)&gt;");
  });

  it("refuses an invalid room with a 400 page", async () => {
    const res = await makeApp().request("/?room=no%20spaces&peer_id=a");
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("Room names are 1-64");
  });

  it("refuses an invalid name with a 400 page", async () => {
    const res = await makeApp().request(`/?room=r&peer_id=${"n".repeat(65)}`);
    expect(res.status).toBe(400);
  });

  it("shows the newest 50 messages and a link to older ones", async () => {
    const { request, send } = makeApp();
    for (let i = 0; i < 60; i++) await send({ room: "r", text: `m${i}` });
    const html = await (await request("/?room=r&peer_id=a")).text();
    expect(html.match(/class="msg"/g)?.length).toBe(50);
    expect(html).toContain("Load older messages");
    expect(html).not.toContain(">m9<");
    expect(html).toContain(">m10<");
  });

  it("older messages come as a fragment, with a further link only when more exist", async () => {
    const { request, send } = makeApp();
    const stamps: number[] = [];
    for (let i = 0; i < 60; i++) stamps.push(((await (await send({ room: "r", text: `m${i}` })).json()) as { timestamp: number }).timestamp);
    const fragment = await (await request(`/rooms/r/older?before=${stamps[10]}&peer_id=a`)).text();
    expect(fragment.match(/class="msg"/g)?.length).toBe(10);
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
    const res = await request("/rooms/r/messages", form({ peer_id: "erin", text: "via form" }));
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/?room=r&peer_id=erin");
    expect(node.history("r").map((m) => [m.peer_id, m.text])).toEqual([["erin", "via form"]]);
  });

  it("with htmx: stores the message and answers a cleared form", async () => {
    const { request, node } = makeApp();
    const res = await request("/rooms/r/messages", form({ peer_id: "erin", text: "via htmx" }, true));
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toStartWith('<form id="send"');
    expect(html).toMatch(/<textarea[^>]*><\/textarea>/);
    expect(node.history("r")).toHaveLength(1);
  });

  it("with htmx: an empty text answers 400 with the form and its error", async () => {
    const res = await makeApp().request("/rooms/r/messages", form({ peer_id: "erin", text: "" }, true));
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('class="error"');
  });

  it("without JavaScript: a text over 16 KiB answers 413 with the page, keeping the draft", async () => {
    const { request, node } = makeApp();
    node.join("r");
    const res = await request("/rooms/r/messages", form({ peer_id: "erin", text: "y".repeat(17000) }));
    expect(res.status).toBe(413);
    const html = await res.text();
    expect(html).toContain("16 KiB");
    expect(html).toContain("y".repeat(17000));
    expect(node.history("r")).toEqual([]);
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
});
