import type { Database, Statement } from "bun:sqlite";
import { CHUNK_BYTES, chunkCount } from "./files.ts";

/** How a file's bytes stand in one room: none came through it, some did (its manifest and the chunks listed), all did. */
export type RoomHold = "none" | "partial" | "complete";

/**
 * Which rooms a file's bytes reached this instance through (tables file_rooms, file_room_chunks). Chunks are kept once
 * whichever file or room brought them, but a file is served, and listed as here, only in a room it came through (or
 * was uploaded to here): a member who names a file's id in another room, or builds a file of its own from the hashes
 * of chunks another room brought, must make this instance fetch every byte of it through its room first.
 */
export class FileRooms {
  readonly #hold: Statement<{ complete: number }>;
  readonly #open: Statement;
  readonly #complete: Statement;
  readonly #dropChunks: Statement;
  readonly #credit: Statement;
  readonly #received: Statement<{ idx: number }>;
  readonly #hasChunk: Statement<{ one: number }>;
  readonly #receivedBytes: Statement<{ n: number; last: number }>;
  readonly #size: Statement<{ size: number }>;
  readonly #forgetRoomOf: (room: string) => void;
  readonly #forgetFile: (file: string, room: string | null) => void;
  readonly #completeIn: (file: string, room: string) => void;
  readonly #creditAll: (file: string, rooms: readonly string[], idx: number) => void;

  constructor(db: Database) {
    this.#hold = db.query("SELECT complete FROM file_rooms WHERE file = ? AND room = ?");
    this.#open = db.query("INSERT OR IGNORE INTO file_rooms (file, room, complete) VALUES (?, ?, 0)");
    this.#complete = db.query("INSERT INTO file_rooms (file, room, complete) VALUES (?, ?, 1) ON CONFLICT (file, room) DO UPDATE SET complete = 1");
    this.#dropChunks = db.query("DELETE FROM file_room_chunks WHERE file = ? AND room = ?");
    this.#credit = db.query("INSERT OR IGNORE INTO file_room_chunks (file, room, idx) VALUES (?, ?, ?)");
    // A chunk counts once it is stored too: one credited but lost (a cancelled fetch dropped it) is fetched again.
    this.#received = db.query(
      "SELECT r.idx AS idx FROM file_room_chunks r JOIN file_chunks f ON f.file = r.file AND f.idx = r.idx WHERE r.file = ? AND r.room = ? AND EXISTS (SELECT 1 FROM chunks c WHERE c.hash = f.hash)",
    );
    this.#hasChunk = db.query(
      "SELECT 1 AS one FROM file_room_chunks r JOIN file_chunks f ON f.file = r.file AND f.idx = r.idx WHERE r.file = ? AND r.room = ? AND r.idx = ? AND EXISTS (SELECT 1 FROM chunks c WHERE c.hash = f.hash)",
    );
    this.#receivedBytes = db.query(
      `SELECT count(*) AS n, coalesce(max(r.idx = (SELECT max(idx) FROM file_chunks WHERE file = r.file)), 0) AS last FROM file_room_chunks r
       JOIN file_chunks f ON f.file = r.file AND f.idx = r.idx WHERE r.file = ? AND r.room = ? AND EXISTS (SELECT 1 FROM chunks c WHERE c.hash = f.hash)`,
    );
    this.#size = db.query("SELECT size FROM files WHERE id = ?");
    const dropRoom = db.query("DELETE FROM file_rooms WHERE room = ?");
    const dropRoomChunks = db.query("DELETE FROM file_room_chunks WHERE room = ?");
    this.#forgetRoomOf = db.transaction((room: string) => {
      dropRoom.run(room);
      dropRoomChunks.run(room);
    });
    const dropFile = db.query("DELETE FROM file_rooms WHERE file = ?");
    const dropFileChunks = db.query("DELETE FROM file_room_chunks WHERE file = ?");
    const dropFileIn = db.query("DELETE FROM file_rooms WHERE file = ? AND room = ?");
    this.#forgetFile = db.transaction((file: string, room: string | null) => {
      if (room === null) {
        dropFile.run(file);
        dropFileChunks.run(file);
      } else {
        dropFileIn.run(file, room);
        this.#dropChunks.run(file, room);
      }
    });
    this.#completeIn = db.transaction((file: string, room: string) => {
      this.#complete.run(file, room);
      this.#dropChunks.run(file, room);
    });
    this.#creditAll = db.transaction((file: string, rooms: readonly string[], idx: number) => {
      for (const room of rooms) this.#credit.run(file, room, idx);
    });
  }

  /** How the file's bytes stand in `room` (by name). */
  hold(file: string, room: string): RoomHold {
    const row = this.#hold.get(file, room);
    return row === null ? "none" : row.complete === 1 ? "complete" : "partial";
  }

  /** The file's manifest came through `room`: its chunks may come (and be served there) one by one. */
  open(file: string, room: string): void {
    this.#open.run(file, room);
  }

  /** Every byte of the file came through `room`, or was uploaded to it here. */
  complete(file: string, room: string): void {
    this.#completeIn(file, room);
  }

  /** Chunk `idx` of the file came through each of `rooms`; the caller stores the chunk in the same transaction. */
  credit(file: string, rooms: readonly string[], idx: number): void {
    this.#creditAll(file, rooms, idx);
  }

  /** Indexes of the file's chunks that have not come through `room` (all of them for a file whose manifest is unknown). */
  missing(file: string, room: string, chunks: number): number[] {
    if (this.hold(file, room) === "complete") return [];
    const got = new Set(this.#received.all(file, room).map((r) => r.idx));
    const out: number[] = [];
    for (let i = 0; i < chunks; i++) if (!got.has(i)) out.push(i);
    return out;
  }

  /** Whether chunk `idx` of the file came through `room` and is here, so a member of the room may have it. */
  servable(file: string, room: string, idx: number): boolean {
    const hold = this.hold(file, room);
    return hold === "complete" || (hold === "partial" && this.#hasChunk.get(file, room, idx) !== null);
  }

  /** Bytes of the file that came through `room` and are here. */
  bytes(file: string, room: string): number {
    const size = this.#size.get(file)?.size;
    if (size === undefined) return 0;
    if (this.hold(file, room) === "complete") return size;
    const { n, last } = this.#receivedBytes.get(file, room) ?? { n: 0, last: 0 };
    if (n === 0) return 0;
    // Every chunk is CHUNK_BYTES long but the last.
    const lastBytes = size - (chunkCount(size) - 1) * CHUNK_BYTES;
    return last ? (n - 1) * CHUNK_BYTES + lastBytes : n * CHUNK_BYTES;
  }

  /**
   * Whether every byte of the file came through `room`: marked so, or every chunk credited and stored, as when the
   * chunk worker stored the last a moment before fetching marks it (so a file is readable once `bytes` says it is all here).
   */
  whole(file: string, room: string): boolean {
    if (this.hold(file, room) === "complete") return true;
    const size = this.#size.get(file)?.size;
    return size !== undefined && (this.#receivedBytes.get(file, room)?.n ?? 0) === chunkCount(size);
  }


  /** Forgets what came through a room (its history was deleted here): a room of that name joined later is another. */
  forgetRoom(room: string): void {
    this.#forgetRoomOf(room);
  }

  /** Forgets the file in `room`, or in every room (null): a fetch cancelled, an upload whose message was not posted. */
  forget(file: string, room: string | null): void {
    this.#forgetFile(file, room);
  }
}
