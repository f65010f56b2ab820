import type { Database, Statement } from "bun:sqlite";
import type { RoomRef } from "../domain/rooms.ts";

/** The rooms this instance has joined: by name, with the key of a private one. */
export class RoomStore {
  readonly #join: Statement;
  readonly #list: Statement<RoomRef>;

  constructor(db: Database) {
    this.#join = db.query("INSERT OR IGNORE INTO rooms (name, joined_at, key) VALUES (?, ?, ?)");
    this.#list = db.query("SELECT name, key FROM rooms ORDER BY name");
  }

  /** Records the room as joined; returns true if no room of that name was joined yet. */
  join(room: RoomRef): boolean {
    return this.#join.run(room.name, Date.now(), room.key).changes > 0;
  }

  list(): RoomRef[] {
    return this.#list.all();
  }
}
