import type { Database, Statement } from "bun:sqlite";
import { createHash } from "node:crypto";

/** Bytes per chunk: every chunk of a file is this long but its last. */
export const CHUNK_BYTES = 256 * 1024;

/** A file as every instance knows it: its id is the SHA-256 over its chunks' hashes, in order. */
export interface FileManifest {
  id: string;
  size: number;
  /** Each chunk's SHA-256, hex, in order. */
  hashes: string[];
}

/** A room's message carries the file under this name and type. */
export interface FileRefRow {
  room: string;
  name: string;
  type: string;
  size: number;
}

/** A file some joined room's message carries that has not come whole through that room yet. */
export interface WantedFile {
  id: string;
  /** The smallest size the messages give it, or the manifest's once that is known here. */
  size: number;
  /** The rooms (by name) whose messages carry it and that it has not come whole through. */
  rooms: string[];
  /** Whether a message gives it an image type. */
  image: boolean;
  /** The owner's choice: fetch it whatever its size (true), or not (false: a fetch cancelled); null when none. */
  choice: boolean | null;
}

/** Where a chunk stored came through: the file it is chunk `idx` of, and the rooms (by name) whose members sent it. */
export interface ChunkCredit {
  file: string;
  rooms: readonly string[];
  idx: number;
}

/** A file larger than allowed; nothing of it is kept. */
export class FileTooLargeError extends Error {
  override name = "FileTooLargeError";
}

const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest();

/** Whether `data` is the chunk whose SHA-256 is `hash` (hex). */
export const chunkMatches = (hash: string, data: Uint8Array) => sha256(data).toString("hex") === hash;

/** The id of a file with these chunk hashes. */
export function fileIdOf(hashes: readonly string[]): string {
  const all = createHash("sha256");
  for (const hash of hashes) all.update(Buffer.from(hash, "hex"));
  return all.digest("hex");
}

/** Chunks a file of `size` bytes has. */
export const chunkCount = (size: number) => Math.ceil(size / CHUNK_BYTES);

/** Why a manifest cannot be a file's (its id, size and hashes must agree), or null. */
export function manifestProblem(m: FileManifest): string | null {
  if (!Number.isSafeInteger(m.size) || m.size < 1) return "its size is not a positive whole number";
  if (m.hashes.length !== chunkCount(m.size)) return `a file of ${m.size} bytes has ${chunkCount(m.size)} chunks, not ${m.hashes.length}`;
  if (!m.hashes.every((h) => /^[0-9a-f]{64}$/.test(h))) return "a chunk hash is not 64 hex digits";
  if (fileIdOf(m.hashes) !== m.id) return "its id is not the hash of its chunk hashes";
  return null;
}

/**
 * Files in `chat.db`, cut into chunks stored as they come (from an upload, or from peers in any order); a chunk is
 * kept once by its hash, so identical files and chunks take the space of one. Nothing here holds a whole file in
 * memory: writes and reads go a chunk at a time.
 */
export class FileStore {
  readonly #putChunk: Statement;
  readonly #chunk: Statement<{ data: Uint8Array }>;
  readonly #putFile: Statement;
  readonly #putFileChunk: Statement;
  readonly #file: Statement<{ size: number }>;
  readonly #hashes: Statement<{ hash: Uint8Array; held: number }>;
  readonly #held: Statement<{ bytes: number | null }>;
  readonly #dropOrphans: Statement;
  readonly #complete: Statement;
  readonly #isComplete: Statement<{ complete: number }>;
  readonly #refs: Statement<FileRefRow>;
  readonly #wanted: Statement<{ id: string; size: number; rooms: string; image: number; choice: number | null }>;
  readonly #setSize: Statement;
  readonly #credit: Statement;
  readonly #storeCredited: (hash: string, data: Uint8Array, credit: ChunkCredit) => void;

