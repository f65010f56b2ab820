import type { Database, Statement } from "bun:sqlite";
import { isSentAt, MAX_SENT_AT, MIN_SENT_AT } from "../domain/dates.ts";
import type { FileRef } from "../domain/files.ts";
import { MAX_ROOM_AUTHORS } from "../domain/authors.ts";
import { RoomAuthors } from "./authors.ts";
import { messageHash, Vectors } from "./vectors.ts";
import { personIdOf } from "../domain/persons.ts";
import { COLUMNS, fromRow, MessageDateError, messageId, type Author, type Message, type NewMessage, type Received, type SearchHit, UNREAD_CAP } from "./message-rows.ts";

/** How long a page's send nonce is kept: a retry comes within minutes; a day covers a laptop that slept. */
const NONCE_KEEP_MS = 24 * 60 * 60 * 1000;

/** The messages table: writes (once by origin, room and sequence), reads, search, vectors and authors per room. */
export class MessageStore {
  #lastStamp: number;
  readonly #insert: Statement;
  readonly #insertRef: Statement;
  readonly #put: (m: NewMessage, stamp: number, introducer: string, nonce?: string) => Put;
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
  readonly #after: Statement<NewMessage>;
  readonly #signedSince: Statement<NewMessage & { timestamp: number }>;
  readonly #heldHash: Statement<{ hash: Uint8Array | null }>;
  readonly #wrote: Statement<{ one: number }>;
  readonly #devicesOf: Statement<{ origin: string }>;
  readonly #seqUpTo: Statement<{ seq: number | null }>;
  /** Per room, per origin: the highest sequence held with none missing before it, and the digest of those. */
  readonly #vectors: Vectors;
  readonly #places: RoomAuthors;
  readonly #dropAuthor: (room: string, origin: string) => string[];
  readonly #uncarried: (room: string, files: string[]) => string[];

