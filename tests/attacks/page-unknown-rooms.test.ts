/**
 * Issue 22, what a new user met: an old link to a private room that was left and deleted silently created an *open*
 * room of the same name, and so did an owner's typo in `?room=`. A room not here is now asked for first ("There is no
 * room 'x' here: create it?"), and a name that was private here is never made an open room by a link or a send.
 * `POST /send` to an unknown room still joins an open room, as the contract says.
 */
import { describe, expect, it } from "bun:test";
import { makeApp } from "../helpers/app.ts";

const NAVIGATE = { "sec-fetch-site": "none", "sec-fetch-mode": "navigate", "sec-fetch-user": "?1", "sec-fetch-dest": "document" };
const SAME_ORIGIN = { "sec-fetch-site": "same-origin", "sec-fetch-mode": "navigate", origin: "http://localhost" };
const form = (fields: Record<string, string>, headers: Record<string, string> = {}) => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded", ...SAME_ORIGIN, ...headers },
  body: new URLSearchParams(fields).toString(),
  redirect: "manual" as const,
});
const KEY = "K".repeat(43);

function deletedPrivateRoom() {
  const app = makeApp();
  app.node.join("family", KEY);
  app.node.post({ room: "family", peer_id: "tester", text: "gone with the history" });
  app.node.leave("family", { deleteHistory: true });
  return app;
}

describe("a room that is not here", () => {
  it("a typo in the address: asked first, with a choice of private or open, and nothing is created", async () => {
    const { request, node } = makeApp();
    const res = await request("/?room=famliy&peer_id=tester", { headers: NAVIGATE });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("There is no room #famliy here");
    expect(html).toContain('<button type="submit" name="open" value="0">Create a private room</button>');
    expect(html).toContain('<button type="submit" name="open" value="1">Create an open room</button>');
    expect(node.rooms()).toEqual([]);
    // Confirmed: created as chosen, and the room's page follows.
    const made = await request("/create", form({ name: "famliy", open: "1" }));
    expect(made.status).toBe(303);
    expect(node.room("famliy")?.key).toBeNull();
  });

  it("an old link to a private room deleted here: never an open room; a new private room is offered", async () => {
    const { request, node } = deletedPrivateRoom();
    const res = await request("/?room=family&peer_id=tester", { headers: NAVIGATE });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("There is no room #family here");
    expect(html).toContain("A private room of this name was here");
    expect(html.includes('value="1">Create an open room')).toBe(false);
    expect(html).toContain('<button type="submit" name="open" value="0">Create a private room</button>');
    expect(node.rooms()).toEqual([]);
  });

  it("an old invite link (with its key) to a room deleted here: offered back as that private room", async () => {
    const { request, node } = deletedPrivateRoom();
    const html = await (await request(`/?room=family&key=${KEY}&peer_id=tester`, { headers: NAVIGATE })).text();
    expect(html).toContain(`<input type="hidden" name="key" value="${KEY}"/>`);
    expect(node.rooms()).toEqual([]);
    const joined = await request("/join", form({ room: "family", key: KEY }));
    expect(joined.status).toBe(303);
    expect(node.room("family")?.key).toBe(KEY);
  });

  it("a send from a page still open on a deleted private room creates nothing: 404 in words", async () => {
    const { request, node } = deletedPrivateRoom();
    const res = await request("/rooms/family/messages", form({ text: "into the void", nonce: "v".repeat(20) }, { accept: "application/json" }));
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: string }).error).toBe("There is no room #family here any more.");
    const page = await request("/rooms/family/messages", form({ text: "into the void", nonce: "w".repeat(20) }));
    expect(page.status).toBe(404);
    const html = await page.text();
    expect(html).toContain("There is no room #family here");
    expect(html).toContain("into the void");
    expect(node.rooms()).toEqual([]);
  });

  it("a link from another site asks the same way and joins nothing", async () => {
    const { request, node } = makeApp();
    const res = await request("/?room=elsewhere&peer_id=bob", { headers: { "sec-fetch-site": "cross-site", "sec-fetch-mode": "navigate" } });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("There is no room #elsewhere here");
    expect(node.rooms()).toEqual([]);
  });

  it("POST /send to an unknown room still joins an open room, as the contract says", async () => {
    const { send, node } = makeApp();
    expect((await send({ room: "fresh", text: "hi" })).status).toBe(200);
    expect(node.room("fresh")?.key).toBeNull();
  });
});
