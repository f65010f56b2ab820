/**
 * Owner and guests on the JSON API: the owner (loopback) uses every room; a guest gets a room only with its
 * capability (an open room's name, a private room's key), and never the room list or the linked instances.
 */
import { describe, expect, it } from "bun:test";
import { makeApp } from "../../helpers/app.ts";

const GUEST = "192.0.2.7";
const json = { "content-type": "application/json" };
const asGuest = { ...json, "x-test-client": GUEST };

async function errorOf(res: Response) {
  return { status: res.status, body: (await res.json()) as { error: string } };
}

function setup() {
  const t = makeApp();
  const createRoom = async (name: string, isPrivate?: boolean) => {
    const res = await t.request("/rooms", { method: "POST", headers: json, body: JSON.stringify({ name, ...(isPrivate === undefined ? {} : { private: isPrivate }) }) });
    return { status: res.status, body: (await res.json()) as { room: string; key?: string; invite: string; error?: string } };
  };
  return { ...t, createRoom };
}

describe("POST /rooms", () => {
  it("creates a private room by default, with a key and an invite link naming this instance", async () => {
    const { createRoom, node } = setup();
    const { status, body } = await createRoom("family");
    expect(status).toBe(200);
    expect(body.room).toBe("family");
    expect(body.key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const invite = new URL(body.invite);
    expect(invite.origin).toBe("http://192.0.2.1:8080");
    expect(Object.fromEntries(invite.searchParams)).toEqual({ room: "family", key: body.key!, node: node.id });
    expect(node.room("family")?.key).toBe(body.key!);
  });

  it("creates an open room on request; refuses a name already joined with 409", async () => {
    const { createRoom, node } = setup();
    const open = await createRoom("lobby", false);
    expect(open.status).toBe(200);
    expect(open.body.key).toBeUndefined();
    expect(new URL(open.body.invite).searchParams.has("key")).toBe(false);
    expect(node.room("lobby")?.key).toBeNull();
    expect(await createRoom("lobby")).toMatchObject({ status: 409, body: { error: "a room named 'lobby' is already joined here" } });
  });

  it("is for the owner only", async () => {
    const { request, node } = setup();
    const res = await request("/rooms", { method: "POST", headers: asGuest, body: JSON.stringify({ name: "mine" }) });
    expect(await errorOf(res)).toEqual({ status: 403, body: { error: "creating rooms is only for the owner of this instance" } });
    expect(node.rooms()).toEqual([]);
  });
});

describe("guests", () => {
  it("read and write an open room by its name", async () => {
    const { send, request, createRoom } = setup();
    await createRoom("lobby", false);
    expect((await send({ room: "lobby", text: "from a guest", peer_id: "gina" }, asGuest)).status).toBe(200);
    const res = await request("/history?room=lobby", { headers: { "x-test-client": GUEST } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { text: string }[]).map((m) => m.text)).toEqual(["from a guest"]);
  });

  it("get a private room only with its key: not with none, a wrong one or another room's", async () => {
    const { send, request, createRoom, node } = setup();
    const { body } = await createRoom("family");
    const other = await createRoom("work");
    const key = body.key!;
    await send({ room: "family", text: "owner's words" });
    const refused = { status: 403, body: { error: "this room is open only to those with its invite link" } };
    for (const given of [undefined, "A".repeat(43), other.body.key!]) {
      const query = new URLSearchParams({ room: "family", ...(given ? { key: given } : {}) });
      expect(await errorOf(await request(`/history?${query}`, { headers: { "x-test-client": GUEST } }))).toEqual(refused);
      expect(await errorOf(await send({ room: "family", text: "sneaked in", ...(given ? { key: given } : {}) }, asGuest))).toEqual(refused);
    }
    const res = await request(`/history?${new URLSearchParams({ room: "family", key })}`, { headers: { "x-test-client": GUEST } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { text: string }[]).map((m) => m.text)).toEqual(["owner's words"]);
    expect((await send({ room: "family", key, text: "guest with the key" }, asGuest)).status).toBe(200);
    expect(node.history("family").map((m) => m.text)).toEqual(["owner's words", "guest with the key"]);
  });

  it("cannot tell a room that does not exist from one they may not enter, and cannot create rooms", async () => {
    const { send, request, node } = setup();
    const unknown = await errorOf(await request("/history?room=nowhere", { headers: { "x-test-client": GUEST } }));
    expect(unknown).toEqual({ status: 403, body: { error: "this room is open only to those with its invite link" } });
    expect((await send({ room: "newroom", text: "hi" }, asGuest)).status).toBe(403);
    expect(node.rooms()).toEqual([]);
  });

  it("never get the linked instances", async () => {
    const { request } = setup();
    expect(await errorOf(await request("/peers", { headers: { "x-test-client": GUEST } }))).toEqual({
      status: 403,
      body: { error: "the list of linked instances is only for the owner of this instance" },
    });
    expect((await request("/peers")).status).toBe(200);
    expect((await request("/peers/panel", { headers: { "x-test-client": GUEST } })).status).toBe(403);
    expect((await request("/peers/panel")).status).toBe(200);
  });

  it("a malformed key is a 400 naming the rule", async () => {
    const { request } = setup();
    const res = await request("/history?room=family&key=short", { headers: { "x-test-client": GUEST } });
    expect(await errorOf(res)).toEqual({ status: 400, body: { error: "key must be 43 characters of base64url (32 bytes)" } });
  });
});

describe("the owner", () => {
  it("uses every room without keys, and creates open rooms by sending, as before", async () => {
    const { send, request, createRoom, node } = setup();
    await createRoom("family");
    expect((await send({ room: "family", text: "no key needed" })).status).toBe(200);
    expect((await request("/history?room=family")).status).toBe(200);
    expect((await send({ room: "fresh", text: "joins" })).status).toBe(200);
    expect(node.room("fresh")?.key).toBeNull();
  });
});
