import type { Database, Statement } from "bun:sqlite";

/** Rendezvous kept at most, each for one room (those an invite named, the latest first). */
export const MAX_KEPT_RENDEZVOUS = 64;

/** A rendezvous an invite named, and the room (by id) it is used for: that invite's. */
export interface KeptRendezvous {
  url: string;
  room: string;
}

/** The rendezvous that invite links joined here named, each for its invite's room: kept, so its members are met there after a restart. */
export class RendezvousStore {
  readonly #add: Statement;
  readonly #prune: Statement;
  readonly #list: Statement<{ url: string; room_id: string }>;

  constructor(db: Database) {
    this.#add = db.query(
      "INSERT INTO rendezvous (url, room_id, added_at) VALUES (?, ?, ?) ON CONFLICT (url, room_id) DO UPDATE SET added_at = excluded.added_at",
    );
    this.#prune = db.query(
      `DELETE FROM rendezvous WHERE (url, room_id) NOT IN (SELECT url, room_id FROM rendezvous ORDER BY added_at DESC LIMIT ${MAX_KEPT_RENDEZVOUS})`,
    );
    this.#list = db.query("SELECT url, room_id FROM rendezvous ORDER BY added_at DESC");
  }

  add({ url, room }: KeptRendezvous): void {
    this.#add.run(url, room, Date.now());
    this.#prune.run();
  }

  list(): KeptRendezvous[] {
    return this.#list.all().map((row) => ({ url: row.url, room: row.room_id }));
  }
}
