import type { Database, Statement } from "bun:sqlite";
import type { RoomRef } from "../domain/rooms.ts";

/** Rendezvous kept at most (those an invite named, the latest first). */
export const MAX_KEPT_RENDEZVOUS = 16;

/** The rendezvous that invite links joined here named: kept, so the rooms' members are met there after a restart. */
export class RendezvousStore {
  readonly #add: Statement;
  readonly #prune: Statement;
  readonly #list: Statement<{ url: string }>;

  constructor(db: Database) {
    this.#add = db.query("INSERT INTO rendezvous (url, added_at) VALUES (?, ?) ON CONFLICT (url) DO UPDATE SET added_at = excluded.added_at");
    this.#prune = db.query(`DELETE FROM rendezvous WHERE url NOT IN (SELECT url FROM rendezvous ORDER BY added_at DESC LIMIT ${MAX_KEPT_RENDEZVOUS})`);
    this.#list = db.query("SELECT url FROM rendezvous ORDER BY added_at DESC");
  }

  add(url: string): void {
    this.#add.run(url, Date.now());
    this.#prune.run();
  }

  list(): string[] {
    return this.#list.all().map((row) => row.url);
  }
}

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
