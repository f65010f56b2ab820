import type { Database, Statement } from "bun:sqlite";
import { isSentAt, MAX_SENT_AT, MIN_SENT_AT } from "../domain/dates.ts";
import type { FileRef } from "../domain/files.ts";

/** A message whose date no member accepts (src/domain/dates.ts): it is never stored. */
export class MessageDateError extends Error {
  override name = "MessageDateError";
}

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

/** How long a page's send nonce is kept: a retry comes within minutes; a day covers a laptop that slept. */
const NONCE_KEEP_MS = 24 * 60 * 60 * 1000;

/** One search hit: the message, and its text with the matches between `\u0001` and `\u0002` (for the view to mark). */
export interface SearchHit {
  message: Message;
  marked: string;
}

/** Someone who wrote in a room: their name, where (origin, and whether a guest there), and when last. */
export interface Author {
  peer_id: string;
  origin: string;
  guest: boolean;
  last: number;
}

/** Most unread messages counted in a room (the page shows "99+" well before). */
export const UNREAD_CAP = 1000;

/** A row as a message: `guest` only when set (SQLite has no booleans), `files` parsed and only when there are some. */
function fromRow<T extends { guest?: unknown; files?: unknown }>(row: T): T {
  const { guest, files, ...rest } = row;
  return { ...rest, ...(guest ? { guest: true } : {}), ...(typeof files === "string" ? { files: JSON.parse(files) } : {}) } as T;
}