  constructor(private readonly db: Database) {
    this.#putChunk = db.query("INSERT OR IGNORE INTO chunks (hash, data) VALUES (?, ?)");
    this.#chunk = db.query("SELECT data FROM chunks WHERE hash = ?");
    this.#putFile = db.query("INSERT OR IGNORE INTO files (id, size) VALUES (?, ?)");
    this.#putFileChunk = db.query("INSERT OR IGNORE INTO file_chunks (file, idx, hash) VALUES (?, ?, ?)");
    this.#file = db.query("SELECT size FROM files WHERE id = ?");
    this.#hashes = db.query(
      "SELECT f.hash AS hash, EXISTS (SELECT 1 FROM chunks c WHERE c.hash = f.hash) AS held FROM file_chunks f WHERE f.file = ? ORDER BY f.idx",
    );
    this.#held = db.query("SELECT sum(length(c.data)) AS bytes FROM file_chunks f JOIN chunks c ON c.hash = f.hash WHERE f.file = ?");
    this.#dropOrphans = db.query("DELETE FROM chunks WHERE hash = ? AND NOT EXISTS (SELECT 1 FROM file_chunks WHERE hash = ?)");
    // The size of a file whole here is what its chunks add up to, whatever a manifest or a message said.
    this.#complete = db.query(
      "UPDATE files SET complete = 1, size = coalesce((SELECT sum(length(c.data)) FROM file_chunks f JOIN chunks c ON c.hash = f.hash WHERE f.file = files.id), size) WHERE id = ?",
    );
    this.#setSize = db.query("UPDATE files SET size = ? WHERE id = ?");
    this.#credit = db.query("INSERT OR IGNORE INTO file_room_chunks (file, room, idx) VALUES (?, ?, ?)");
    this.#storeCredited = db.transaction((hash: string, data: Uint8Array, credit: ChunkCredit) => {
      this.#putChunk.run(Buffer.from(hash, "hex"), data);
      for (const room of credit.rooms) this.#credit.run(credit.file, room, credit.idx);
    });
    this.#isComplete = db.query("SELECT complete FROM files WHERE id = ?");
    this.#refs = db.query("SELECT room, name, type, size FROM file_refs WHERE file = ? ORDER BY room");
    // In the order of their ids, from past `after`: whoever calls pages through them all, turn by turn.
    this.#wanted = db.query(`
      SELECT r.file AS id, coalesce((SELECT size FROM files WHERE id = r.file), min(r.size)) AS size,
        group_concat(r.room, char(31)) AS rooms, max(r.type LIKE 'image/%') AS image,
        (SELECT wanted FROM file_choices WHERE file = r.file) AS choice
      FROM file_refs r
      WHERE r.file > ? AND NOT EXISTS (SELECT 1 FROM file_rooms h WHERE h.file = r.file AND h.room = r.room AND h.complete = 1)
      GROUP BY r.file ORDER BY r.file LIMIT ?`);
  }

  /**
   * Stores a file from a stream, a chunk at a time, and answers its manifest. Past `maxBytes` it stops reading,
   * removes what it stored and throws FileTooLargeError. An empty stream throws RangeError.
   */
  async write(stream: AsyncIterable<Uint8Array>, maxBytes: number): Promise<FileManifest> {
    const hashes: Buffer[] = [];
    const buffer = new Uint8Array(CHUNK_BYTES);
    let filled = 0;
    let size = 0;
    const flush = () => {
      const data = buffer.slice(0, filled);
      const hash = sha256(data);
      this.#putChunk.run(hash, data);
      hashes.push(hash);
      filled = 0;
    };
    try {
      for await (const part of stream) {
        size += part.byteLength;
        if (size > maxBytes) throw new FileTooLargeError(`the file is over the ${maxBytes}-byte limit`);
        for (let at = 0; at < part.byteLength; ) {
          const take = Math.min(CHUNK_BYTES - filled, part.byteLength - at);
          buffer.set(part.subarray(at, at + take), filled);
          filled += take;
          at += take;
          if (filled === CHUNK_BYTES) flush();
        }
      }
      if (filled > 0) flush();
      if (size === 0) throw new RangeError("the file is empty");
    } catch (error) {
      this.#forget(hashes);
      throw error;
    }
    const manifest = { id: fileIdOf(hashes.map((h) => h.toString("hex"))), size, hashes: hashes.map((h) => h.toString("hex")) };
    this.register(manifest);
    // Counted here from the bytes themselves: it corrects whatever size a peer's manifest gave the file before.
    this.#setSize.run(size, manifest.id);
    this.#complete.run(manifest.id);
    return manifest;
  }

  /** Records a file's manifest (checked by the caller with `manifestProblem`), before or after its chunks come. */
  register(m: FileManifest): void {
    this.db.transaction(() => {
      this.#putFile.run(m.id, m.size);
      m.hashes.forEach((hash, idx) => this.#putFileChunk.run(m.id, idx, Buffer.from(hash, "hex")));
    })();
  }

  /** The manifest of a file known here, or null. */
  manifest(id: string): FileManifest | null {
    const file = this.#file.get(id);
    if (!file) return null;
    return { id, size: file.size, hashes: this.#hashes.all(id).map((r) => Buffer.from(r.hash).toString("hex")) };
  }

  /** Bytes of the file held here (0 for a file not known). */
  have(id: string): number {
    if (this.#isComplete.get(id)?.complete === 1) return this.#file.get(id)!.size;
    return this.#held.get(id)?.bytes ?? 0;
  }

  /**
   * Whether every chunk of the file is here: marked so (`markComplete`), or found so before the mark, as when the last
   * chunk was stored by another connection (storage/chunk-writer.ts) a moment before fetching marks the file whole. So
   * a file is readable as soon as `have` says all of it is here.
   */
  isComplete(id: string): boolean {
    const row = this.#isComplete.get(id);
    return row !== null && (row.complete === 1 || this.missing(id).length === 0);
  }

  /** Records that every chunk of a file is here, and its size as they add up; call when `missing` is empty. */
  markComplete(id: string): void {
    this.#complete.run(id);
  }

  /** The rooms whose messages carry the file, with the name and type each gave it. */
  refs(id: string): FileRefRow[] {
    return this.#refs.all(id);
  }

  /**
   * Up to `limit` files, their ids past `after`, that messages carry and that have not come whole through each of
   * those messages' rooms, with those rooms.
   */
  wanted(after: string, limit: number): WantedFile[] {
    return this.#wanted.all(after, limit).map((r) => ({
      id: r.id,
      size: r.size,
      rooms: r.rooms.split("\u001f"),
      image: r.image === 1,
      choice: r.choice === null ? null : r.choice === 1,
    }));
  }

  /** Indexes of the chunks of a known file not held here yet, in order. */
  missing(id: string): number[] {
    const out: number[] = [];
    this.#hashes.all(id).forEach((row, idx) => row.held || out.push(idx));
    return out;
  }

  /** Stores chunk `index` of a known file if its hash is the manifest's; false (nothing stored) otherwise. */
  putChunk(m: FileManifest, index: number, data: Uint8Array): boolean {
    const expected = m.hashes[index];
    if (expected === undefined || !chunkMatches(expected, data)) return false;
    this.storeChunk(expected, data);
    return true;
  }

  /**
   * Stores a chunk under its hash (hex), which the caller has checked (`chunkMatches`); with `credit`, records in the
   * same transaction the rooms it came through (storage/file-rooms.ts).
   */
  storeChunk(hash: string, data: Uint8Array, credit?: ChunkCredit): void {
    if (credit) this.#storeCredited(hash, data, credit);
    else this.#putChunk.run(Buffer.from(hash, "hex"), data);
  }

  /** Chunk `index` of a file, or null when it is not held here. */
  chunk(m: FileManifest, index: number): Uint8Array | null {
    const hash = m.hashes[index];
    return hash === undefined ? null : (this.#chunk.get(Buffer.from(hash, "hex"))?.data ?? null);
  }

  /**
   * Bytes `start` to `end` (inclusive) of a file held whole here, as a stream that reads one chunk at a time.
   * Null when the file is unknown or not complete.
   */
  read(id: string, start = 0, end?: number): ReadableStream<Uint8Array> | null {
    const m = this.manifest(id);
    if (!m || !this.isComplete(id)) return null;
    // What its chunks add up to: a manifest's size is only its sender's word until the file is marked whole.
    const size = this.have(id);
    const last = Math.min(end ?? size - 1, size - 1);
    let index = Math.floor(start / CHUNK_BYTES);
    return new ReadableStream<Uint8Array>({
      pull: (controller) => {
        const from = index * CHUNK_BYTES;
        if (from > last) return controller.close();
        const data = this.chunk(m, index++);
        if (!data) return controller.error(new Error(`chunk ${index - 1} of ${id} is gone`));
        controller.enqueue(data.subarray(Math.max(0, start - from), Math.min(data.byteLength, last - from + 1)));
      },
    });
  }

  /** Forgets a file that no message carries (an upload whose message was refused), with the chunks only it used. */
  discard(id: string): void {
    this.db.transaction(() => {
      if (this.db.query("SELECT 1 FROM file_refs WHERE file = ?").get(id)) return;
      const hashes = this.#hashes.all(id).map((r) => Buffer.from(r.hash));
      this.db.query("DELETE FROM file_chunks WHERE file = ?").run(id);
      this.db.query("DELETE FROM files WHERE id = ?").run(id);
      this.db.query("DELETE FROM file_rooms WHERE file = ?").run(id);
      this.db.query("DELETE FROM file_room_chunks WHERE file = ?").run(id);
      this.#forget(hashes);
    })();
  }

  /**
   * Drops the chunks stored so far of a file not whole here (a fetch cancelled) that no other file uses; its manifest
   * stays, so it can be fetched again later.
   */
  dropPartial(id: string): void {
    this.db.transaction(() => {
      if (this.#isComplete.get(id)?.complete === 1) return;
      this.db
        .query("DELETE FROM chunks WHERE hash IN (SELECT hash FROM file_chunks WHERE file = ?1) AND NOT EXISTS (SELECT 1 FROM file_chunks o WHERE o.hash = chunks.hash AND o.file != ?1)")
        .run(id);
      this.db.query("DELETE FROM file_room_chunks WHERE file = ?").run(id);
      this.db.query("DELETE FROM file_rooms WHERE file = ? AND complete = 0").run(id);
    })();
  }

  /** Removes chunks stored for a write that failed, unless another file uses them. */
  #forget(hashes: Buffer[]): void {
    for (const hash of hashes) this.#dropOrphans.run(hash, hash);
  }
}
