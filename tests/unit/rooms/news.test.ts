import { describe, expect, it } from "bun:test";
import { openStorage } from "../../../src/storage/index.ts";
import { foreignMessage, roomModel } from "../../helpers/room-model.ts";

describe("news", () => {
  it("counts what others wrote past the owner's read mark, and the owner's own messages never", () => {
    const { chat, news, rooms } = roomModel();
    const author = openStorage(":memory:");
    rooms.join("lobby");
    chat.post({ room: "lobby", peer_id: "me", text: "mine" });
    expect(news.activity()).toMatchObject([{ name: "lobby", unread: 0, private: false }]);
    const first = chat.ingest(foreignMessage(author, "lobby", 1), "peer");
    chat.ingest(foreignMessage(author, "lobby", 2, "latest"), "peer");
    expect(news.activity()).toMatchObject([{ name: "lobby", unread: 2, latest: { text: "latest" } }]);
    news.markRead("lobby", first!.kind === "new" ? first!.message.timestamp : 0);
    expect(news.activity()[0]!.unread).toBe(1);
  });

  it("never moves a read mark backwards, and marks nothing in a room not joined", () => {
    const { chat, news, rooms, storage } = roomModel();
    const author = openStorage(":memory:");
    rooms.join("lobby");
    const stamps = [1, 2, 3].map((seq) => {
      const got = chat.ingest(foreignMessage(author, "lobby", seq), "peer");
      return got?.kind === "new" ? got.message.timestamp : 0;
    });
    news.markRead("lobby", stamps[2]!);
    news.markRead("lobby", stamps[0]!);
    expect(news.activity()[0]!.unread).toBe(0);
    news.markRead("nowhere", stamps[2]!);
    expect(storage.rooms.list().map((r) => r.name)).toEqual(["lobby"]);
  });

  it("keeps a read mark while a room is left with its history; once its history is deleted, what comes is unread", () => {
    const { chat, news, rooms } = roomModel();
    const author = openStorage(":memory:");
    rooms.join("lobby");
    const got = chat.ingest(foreignMessage(author, "lobby", 1), "peer");
    news.markRead("lobby", got?.kind === "new" ? got.message.timestamp : 0);
    rooms.leave("lobby", { deleteHistory: false });
    rooms.rejoin("lobby");
    expect(news.activity()[0]!.unread).toBe(0);
    rooms.leave("lobby", { deleteHistory: true });
    rooms.join("lobby");
    chat.ingest(foreignMessage(author, "lobby", 2), "peer");
    expect(news.activity()[0]!.unread).toBe(1);
  });

  it("orders rooms by their newest message, and tells its listeners of every change", () => {
    const { chat, news, rooms } = roomModel();
    let changes = 0;
    news.onActivity(() => changes++);
    rooms.join("quiet");
    chat.post({ room: "busy", peer_id: "me", text: "x" });
    expect(news.activity().map((r) => r.name)).toEqual(["busy", "quiet"]);
    // Joined twice (quiet, busy), one message stored.
    expect(changes).toBe(3);
  });
});
