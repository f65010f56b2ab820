import { describe, expect, it } from "bun:test";
import { newRoomKey } from "../../../src/domain/rooms.ts";
import { NonceTakenError } from "../../../src/rooms/chat.ts";
import { RoomLeftError } from "../../../src/rooms/rooms.ts";
import { openStorage, type Message } from "../../../src/storage/index.ts";
import type { WireMessage } from "../../../src/sync/frames.ts";
import { signatureProblem, signMessage } from "../../../src/sync/signatures.ts";
import { foreignMessage, roomModel } from "../../helpers/room-model.ts";

describe("chat", () => {
  it("posts in sequence, announces each message once, and hands sync the signed message with the room's id", () => {
    const { chat, rooms } = roomModel();
    const stored: Message[] = [];
    const posted: WireMessage[] = [];
    chat.onMessage((m) => stored.push(m));
    chat.onPosted((m) => posted.push(m));
    chat.post({ room: "lobby", peer_id: "me", text: "one" }); // an unknown room is joined as an open one
    chat.post({ room: "lobby", peer_id: "me", text: "two" });
    expect(rooms.rooms()).toEqual(["lobby"]);
    expect(stored.map((m) => [m.room, m.seq, m.text])).toEqual([
      ["lobby", 1, "one"],
      ["lobby", 2, "two"],
    ]);
    expect(posted.map((m) => [m.room, m.seq])).toEqual([
      [rooms.room("lobby")!.id, 1],
      [rooms.room("lobby")!.id, 2],
    ]);
    expect(posted.map((m) => signatureProblem(m))).toEqual([undefined, undefined]);
  });

  it("signs each message with its device's person: shown as the author's person, refused where the certificate is not the origin's", () => {
    const { chat, storage } = roomModel();
    const posted: WireMessage[] = [];
    chat.onPosted((m) => posted.push(m));
    const stored = chat.post({ room: "lobby", peer_id: "me", text: "one" });
    const { identity } = storage;
    expect(stored.person).toBe(identity.person.id);
    expect(stored.person).not.toBe(identity.nodeId);
    const m = posted[0]!;
    expect(m.person).toEqual({ key: identity.cert.person, at: identity.cert.at, sig: identity.cert.sig });
    expect(chat.history("lobby")[0]!.person).toBe(identity.person.id);
    // Another person's key on this device's certificate, a certificate moved in time, the person taken away: refused.
    const other = openStorage(":memory:").identity;
    expect(signatureProblem({ ...m, person: { ...m.person!, key: other.cert.person } })).toContain("does not match");
    expect(signatureProblem({ ...m, person: { ...m.person!, at: m.person!.at + 1 } })).toContain("does not match");
    const { person: _dropped, ...bare } = m;
    expect(signatureProblem(bare)).toBe("its signature does not match");
    // This device claiming another person, with that person's certificate of another device, signed as its own:
    // the message's signature holds, the certificate is not of this origin.
    const { sig: _sig, key: _key, ...fields } = m;
    const claimed = { ...fields, person: { key: other.cert.person, at: other.cert.at, sig: other.cert.sig } };
    expect(signatureProblem({ ...claimed, ...signMessage(claimed, identity) })).toBe(
      "its person's certificate of its origin does not hold (its person's signature does not match)",
    );
  });

  it("answers a retried send (the same nonce) with the message stored then, and refuses the nonce in another room", () => {
    const { chat } = roomModel();
    const first = chat.post({ room: "lobby", peer_id: "me", text: "hi", nonce: "n1" });
    expect(chat.post({ room: "lobby", peer_id: "me", text: "hi", nonce: "n1" })).toEqual(first);
    expect(chat.history("lobby")).toHaveLength(1);
    expect(() => chat.post({ room: "other", peer_id: "me", text: "hi", nonce: "n1" })).toThrow(NonceTakenError);
  });

  it("does not post to a private room left here; an open one left is joined again by a send", () => {
    const { chat, rooms } = roomModel();
    rooms.join("family", newRoomKey());
    rooms.leave("family", { deleteHistory: false });
    expect(() => chat.post({ room: "family", peer_id: "me", text: "x" })).toThrow(RoomLeftError);
    rooms.join("open");
    rooms.leave("open", { deleteHistory: false });
    chat.post({ room: "open", peer_id: "me", text: "back" });
    expect(rooms.rooms()).toEqual(["open"]);
  });

  it("stores a peer's message once by (origin, room, seq), and announces it once", () => {
    const { chat, rooms } = roomModel();
    const author = openStorage(":memory:");
    rooms.join("lobby");
    const announced: string[] = [];
    chat.onMessage((m) => announced.push(m.text));
    const m = foreignMessage(author, "lobby", 1, "hello");
    expect(chat.ingest(m, author.identity.nodeId)?.kind).toBe("new");
    expect(chat.ingest(m, "another-peer")?.kind).toBe("held");
    expect(chat.ingest(foreignMessage(author, "lobby", 2), author.identity.nodeId)?.kind).toBe("new");
    expect(announced).toEqual(["hello", "message 2"]);
    expect(chat.history("lobby").map((x) => [x.origin, x.seq])).toEqual([
      [author.identity.nodeId, 1],
      [author.identity.nodeId, 2],
    ]);
  });

  it("ignores a peer's message for a room not joined here", () => {
    const { chat } = roomModel();
    const author = openStorage(":memory:");
    expect(chat.ingest(foreignMessage(author, "elsewhere", 1), author.identity.nodeId)).toBeNull();
    expect(chat.history("elsewhere")).toEqual([]);
  });

  it("never reuses a sequence of its own that came back from a peer", () => {
    const storage = openStorage(":memory:");
    const { chat, rooms } = roomModel(storage);
    rooms.join("lobby");
    // Our own message 5, as a restored backup's peer would send it back.
    expect(chat.ingest(foreignMessage(storage, "lobby", 5), "peer")?.kind).toBe("new");
    expect(chat.post({ room: "lobby", peer_id: "me", text: "next" }).seq).toBe(6);
  });

  it("finds messages by every word, the last as a prefix", () => {
    const { chat } = roomModel();
    chat.post({ room: "lobby", peer_id: "me", text: "the quick brown fox" });
    chat.post({ room: "lobby", peer_id: "me", text: "a slow fox" });
    expect(chat.search("lobby", "quick fo").map((hit) => hit.message.text)).toEqual(["the quick brown fox"]);
    expect(chat.search("lobby", "fox")).toHaveLength(2);
    expect(chat.search("lobby", "\"*")).toEqual([]);
  });
});
