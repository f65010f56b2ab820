import { describe, expect, it } from "bun:test";
import { newRoomKey, roomIdOf } from "../../../src/domain/rooms.ts";
import { RoomConflictError, RoomLeftError, RoomLimitError, RoomRegistry } from "../../../src/rooms/rooms.ts";
import { openStorage } from "../../../src/storage/index.ts";
import { roomModel } from "../../helpers/room-model.ts";

describe("the room registry", () => {
  it("joins a room once: the same key again is the same room, another key is refused", () => {
    const { rooms } = roomModel();
    const key = newRoomKey();
    const room = rooms.join("family", key);
    expect(room).toEqual({ name: "family", key, id: roomIdOf({ name: "family", key }) });
    expect(rooms.join("family", key)).toBe(room);
    expect(() => rooms.join("family")).toThrow(RoomConflictError);
    expect(rooms.rooms()).toEqual(["family"]);
  });

  it("refuses to join past its limit", () => {
    const { rooms } = roomModel(undefined, { maxRooms: 1 });
    rooms.join("one");
    expect(() => rooms.join("two")).toThrow(RoomLimitError);
    expect(rooms.rooms()).toEqual(["one"]);
  });

  it("translates between a joined room's name and its id, and forgets the id once the room is left", () => {
    const { rooms } = roomModel();
    const { id } = rooms.join("lobby");
    expect(rooms.nameOf(id)).toBe("lobby");
    expect(rooms.ids()).toEqual([id]);
    rooms.leave("lobby", { deleteHistory: false });
    expect(rooms.nameOf(id)).toBeUndefined();
    expect(rooms.ids()).toEqual([]);
  });

  it("leaves a room with its history kept, and rejoins it with its key and history", () => {
    const { rooms, chat } = roomModel();
    const key = newRoomKey();
    rooms.join("family", key);
    chat.post({ room: "family", peer_id: "me", text: "before" });
    expect(rooms.leave("family", { deleteHistory: false })).toBe(true);
    expect(rooms.room("family")).toBeUndefined();
    expect(rooms.leftRooms()).toEqual(["family"]);
    expect(rooms.leftRoom("family")).toEqual({ name: "family", key });
    // Left with its history, it is joined again only with the same key.
    expect(() => rooms.join("family", newRoomKey())).toThrow(RoomLeftError);
    expect(rooms.rejoin("family").key).toBe(key);
    expect(rooms.leftRooms()).toEqual([]);
    expect(chat.history("family").map((m) => m.text)).toEqual(["before"]);
  });

  it("deletes a room's history when asked, a room left before too; then the name is free", () => {
    const { rooms, chat } = roomModel();
    rooms.join("family", newRoomKey());
    chat.post({ room: "family", peer_id: "me", text: "gone" });
    rooms.leave("family", { deleteHistory: false });
    expect(rooms.leave("family", { deleteHistory: true })).toBe(true);
    expect(rooms.leftRooms()).toEqual([]);
    expect(rooms.wasPrivate("family")).toBe(true);
    expect(rooms.leave("family", { deleteHistory: true })).toBe(false);
    rooms.join("family");
    expect(chat.history("family")).toEqual([]);
    expect(rooms.wasPrivate("family")).toBe(false);
  });

  it("tells its listeners when the joined rooms change, and on any join or leave after them", () => {
    const { rooms } = roomModel();
    const calls: string[] = [];
    rooms.onRoomsChanged(() => calls.push("rooms"));
    rooms.onChange(() => calls.push("change"));
    rooms.onLeave((name, dropped) => calls.push(`leave ${name} ${dropped ? "dropped" : "kept"}`));
    rooms.join("a");
    rooms.join("a");
    rooms.leave("a", { deleteHistory: false });
    rooms.leave("a", { deleteHistory: true });
    expect(calls).toEqual(["rooms", "change", "leave a kept", "rooms", "change", "leave a dropped", "change"]);
  });

  it("keeps joined and left rooms across a restart", () => {
    const storage = openStorage(":memory:");
    const { rooms } = roomModel(storage);
    rooms.join("kept");
    rooms.join("left");
    rooms.leave("left", { deleteHistory: false });
    const again = new RoomRegistry({ storage });
    expect(again.rooms()).toEqual(["kept"]);
    expect(again.leftRooms()).toEqual(["left"]);
  });

  it("proves a room to a peer that holds its key, and only that room", () => {
    const a = roomModel();
    const b = roomModel();
    const key = newRoomKey();
    const shared = a.rooms.join("family", key);
    b.rooms.join("family", key);
    a.rooms.join("mine", newRoomKey());
    b.rooms.join("mine", newRoomKey()); // the same name, another room
    const aId = a.storage.identity.nodeId;
    const bId = b.storage.identity.nodeId;
    expect(a.rooms.provenRooms(bId, b.rooms.proofs(aId))).toEqual([shared.id]);
    expect(b.rooms.provenRooms(aId, a.rooms.proofs(bId))).toEqual([shared.id]);
    // Proofs made for another peer prove nothing here.
    expect(a.rooms.provenRooms(bId, b.rooms.proofs("someone-else"))).toEqual([]);
  });
});
