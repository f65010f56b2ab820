// Invite links (src/domain/rooms.ts): what they carry, and the words of each refusal.
import { expect, it } from "bun:test";
import { inviteUrl, parseInvite } from "../../../src/domain/rooms.ts";

const NODE = "ab".repeat(16);
const KEY = "K".repeat(43);

it("carry the room, its key, the issuer's node id and the rendezvous where it can be met", () => {
  const link = inviteUrl("http://192.0.2.1:8080", { name: "trip", key: KEY }, NODE, ["http://203.0.113.5:8080", "https://r.example"]);
  expect(parseInvite(link)).toEqual({ url: "http://192.0.2.1:8080", room: "trip", key: KEY, node: NODE, rendezvous: ["http://203.0.113.5:8080", "https://r.example"] });
  expect(parseInvite(inviteUrl("http://h:1", { name: "open", key: null }, NODE))).toEqual({ url: "http://h:1", room: "open", key: null, node: NODE, rendezvous: [] });
});

it("keep each rendezvous once, as an origin, and refuse one that is no http(s) URL or too many", () => {
  const base = `http://h:1/?room=r&node=${NODE}`;
  expect(parseInvite(`${base}&rendezvous=http://r:2/x&rendezvous=http://r:2`).rendezvous).toEqual(["http://r:2"]);
  expect(() => parseInvite(`${base}&rendezvous=ws://r:9000`)).toThrow("the invite link's rendezvous 'ws://r:9000' is not an http:// or https:// URL");
  expect(() => parseInvite(`${base}&rendezvous=nowhere`)).toThrow("is not an http:// or https:// URL");
  const five = [1, 2, 3, 4, 5].map((n) => `&rendezvous=http://r:${n}`).join("");
  expect(() => parseInvite(base + five)).toThrow("an invite link names at most 4 rendezvous");
});
