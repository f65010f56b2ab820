/**
 * Issue 22, what a new user met: leaving a private room (its history kept), then opening an old link to it, going Back
 * to its page, or sending from a page still open on it answered a raw JSON 500 (RoomConflictError was not mapped).
 * Nothing may answer 5xx: the page says the room was left and offers to join it again.
 */
import { describe, expect, it } from "bun:test";
import { makeApp } from "../helpers/app.ts";

/** What a browser sends with the owner's own navigation (typed, a bookmark, Back). */
const NAVIGATE = { "sec-fetch-site": "none", "sec-fetch-mode": "navigate", "sec-fetch-user": "?1", "sec-fetch-dest": "document" };
const SAME_ORIGIN = { "sec-fetch-site": "same-origin", "sec-fetch-mode": "navigate", origin: "http://localhost" };
const form = (fields: Record<string, string>, headers: Record<string, string> = {}) => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded", ...SAME_ORIGIN, ...headers },
  body: new URLSearchParams(fields).toString(),
});

function leftPrivateRoom() {
  const app = makeApp();
  const room = app.node.join("family", "F".repeat(43));
  app.node.post({ room: "family", peer_id: "tester", text: "kept while away" });
  app.node.leave("family", { deleteHistory: false });
  return { ...app, room };
}

describe("a private room left with its history kept", () => {
  it("an old link or the Back button: a page that says it was left and offers to join again, nothing joined", async () => {
    const { request, node } = leftPrivateRoom();
    for (const path of ["/?room=family&peer_id=tester", "/?room=family", "/?room=family&peer_id=bob&before=99"]) {
      const res = await request(path, { headers: NAVIGATE });
      expect(res.status).toBe(200);
      const html = await res.text();
      expect(html).toContain("You left #family");
      expect(html).toMatch(/<form method="post" action="\/join"[^>]*><input type="hidden" name="room" value="family"\/>/);
      expect(html.includes('id="messages"')).toBe(false);
    }
    expect(node.rooms()).toEqual([]);
    expect(node.leftRooms()).toEqual(["family"]);
  });

  it("a send from a page still open on it: 409 in words with the draft kept, from the form and from the script", async () => {
    const { request, node } = leftPrivateRoom();
    const page = await request("/rooms/family/messages", form({ text: "written before noticing", nonce: "n".repeat(20) }));
    expect(page.status).toBe(409);
    const html = await page.text();
    expect(html).toContain("You left #family");
    expect(html).toContain("written before noticing");
    expect(html).toMatch(/action="\/join"/);
    const script = await request("/rooms/family/messages", form({ text: "again", nonce: "m".repeat(20) }, { accept: "application/json" }));
    expect(script.status).toBe(409);
    expect(((await script.json()) as { error: string }).error).toBe("You left #family: join it again to write there.");
    expect(node.rooms()).toEqual([]);
  });

  it("POST /send and an upload to it: 409 with the reason, never 5xx", async () => {
    const { request, send, node } = leftPrivateRoom();
    const sent = await send({ room: "family", text: "from a script" });
    expect(sent.status).toBe(409);
    expect(((await sent.json()) as { error: string }).error).toBe("You left #family: join it again to write there.");
    const body = new FormData();
    body.append("room", "family");
    body.append("file", new File(["x"], "x.txt", { type: "text/plain" }));
    const upload = await request("/files", { method: "POST", body });
    expect(upload.status).toBe(409);
    const fromPage = new FormData();
    fromPage.append("file", new File(["x"], "x.txt", { type: "text/plain" }));
    const pageUpload = await request("/rooms/family/files", { method: "POST", body: fromPage, headers: SAME_ORIGIN });
    expect(pageUpload.status).toBe(409);
    expect(node.history("family").map((m) => m.text)).toEqual(["kept while away"]);
  });

  it("joined again from that page: the same private room, its history there", async () => {
    const { request, node, room } = leftPrivateRoom();
    const res = await request("/join", { ...form({ room: "family" }), redirect: "manual" });
    expect(res.status).toBe(303);
    expect(node.room("family")).toEqual(room);
    const html = await (await request(res.headers.get("location")!, { headers: SAME_ORIGIN })).text();
    expect(html).toContain("kept while away");
  });

  it("an open room left: its old link asks too, and /send joins it again as the contract says", async () => {
    const { request, send, node } = makeApp();
    node.join("lobby");
    node.leave("lobby", { deleteHistory: false });
    const html = await (await request("/?room=lobby", { headers: NAVIGATE })).text();
    expect(html).toContain("You left #lobby");
    expect(node.rooms()).toEqual([]);
    expect((await send({ room: "lobby", text: "back" })).status).toBe(200);
    expect(node.rooms()).toEqual(["lobby"]);
  });
});
