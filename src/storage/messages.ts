import type { Database, Statement } from "bun:sqlite";

/** A chat message as stored and as the API shows it; `timestamp` is the local stamp. */
export interface Message {
  id: string;
  room: string;
  origin: string;
  seq: number;
  peer_id: string;
  text: string;
  sent_at: number;
  timestamp: number;
}

/** What an author's instance decides about a message; the stamp is added by whoever stores it. */
export type NewMessage = Omit<Message, "id" | "timestamp">;

export function messageId(origin: string, seq: number, room: string): string {
  return `${origin}:${seq}:${room}`;
}

const COLUMNS = "id, room, origin, seq, peer_id, text, sent_at, stamp AS timestamp";

export class MessageStore {
  #lastStamp: number;
  readonly #insert: Statement;
  readonly #since: Statement<Message>;
  readonly #before: Statement<Message>;
  readonly #maxSeq: Statement<{ seq: number | null }>;

  constructor(db: Database) {
    this.#lastStamp = (db.query("SELECT max(stamp) AS s FROM messages").get() as { s: number | null }).s ?? 0;
    this.#insert = db.query(
      "INSERT OR IGNORE INTO messages (stamp, origin, room, seq, peer_id, text, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
    );
    this.#since = db.query(`SELECT ${COLUMNS} FROM messages WHERE room = ? AND stamp > ? ORDER BY stamp LIMIT ?`);
    this.#before = db.query(
      `SELECT * FROM (SELECT ${COLUMNS} FROM messages WHERE room = ? AND stamp < ? ORDER BY stamp DESC LIMIT ?) ORDER BY timestamp`,
    );
    this.#maxSeq = db.query("SELECT max(seq) AS seq FROM messages WHERE origin = ? AND room = ?");
  }

  /** The next stamp: the clock in ms, or one past the last stamp when the clock has not moved on (or went back). */
  #nextStamp(): number {
    this.#lastStamp = Math.max(Date.now(), this.#lastStamp + 1);
    return this.#lastStamp;
  }

  /** Stores a message unless one with its (origin, room, seq) is already here; returns it stamped, or null if it was. */
  insert(m: NewMessage): Message | null {
    const stamp = this.#nextStamp();
    const result = this.#insert.run(stamp, m.origin, m.room, m.seq, m.peer_id, m.text, m.sent_at);
    if (result.changes === 0) return null;
    return { ...m, id: messageId(m.origin, m.seq, m.room), timestamp: stamp };
  }

  /** Messages of a room stamped after `since`, oldest first. */
  since(room: string, since: number, limit: number): Message[] {
    return this.#since.all(room, since, limit);
  }

  /** The `limit` newest messages of a room stamped before `before`, oldest first. */
  before(room: string, before: number, limit: number): Message[] {
    return this.#before.all(room, before, limit);
  }

  /** The highest sequence number stored from `origin` in `room`, 0 if none. */
  maxSeq(origin: string, room: string): number {
    return this.#maxSeq.get(origin, room)?.seq ?? 0;
  }
}
