import type { Database, Statement } from "bun:sqlite";
import type { RoomRef } from "../domain/rooms.ts";

/** A room as stored: its name, its key if private, how far its owner has read, and when it was left (null: joined). */
export interface StoredRoom extends RoomRef {
  read_stamp: number;
  left_at: number | null;
}

/** The rooms this instance has joined, or left keeping their history: by name, with the key of a private one. */
export class RoomStore {
  readonly #join: Statement;
  readonly #list: Statement<StoredRoom>;
  readonly #read: Statement;
  readonly #leave: Statement;
  readonly #forget: (room: RoomRef, roomId: string, lastSeq: number) => void;
  readonly #usedSeq: Statement<{ seq: number }>;
  readonly #forgotten: Statement<{ one: number }>;
  readonly #remembered: Statement;

  constructor(db: Database) {
    // Joining a room left before (the caller checked it is the same room) takes it up again with its history.
    this.#join = db.query(
      "INSERT INTO rooms (name, joined_at, key) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET left_at = NULL, joined_at = excluded.joined_at",
    );
    this.#list = db.query("SELECT name, key, read_stamp, left_at FROM rooms ORDER BY name");
    this.#read = db.query("UPDATE rooms SET read_stamp = max(read_stamp, ?) WHERE name = ?");
    this.#leave = db.query("UPDATE rooms SET left_at = ? WHERE name = ?");
    const drop = db.query("DELETE FROM rooms WHERE name = ?");
    const used = db.query("INSERT INTO used_seqs (room_id, seq) VALUES (?, ?) ON CONFLICT (room_id) DO UPDATE SET seq = max(seq, excluded.seq)");
    const dropGuests = db.query("DELETE FROM guest_messages WHERE room = ?");
    const privateName = db.query("INSERT INTO forgotten_rooms (name, at) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET at = excluded.at");
    this.#forget = db.transaction((room: RoomRef, roomId: string, lastSeq: number) => {
      drop.run(room.name);
      dropGuests.run(room.name);
      if (lastSeq > 0) used.run(roomId, lastSeq);
      if (room.key !== null) privateName.run(room.name, Date.now());
    });
    this.#usedSeq = db.query("SELECT seq FROM used_seqs WHERE room_id = ?");
    this.#forgotten = db.query("SELECT 1 AS one FROM forgotten_rooms WHERE name = ?");
    this.#remembered = db.query("DELETE FROM forgotten_rooms WHERE name = ?");
  }

  /** Records the room as joined (again, if it was left). */
  join(room: RoomRef): void {
    this.#join.run(room.name, Date.now(), room.key);
    this.#remembered.run(room.name);
  }

  /** Every room joined or left, by name. */
  list(): StoredRoom[] {
    return this.#list.all();
  }

  /** Notes that the owner has seen the room's messages up to `stamp`. */
  read(name: string, stamp: number): void {
    this.#read.run(stamp, name);
  }

  /** Marks the room left: nothing of it replicates, its history stays. */
  leave(name: string): void {
    this.#leave.run(Date.now(), name);
  }

  /**
   * Forgets the room (its messages are the caller's to drop), keeping the last sequence this instance used there, and
   * of a private room its name alone: an old link to it must never make it an open room (`wasPrivate`).
   */
  forget(room: RoomRef, roomId: string, lastSeq: number): void {
    this.#forget(room, roomId, lastSeq);
  }

  /** Whether a private room of this name was here and forgotten, and no room of the name joined since. */
  wasPrivate(name: string): boolean {
    return this.#forgotten.get(name) !== null;
  }

  /** The last sequence this instance used in a room whose history was deleted here; 0 if none. */
  usedSeq(roomId: string): number {
    return this.#usedSeq.get(roomId)?.seq ?? 0;
  }
}
