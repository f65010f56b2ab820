import type { Database, Statement } from "bun:sqlite";

/**
 * A member's place at each mailbox it uses, per room (by id): how far it read the room's items there (the mailbox's
 * stamps), and how far it pushed what it holds (its own message stamps). Kept, so a restart neither reads nor pushes
 * anything twice.
 */
export class MailboxMarks {
  readonly #get: Statement<{ read: number; pushed: number }>;
  readonly #read: Statement;
  readonly #pushed: Statement;
  readonly #pushedIn: Statement<{ pushed: number | null }>;

  constructor(db: Database) {
    this.#get = db.query("SELECT read, pushed FROM mailbox_marks WHERE mailbox = ? AND room = ?");
    this.#read = db.query("INSERT INTO mailbox_marks (mailbox, room, read) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET read = excluded.read");
    this.#pushed = db.query("INSERT INTO mailbox_marks (mailbox, room, pushed) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET pushed = excluded.pushed");
    this.#pushedIn = db.query("SELECT max(pushed) AS pushed FROM mailbox_marks WHERE room = ?");
  }

  of(mailbox: string, room: string): { read: number; pushed: number } {
    return this.#get.get(mailbox, room) ?? { read: 0, pushed: 0 };
  }

  setRead(mailbox: string, room: string, stamp: number): void {
    this.#read.run(mailbox, room, stamp);
  }

  setPushed(mailbox: string, room: string, stamp: number): void {
    this.#pushed.run(mailbox, room, stamp);
  }

  /** The stamp up to which some mailbox holds everything of the room held here; 0 when none. */
  pushedIn(room: string): number {
    return this.#pushedIn.get(room)?.pushed ?? 0;
  }
}
