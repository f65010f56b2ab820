import type { Database, Statement } from "bun:sqlite";
import { createHash } from "node:crypto";

/** A guest id as stored: its hash, so the database holds no browser's cookie. */
const stored = (guest: string) => createHash("sha256").update(guest).digest("base64url").slice(0, 22);

/**
 * Which guest (a browser, by the random id its cookie holds) wrote which message here. Only this instance knows it:
 * nothing of it is signed or replicated. A guest's own messages are told by it, never by the name it typed.
 */
export class GuestStore {
  readonly #add: Statement;
  readonly #of: Statement<{ guest: string }>;

  constructor(db: Database) {
    this.#add = db.query("INSERT OR REPLACE INTO guest_messages (stamp, room, guest) VALUES (?, ?, ?)");
    this.#of = db.query("SELECT guest FROM guest_messages WHERE stamp = ?");
  }

  /** Notes that the guest `guest` wrote the message stamped `stamp` in `room`. */
  wrote(stamp: number, room: string, guest: string): void {
    this.#add.run(stamp, room, stored(guest));
  }

  /** Whether the guest `guest` wrote the message stamped `stamp` here. */
  isAuthor(stamp: number, guest: string): boolean {
    return this.#of.get(stamp)?.guest === stored(guest);
  }
}