export class MessageStore {
  #lastStamp: number;
  readonly #insert: Statement;
  readonly #insertRef: Statement;
  readonly #store: (m: NewMessage, stamp: number, nonce?: string) => boolean;
  readonly #sent: Statement<Message>;
  readonly #pruneSends: Statement;
  readonly #unread: Statement<{ n: number }>;
  readonly #latest: Statement<Message>;
  readonly #search: Statement<Message & { marked: string }>;
  /** Adds the messages stamped since the last search to the search index, in one transaction. */
  readonly #index: () => void;
  readonly #authors: Statement<{ peer_id: string; origin: string; guest: number; last: number }>;
  readonly #dropRoom: (room: string) => string[];
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
    const insertSend = db.query("INSERT INTO sends (nonce, stamp, at) VALUES (?, ?, ?)");
    this.#store = db.transaction((m: NewMessage, stamp: number, nonce?: string) => {
      const files = m.files ? JSON.stringify(m.files) : null;
      const result = this.#insert.run(stamp, m.origin, m.room, m.seq, m.peer_id, m.text, m.sent_at, m.guest ? 1 : 0, m.sig, m.key, files);
      if (result.changes === 0) return false;
      for (const f of m.files ?? []) this.#insertRef.run(f.id, m.room, f.name, f.type, f.size);
      if (nonce !== undefined) insertSend.run(nonce, stamp, Date.now());
      return true;
    });
    this.#sent = db.query(`SELECT ${COLUMNS} FROM messages WHERE stamp = (SELECT stamp FROM sends WHERE nonce = ?)`);
    this.#pruneSends = db.query("DELETE FROM sends WHERE at < ?");
    this.#unread = db.query(
      `SELECT count(*) AS n FROM (SELECT 1 FROM messages WHERE room = ? AND stamp > ? AND NOT (origin = ? AND guest = 0) LIMIT ${UNREAD_CAP})`,
    );
    this.#latest = db.query(`SELECT ${COLUMNS} FROM messages WHERE room = ? ORDER BY stamp DESC LIMIT 1`);
    // Newest first; each match in the text between \x01 and \x02 (a text holding those itself is only marked wrongly).
    this.#search = db.query(
      `SELECT ${COLUMNS}, marked FROM messages
       JOIN (SELECT rowid AS hit, highlight(messages_text, 0, char(1), char(2)) AS marked FROM messages_text WHERE messages_text MATCH ?) ON stamp = hit
       WHERE room = ? ORDER BY stamp DESC LIMIT ?`,
    );
    this.#authors = db.query(
      `SELECT peer_id, origin, guest, max(stamp) AS last FROM (SELECT peer_id, origin, guest, stamp FROM messages WHERE room = ? ORDER BY stamp DESC LIMIT 2000)
       GROUP BY peer_id, origin, guest ORDER BY last DESC LIMIT ?`,
    );
    const indexed = db.query<{ upto: number }, []>("SELECT indexed_upto AS upto FROM search_state");
    const addToIndex = db.query("INSERT INTO messages_text (rowid, text) SELECT stamp, text FROM messages WHERE stamp > ?");
    const setIndexed = db.query("UPDATE search_state SET indexed_upto = ?");
    this.#index = db.transaction(() => {
      const upto = indexed.get()?.upto ?? 0;
      if (this.#lastStamp <= upto) return;
      addToIndex.run(upto);
      setIndexed.run(this.#lastStamp);
    });
    const roomFiles = db.query<{ file: string }, [string]>("SELECT file FROM file_refs WHERE room = ?");
    const dropRefs = db.query("DELETE FROM file_refs WHERE room = ?");
    // An external-content index forgets a row only when told its text: before the row goes.
    const dropIndexed = db.query(
      "INSERT INTO messages_text (messages_text, rowid, text) SELECT 'delete', stamp, text FROM messages WHERE room = ? AND stamp <= (SELECT indexed_upto FROM search_state)",
    );
    const dropMessages = db.query("DELETE FROM messages WHERE room = ?");
    // The room's messages, their place in the index and its file references go together; the files are the caller's
    // to discard (FileStore).
    this.#dropRoom = db.transaction((room: string) => {
      const files = roomFiles.all(room).map((r) => r.file);
      dropRefs.run(room);
      dropIndexed.run(room);
      dropMessages.run(room);
      return files;
    });
    this.#since = db.query(`SELECT ${COLUMNS} FROM messages WHERE room = ? AND stamp > ? ORDER BY stamp LIMIT ?`);
    this.#before = db.query(
      `SELECT * FROM (SELECT ${COLUMNS} FROM messages WHERE room = ? AND stamp < ? ORDER BY stamp DESC LIMIT ?) ORDER BY timestamp`,
    );
    this.#maxSeq = db.query("SELECT max(seq) AS seq FROM messages WHERE origin = ? AND room = ?");
    this.#has = db.query("SELECT 1 AS one FROM messages WHERE origin = ? AND room = ? AND seq = ?");
    this.#after = db.query(
      // A date from before the bound (an older build stored it) is never sent on: members would refuse it.
      `SELECT origin, room, seq, peer_id, text, sent_at, guest, sig, key, files FROM messages
       WHERE origin = ? AND room = ? AND seq > ? AND sig IS NOT NULL AND sent_at BETWEEN ${MIN_SENT_AT} AND ${MAX_SENT_AT} ORDER BY seq LIMIT ?`,
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

  /**
   * Stores a message unless one with its (origin, room, seq) is already here; returns it stamped, or null if it was.
   * `nonce`: the page's name for this send, kept a day so that a retry finds it (`sentWith`).
   */
  insert(m: NewMessage, nonce?: string): Message | null {
    if (!isSentAt(m.sent_at)) throw new MessageDateError(`a message dated ${m.sent_at} is outside ${MIN_SENT_AT}..${MAX_SENT_AT}`);
    const stamp = this.#nextStamp();
    if (!this.#store(m, stamp, nonce)) return null;
    if (nonce !== undefined && stamp % 64 === 0) this.#pruneSends.run(Date.now() - NONCE_KEEP_MS);
    this.#advance(m.origin, m.room, m.seq);
    const { sig: _sig, key: _key, ...fields } = m;
    return { ...fields, id: messageId(m.origin, m.seq, m.room), timestamp: stamp };
  }

  /** The message a page's send with `nonce` stored, if it did (and less than a day ago). */
  sentWith(nonce: string): Message | null {
    const row = this.#sent.get(nonce);
    return row ? fromRow(row) : null;
  }

  /** Messages of `room` after stamp `after` not written by `self`'s owner (up to UNREAD_CAP). */
  unread(room: string, after: number, self: string): number {
    return this.#unread.get(room, after, self)?.n ?? 0;
  }

  /** The room's newest message. */
  latest(room: string): Message | null {
    const row = this.#latest.get(room);
    return row ? fromRow(row) : null;
  }

  /** Up to `limit` messages of `room` matching the FTS5 query `match`, newest first. */
  search(room: string, match: string, limit: number): SearchHit[] {
    this.#index();
    return this.#search.all(match, room, limit).map(({ marked, ...row }) => ({ message: fromRow(row), marked }));
  }

  /** Who wrote among the room's last 2000 messages, the latest first. */
  authors(room: string, limit: number): Author[] {
    return this.#authors.all(room, limit).map((a) => ({ ...a, guest: a.guest === 1 }));
  }

  /** Deletes the room's messages and file references; answers the files they referred to. */
  dropRoom(room: string): string[] {
    const files = this.#dropRoom(room);
    this.#vectors.delete(room);
    return files;
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
