import type { Database, Statement } from "bun:sqlite";
import type { FileRef } from "../domain/files.ts";

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
  /** Written by a guest of the origin instance (a browser on another machine), not by its owner; absent otherwise. */
  guest?: true;
  /** The files the message carries; absent when none. */
  files?: FileRef[];
}

/** What an author's instance decides about a message, with its signature; the stamp is added by whoever stores it. */
export type NewMessage = Omit<Message, "id" | "timestamp"> & { sig: string; key: string };

export function messageId(origin: string, seq: number, room: string): string {
  return `${origin}:${seq}:${room}`;
}

const COLUMNS = "id, room, origin, seq, peer_id, text, sent_at, stamp AS timestamp, guest, files";

/** A row as a message: `guest` only when set (SQLite has no booleans), `files` parsed and only when there are some. */
function fromRow<T extends { guest?: unknown; files?: unknown }>(row: T): T {
  const { guest, files, ...rest } = row;
  return { ...rest, ...(guest ? { guest: true } : {}), ...(typeof files === "string" ? { files: JSON.parse(files) } : {}) } as T;
}

export class MessageStore {
  #lastStamp: number;
  readonly #insert: Statement;
  readonly #insertRef: Statement;
  readonly #store: (m: NewMessage, stamp: number) => boolean;
  readonly #since: Statement<Message>;
  readonly #before: Statement<Message>;
  readonly #maxSeq: Statement<{ seq: number | null }>;
  readonly #has: Statement<{ one: number }>;
  readonly #after: Statement<NewMessage>;
  readonly #runs: Statement<{ origin: string; first: number; top: number }>;
  /** Per room, per origin: the highest sequence held with none missing before it (loaded per room on first use). */
  readonly #vectors = new Map<string, Map<string, number>>();

  constructor(db: Database) {
    this.#lastStamp = (db.query("SELECT max(stamp) AS s FROM messages").get() as { s: number | null }).s ?? 0;
    this.#insert = db.query(
      "INSERT OR IGNORE INTO messages (stamp, origin, room, seq, peer_id, text, sent_at, guest, sig, key, files) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    );
    this.#insertRef = db.query("INSERT OR IGNORE INTO file_refs (file, room, name, type, size) VALUES (?, ?, ?, ?, ?)");
    // A message and the rooms its files are in are written together, or not at all.
    this.#store = db.transaction((m: NewMessage, stamp: number) => {
      const files = m.files ? JSON.stringify(m.files) : null;
      const result = this.#insert.run(stamp, m.origin, m.room, m.seq, m.peer_id, m.text, m.sent_at, m.guest ? 1 : 0, m.sig, m.key, files);
      if (result.changes === 0) return false;
      for (const f of m.files ?? []) this.#insertRef.run(f.id, m.room, f.name, f.type, f.size);
      return true;
    });
    this.#since = db.query(`SELECT ${COLUMNS} FROM messages WHERE room = ? AND stamp > ? ORDER BY stamp LIMIT ?`);
    this.#before = db.query(
      `SELECT * FROM (SELECT ${COLUMNS} FROM messages WHERE room = ? AND stamp < ? ORDER BY stamp DESC LIMIT ?) ORDER BY timestamp`,
    );
    this.#maxSeq = db.query("SELECT max(seq) AS seq FROM messages WHERE origin = ? AND room = ?");
    this.#has = db.query("SELECT 1 AS one FROM messages WHERE origin = ? AND room = ? AND seq = ?");
    this.#after = db.query(
      "SELECT origin, room, seq, peer_id, text, sent_at, guest, sig, key, files FROM messages WHERE origin = ? AND room = ? AND seq > ? AND sig IS NOT NULL ORDER BY seq LIMIT ?",
    );
    // For each origin of a room: its lowest sequence, and the end of the run that starts there.
    this.#runs = db.query(`
      SELECT o.origin AS origin,
        (SELECT min(seq) FROM messages WHERE origin = o.origin AND room = ?1) AS first,
        (SELECT min(m.seq) FROM messages m WHERE m.origin = o.origin AND m.room = ?1
           AND NOT EXISTS (SELECT 1 FROM messages n WHERE n.origin = m.origin AND n.room = m.room AND n.seq = m.seq + 1)) AS top
      FROM (SELECT DISTINCT origin FROM messages WHERE room = ?1) o`);
  }

  /** The next stamp: the clock in ms, or one past the last stamp when the clock has not moved on (or went back). */
  #nextStamp(): number {
    this.#lastStamp = Math.max(Date.now(), this.#lastStamp + 1);
    return this.#lastStamp;
  }

  /** Stores a message unless one with its (origin, room, seq) is already here; returns it stamped, or null if it was. */
  insert(m: NewMessage): Message | null {
    const stamp = this.#nextStamp();
    if (!this.#store(m, stamp)) return null;
    this.#advance(m.origin, m.room, m.seq);
    const { sig: _sig, key: _key, ...fields } = m;
    return { ...fields, id: messageId(m.origin, m.seq, m.room), timestamp: stamp };
  }

  /** Messages of a room stamped after `since`, oldest first. */
  since(room: string, since: number, limit: number): Message[] {
    return this.#since.all(room, since, limit).map(fromRow);
  }

  /** The `limit` newest messages of a room stamped before `before`, oldest first. */
  before(room: string, before: number, limit: number): Message[] {
    return this.#before.all(room, before, limit).map(fromRow);
  }

  /** The highest sequence number stored from `origin` in `room`, 0 if none. */
  maxSeq(origin: string, room: string): number {
    return this.#maxSeq.get(origin, room)?.seq ?? 0;
  }

  /** Per origin, the highest sequence of `room` held with none missing before it. */
  vector(room: string): Record<string, number> {
    return Object.fromEntries(this.#vectorOf(room));
  }

  /** Up to `limit` messages of `origin` in `room` with a sequence above `after`, in sequence order. */
  after(origin: string, room: string, after: number, limit: number): NewMessage[] {
    return this.#after.all(origin, room, after, limit).map(fromRow);
  }

  #vectorOf(room: string): Map<string, number> {
    let vector = this.#vectors.get(room);
    if (!vector) {
      vector = new Map();
      for (const run of this.#runs.all(room)) vector.set(run.origin, run.first === 1 ? run.top : 0);
      this.#vectors.set(room, vector);
    }
    return vector;
  }

  /** Moves the vector on when `seq` closes the gap after it, past any later messages that were waiting. */
  #advance(origin: string, room: string, seq: number): void {
    const vector = this.#vectors.get(room);
    if (!vector) return;
    let top = vector.get(origin) ?? 0;
    if (seq !== top + 1) {
      if (!vector.has(origin)) vector.set(origin, 0);
      return;
    }
    top = seq;
    while (this.#has.get(origin, room, top + 1)) top++;
    vector.set(origin, top);
  }
}