  /** `self`: this instance's node id, whose place in a room is never taken; `maxAuthors`: places per room. */
  constructor(db: Database, { self, maxAuthors = MAX_ROOM_AUTHORS }: { self: string; maxAuthors?: number }) {
    this.#lastStamp = (db.query("SELECT max(stamp) AS s FROM messages").get() as { s: number | null }).s ?? 0;
    this.#vectors = new Vectors(db);
    this.#places = new RoomAuthors(db, self, maxAuthors);
    hashUnhashed(db);
    this.#insert = db.query(
      "INSERT OR IGNORE INTO messages (stamp, origin, room, seq, peer_id, text, sent_at, guest, sig, key, files, hash, person, person_cert) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    );
    this.#insertRef = db.query("INSERT OR IGNORE INTO file_refs (file, room, name, type, size) VALUES (?, ?, ?, ?, ?)");
    const insertSend = db.query("INSERT INTO sends (nonce, stamp, at) VALUES (?, ?, ?)");
    const heldAt = db.query<{ stamp: number; hash: Uint8Array | null; files: string | null }, [string, string, number]>(
      "SELECT stamp, hash, files FROM messages WHERE origin = ? AND room = ? AND seq = ?",
    );
    const flag = db.query("INSERT OR IGNORE INTO conflicting_authors (room, origin, seq, at) VALUES (?, ?, ?, ?)");
    const flagged = db.query<{ one: number }, [string, string]>("SELECT 1 AS one FROM conflicting_authors WHERE room = ? AND origin = ?");
    // An external-content index forgets a row only when told its text: before the row goes.
    const unindex = db.query(
      "INSERT INTO messages_text (messages_text, rowid, text) SELECT 'delete', stamp, text FROM messages WHERE stamp = ? AND stamp <= (SELECT indexed_upto FROM search_state)",
    );
    const dropStamp = db.query("DELETE FROM messages WHERE stamp = ?");
    const write = (m: NewMessage, stamp: number, hash: Buffer) => {
      const files = m.files ? JSON.stringify(m.files) : null;
      const person = m.person ? [personIdOf(m.person.key), JSON.stringify({ key: m.person.key, at: m.person.at, sig: m.person.sig })] : [null, null];
      this.#insert.run(stamp, m.origin, m.room, m.seq, m.peer_id, m.text, m.sent_at, m.guest ? 1 : 0, m.sig, m.key, files, hash, ...person);
      for (const f of m.files ?? []) this.#insertRef.run(f.id, m.room, f.name, f.type, f.size);
    };
    // A message, the rooms its files are in and its author's place are written together, or not at all.
    this.#put = db.transaction((m: NewMessage, stamp: number, introducer: string, nonce?: string): Put => {
      const hash = messageHash(m.sig);
      const held = heldAt.get(m.origin, m.room, m.seq);
      if (held) {
        if (held.hash === null || hash.equals(held.hash)) return { kind: "held" };
        // Two messages its author signed with one sequence: it is flagged, and everywhere the lower hash stays.
        flag.run(m.room, m.origin, m.seq, Date.now());
        if (Buffer.compare(held.hash, hash) < 0) return { kind: "lost" };
        unindex.run(held.stamp);
        dropStamp.run(held.stamp);
        write(m, stamp, hash);
        const files = this.#uncarried(m.room, fileIds(held.files));
        return { kind: "won", replaced: held.stamp, was: held.hash, hash, files };
      }
      const admission = this.#places.admit(m.room, m.origin, m.seq, introducer, (origin) => this.maxSeq(origin, m.room));
      if (admission.kind === "passed") return { kind: "passed" };
      const evicted = admission.evicted && { origin: admission.evicted.origin, files: this.#dropAuthor(m.room, admission.evicted.origin) };
      write(m, stamp, hash);
      if (nonce !== undefined) insertSend.run(nonce, stamp, Date.now());
      return { kind: "new", evicted, conflicting: flagged.get(m.room, m.origin) !== null };
    });
    const authorFiles = db.query<{ files: string | null }, [string, string]>("SELECT files FROM messages WHERE room = ? AND origin = ? AND files IS NOT NULL");
    const unindexAuthor = db.query(
      "INSERT INTO messages_text (messages_text, rowid, text) SELECT 'delete', stamp, text FROM messages WHERE room = ? AND origin = ? AND stamp <= (SELECT indexed_upto FROM search_state)",
    );
    const dropAuthorMessages = db.query("DELETE FROM messages WHERE room = ? AND origin = ?");
    const carried = db.query<{ one: number }, [string, string]>("SELECT 1 AS one FROM messages WHERE room = ? AND files IS NOT NULL AND instr(files, ?) > 0 LIMIT 1");
    const dropRef = db.query("DELETE FROM file_refs WHERE file = ? AND room = ?");
    // The room's references to files that no message of it carries any more go; answers those files.
    this.#uncarried = (room, files) => {
      const freed = [...new Set(files)].filter((file) => !carried.get(room, `"${file}"`));
      for (const file of freed) dropRef.run(file, room);
      return freed;
    };
    // An evicted author's messages go, with the room's references to files no other message of it carries.
    this.#dropAuthor = (room, origin) => {
      const files = authorFiles.all(room, origin).flatMap((r) => fileIds(r.files));
      unindexAuthor.run(room, origin);
      dropAuthorMessages.run(room, origin);
      return this.#uncarried(room, files);
    };
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
    const dropAuthors = db.query("DELETE FROM room_authors WHERE room = ?");
    const dropEvicted = db.query("DELETE FROM evicted_authors WHERE room = ?");
    const dropConflicts = db.query("DELETE FROM conflicting_authors WHERE room = ?");
    // The room's messages, their place in the index and its file references go together; the files are the caller's
    // to discard (FileStore).
    this.#dropRoom = db.transaction((room: string) => {
      const files = roomFiles.all(room).map((r) => r.file);
      dropRefs.run(room);
      dropIndexed.run(room);
      dropMessages.run(room);
      dropAuthors.run(room);
      dropEvicted.run(room);
      dropConflicts.run(room);
      return files;
    });
    this.#since = db.query(`SELECT ${COLUMNS} FROM messages WHERE room = ? AND stamp > ? ORDER BY stamp LIMIT ?`);
    this.#before = db.query(
      `SELECT * FROM (SELECT ${COLUMNS} FROM messages WHERE room = ? AND stamp < ? ORDER BY stamp DESC LIMIT ?) ORDER BY timestamp`,
    );
    this.#maxSeq = db.query("SELECT max(seq) AS seq FROM messages WHERE origin = ? AND room = ?");
    this.#signedSince = db.query(
      `SELECT origin, room, seq, peer_id, text, sent_at, guest, sig, key, files, person_cert, stamp AS timestamp FROM messages
       WHERE room = ? AND stamp > ? AND sig IS NOT NULL AND sent_at BETWEEN ${MIN_SENT_AT} AND ${MAX_SENT_AT} ORDER BY stamp LIMIT ?`,
    );
    this.#devicesOf = db.query("SELECT DISTINCT origin FROM messages WHERE person = ? LIMIT 64");
    this.#wrote = db.query("SELECT 1 AS one FROM messages WHERE origin = ? LIMIT 1");
    this.#heldHash = db.query("SELECT hash FROM messages WHERE origin = ? AND room = ? AND seq = ?");
    this.#seqUpTo = db.query("SELECT max(seq) AS seq FROM messages WHERE room = ? AND origin = ? AND stamp <= ?");
    this.#after = db.query(
      // A date from before the bound (an older build stored it) is never sent on: members would refuse it.
      `SELECT origin, room, seq, peer_id, text, sent_at, guest, sig, key, files, person_cert FROM messages
       WHERE origin = ? AND room = ? AND seq > ? AND sig IS NOT NULL AND sent_at BETWEEN ${MIN_SENT_AT} AND ${MAX_SENT_AT} ORDER BY seq LIMIT ?`,
    );
  }

  /** The next stamp: the clock in ms, or one past the last stamp when the clock has not moved on (or went back). */
  #nextStamp(): number {
    this.#lastStamp = Math.max(Date.now(), this.#lastStamp + 1);
    return this.#lastStamp;
  }

  /**
   * Stores a message authored here unless one with its (origin, room, seq) is already here; returns it stamped, or
   * null if it was. `nonce`: the page's name for this send, kept a day so that a retry finds it (`sentWith`).
   */
  insert(m: NewMessage, nonce?: string): Message | null {
    const received = this.receive(m, m.origin, nonce);
    return received.kind === "new" ? received.message : null;
  }

  /**
   * Stores a message `introducer` (the linked peer that sent it) brought, unless its (origin, room, seq) holds it
   * already: where another message its author signed is there, the lower hash stays (see `Received`).
   */
  receive(m: NewMessage, introducer: string, nonce?: string): Received {
    if (!isSentAt(m.sent_at)) throw new MessageDateError(`a message dated ${m.sent_at} is outside ${MIN_SENT_AT}..${MAX_SENT_AT}`);
    const stamp = this.#nextStamp();
    let put: Put;
    try {
      put = this.#put(m, stamp, introducer, nonce);
    } catch (err) {
      this.#places.forget(m.room); // rolled back: its counts are read again
      throw err;
    }
    const { sig: _sig, key: _key, person: cert, ...fields } = m;
    const message: Message = { ...fields, person: cert ? personIdOf(cert.key) : m.origin, id: messageId(m.origin, m.seq, m.room), timestamp: stamp };
    switch (put.kind) {
      case "new":
        if (nonce !== undefined && stamp % 64 === 0) this.#pruneSends.run(Date.now() - NONCE_KEEP_MS);
        if (put.evicted) this.#vectors.dropped(m.room, put.evicted.origin);
        this.#vectors.stored(m.origin, m.room, m.seq);
        return { kind: "new", message: put.conflicting ? { ...message, conflicting: true } : message, evicted: put.evicted };
      case "won":
        this.#vectors.replaced(m.origin, m.room, m.seq, put.was, put.hash);
        return { kind: "won", message: { ...message, conflicting: true }, replaced: put.replaced, files: put.files };
      default:
        return put;
    }
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
    this.#vectors.forget(room);
    this.#places.forget(room);
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

  /** The devices (origins) whose stored messages carry `person`, at most 64. */
  devicesOf(person: string): string[] {
    return this.#devicesOf.all(person).map((row) => row.origin);
  }

  /** Whether any message of `origin` is stored, in any room. */
  wrote(origin: string): boolean {
    return this.#wrote.get(origin) !== null;
  }

  /** The highest sequence number stored from `origin` in `room`, 0 if none. */
  maxSeq(origin: string, room: string): number {
    return this.#maxSeq.get(origin, room)?.seq ?? 0;
  }

  /** Per origin, the highest sequence of `room` held with none missing before it. */
  vector(room: string): Record<string, number> {
    return Object.fromEntries([...this.#vectors.of(room)].map(([origin, run]) => [origin, run.top]));
  }

  /** Per origin of `room` held from sequence 1, the digest (base64url) of what is held up to its vector's sequence. */
  digests(room: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [origin, run] of this.#vectors.of(room)) if (run.top > 0) out[origin] = run.digest.toString("base64url");
    return out;
  }

  /**
   * Whether this very message (its author's signature) is stored here already: `receive` would store nothing, so a
   * copy that comes again need not have its signature checked.
   */
  holds(m: Pick<NewMessage, "origin" | "room" | "seq" | "sig">): boolean {
    const hash = this.#heldHash.get(m.origin, m.room, m.seq)?.hash;
    return hash !== undefined && hash !== null && messageHash(m.sig).equals(hash);
  }

  /** Up to `limit` signed messages of `room` stamped after `since`, in the order they came here, each with its stamp. */
  signedSince(room: string, since: number, limit: number): (NewMessage & { timestamp: number })[] {
    return this.#signedSince.all(room, since, limit).map(fromRow);
  }

  /** The highest sequence of `origin` in `room` among the messages stamped up to `stamp`; 0 if none. */
  seqUpTo(room: string, origin: string, stamp: number): number {
    return this.#seqUpTo.get(room, origin, stamp)?.seq ?? 0;
  }

  /** Up to `limit` messages of `origin` in `room` with a sequence above `after`, in sequence order. */
  after(origin: string, room: string, after: number, limit: number): NewMessage[] {
    return this.#after.all(origin, room, after, limit).map(fromRow);
  }
}

/** What the transaction of `receive` did, before the caller's bookkeeping. */
type Put =
  | { kind: "new"; evicted?: { origin: string; files: string[] }; conflicting: boolean }
  | { kind: "won"; replaced: number; was: Uint8Array; hash: Buffer; files: string[] }
  | { kind: "held" | "lost" | "passed" };

/** The ids of the files a stored message carries (its `files` column). */
function fileIds(files: string | null): string[] {
  return files === null ? [] : (JSON.parse(files) as FileRef[]).map((f) => f.id);
}

/** Hashes, once, the messages stored before messages had hashes. */
function hashUnhashed(db: Database): void {
  const rows = db.query<{ stamp: number; sig: string }, []>("SELECT stamp, sig FROM messages WHERE hash IS NULL AND sig IS NOT NULL").all();
  if (rows.length === 0) return;
  const set = db.query("UPDATE messages SET hash = ? WHERE stamp = ?");
  db.transaction(() => {
    for (const row of rows) set.run(messageHash(row.sig), row.stamp);
  })();
}
