/** LAN beacons: rooms as tags salted anew each beacon, recognised only by those who hold the room's key. */
import { describe, expect, it } from "bun:test";
import { LanDiscovery } from "../../../src/reach/lan-discovery.ts";
import { newRoomKey, type RoomRef } from "../../../src/domain/rooms.ts";
import type { NodeAddress } from "../../../src/transport/link.ts";

function discovery(rooms: RoomRef[]) {
  const introduced: NodeAddress[] = [];
  const d = new LanDiscovery("n".repeat(32), () => ({ http: "http://10.0.0.1:8080" }));
  d.serve({ joinedRooms: () => rooms, introduce: (address) => void introduced.push(address) });
  return { d, introduced };
}

describe("LAN discovery", () => {
  it("names no room: the same rooms give other tags in every beacon", () => {
    const key = newRoomKey();
    const { d } = discovery([{ name: "family", key }, { name: "lobby", key: null }]);
    const first = d.beacon();
    const second = d.beacon();
    expect(first.rooms).toHaveLength(2);
    expect(first.salt).not.toBe(second.salt);
    expect(first.rooms!.some((tag) => second.rooms!.includes(tag))).toBe(false);
    const text = JSON.stringify([first, second]);
    for (const secret of ["family", "lobby", key]) expect(text).not.toContain(secret);
  });

  it("introduces an instance whose beacon proves a room held here, and no other", () => {
    const key = newRoomKey();
    const theirs = discovery([{ name: "family", key }]).d.beacon();
    const member = discovery([{ name: "elsewhere-named", key }]);
    member.d.heard({ ...theirs, from: "10.0.0.1:9999" });
    expect(member.introduced.map((a) => a.lan)).toEqual(["10.0.0.1:9999"]);
    const stranger = discovery([{ name: "family", key: newRoomKey() }]);
    stranger.d.heard({ ...theirs, from: "10.0.0.1:9999" });
    expect(stranger.introduced).toEqual([]);
  });

  it("a beacon copied by a bystander with another node id or address introduces nobody", () => {
    const key = newRoomKey();
    const theirs = discovery([{ name: "family", key }]).d.beacon();
    const member = discovery([{ name: "family", key }]);
    member.d.heard({ ...theirs, http: "http://10.6.6.6:8080", from: "10.0.0.1:9999" });
    member.d.heard({ ...theirs, ws: "ws://10.6.6.6:9000", from: "10.0.0.1:9999" });
    member.d.heard({ ...theirs, nodeId: "6".repeat(32), from: "10.0.0.1:9999" });
    expect(member.introduced).toEqual([]);
    member.d.heard({ ...theirs, from: "10.0.0.1:9999" });
    expect(member.introduced).toHaveLength(1);
  });
});
