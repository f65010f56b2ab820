import type { Database, Statement } from "bun:sqlite";

export class RoomStore {
  readonly #join: Statement;
  readonly #list: Statement<{ name: string }>;

  constructor(db: Database) {
    this.#join = db.query("INSERT OR IGNORE INTO rooms (name, joined_at) VALUES (?, ?)");
    this.#list = db.query("SELECT name FROM rooms ORDER BY name");
  }

  /** Records the room as joined; returns true if it was not already. */
  join(room: string): boolean {
    return this.#join.run(room, Date.now()).changes > 0;
  }

  list(): string[] {
    return this.#list.all().map((r) => r.name);
  }
}
