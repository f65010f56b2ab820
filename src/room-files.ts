/**
 * The files of rooms' messages as this instance keeps them: uploads stored a chunk at a time within the size limit
 * and the disk's margin, what a reader may download, how much of each file is here and at each member, and the
 * storage side of fetching (the FileReplica that sync/file-sync.ts pulls chunks into), rooms translated from ids.
 */
import { safeFileName, safeFileType, type FileRef, type HeldFile } from "./domain/files.ts";
import { FileTooLargeError } from "./storage/files.ts";
import type { Storage } from "./storage/index.ts";
import type { FileReplica } from "./sync/file-sync.ts";
import { Handlers } from "./util/handlers.ts";
import { memoryValve } from "./util/memory.ts";

/** Bytes the disk keeps free: no upload or fetch takes it below this. */
export const DISK_MARGIN_BYTES = 1024 ** 3;

/** There is not enough disk left to store the file and keep the margin. */
export class DiskFullError extends Error {
  override name = "DiskFullError";
}

/** A file as the message of one room names it. */
function fileRef(id: string, row: { name: string; size: number; type: string }): FileRef {
  return { id, name: row.name, size: row.size, type: row.type };
}

/** An upload's pieces as they come, counted for the memory valve. */
async function* throughValve(stream: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  for await (const piece of stream) {
    memoryValve.moved(piece.byteLength);
    yield piece;
  }
}

export interface RoomFilesInit {
  storage: Storage;
  /** Largest file stored or fetched here (`--max-file-size`). */
  maxFileBytes: number;
  /** Bytes free on the disk that holds the database. @default Infinity */
  freeDiskBytes?: () => number;
  /** A room's name from its id, when joined here. */
  roomName(id: string): string | undefined;
  /** A room's id from its name, when joined here. */
  roomId(name: string): string | undefined;
}

/** A file as a reader downloads it. */
export interface Download {
  ref: FileRef;
  /** Bytes `start` to `end` inclusive, a chunk at a time. */
  read(start: number, end: number): ReadableStream<Uint8Array>;
}

export class RoomFiles {
  readonly maxFileBytes: number;
  readonly #storage: Storage;
  readonly #free: () => number;
  readonly #init: RoomFilesInit;
  readonly #progress = new Handlers<[string, number]>();
  /** Per file, how much of it each member said it holds. */
  readonly #atPeers = new Map<string, Map<string, number>>();

  constructor(init: RoomFilesInit) {
    this.#init = init;
    this.#storage = init.storage;
    this.maxFileBytes = init.maxFileBytes;
    this.#free = init.freeDiskBytes ?? (() => Infinity);
  }

  /**
   * Stores an upload; throws FileTooLargeError past the size limit (nothing is kept), DiskFullError when the disk
   * would be left under its margin, RangeError when it is empty.
   */
  async upload(stream: AsyncIterable<Uint8Array>, name: string | undefined, type: string | undefined): Promise<FileRef> {
    const room = this.#free() - DISK_MARGIN_BYTES;
    if (room <= 0) throw new DiskFullError("the disk is nearly full: no file can be stored");
    const limit = Math.min(this.maxFileBytes, room);
    try {
      const manifest = await this.#storage.files.write(throughValve(stream), limit);
      return { id: manifest.id, name: safeFileName(name), size: manifest.size, type: safeFileType(type) };
    } catch (error) {
      if (error instanceof FileTooLargeError && limit < this.maxFileBytes) throw new DiskFullError("the disk is nearly full: the file does not fit");
      throw error;
    }
  }

  /** Forgets an upload whose message was not posted, unless a message carries it. */
  discard(id: string): void {
    this.#storage.files.discard(id);
  }

  /** Bytes of the file held here. */
  have(id: string): number {
    return this.#storage.files.have(id);
  }

  /** A message's files as readers see them, with the bytes of each held here. */
  held(files: readonly FileRef[]): HeldFile[] {
    return files.map((f) => ({ ...f, have: this.have(f.id) }));
  }

  /** The file as a message of `room` (by name) carries it, if one does. */
  refIn(id: string, room: string): FileRef | undefined {
    const row = this.#storage.files.refs(id).find((r) => r.room === room);
    return row && fileRef(id, row);
  }

  /**
   * The file for a reader of `rooms` (names; null: any room joined here, for the owner), once it is whole here;
   * null when none of those rooms carries it or it is not all here yet.
   */
  download(id: string, rooms: string[] | null): Download | null {
    const row = this.#storage.files.refs(id).find((r) => this.#init.roomId(r.room) !== undefined && (rooms === null || rooms.includes(r.room)));
    if (!row || !this.#storage.files.isComplete(id)) return null;
    return {
      ref: fileRef(id, row),
      read: (start, end) =>
        this.#storage.files.read(id, start, end)!.pipeThrough(
          new TransformStream<Uint8Array, Uint8Array>({
            transform(piece, out) {
              memoryValve.moved(piece.byteLength);
              out.enqueue(piece);
            },
          }),
        ),
    };
  }

  /** Whether a room (by name) carries the file and it is known here, whole or not. */
  inRoom(id: string, room: string): boolean {
    return this.refIn(id, room) !== undefined;
  }

  /** Calls `listener` with (file id, bytes held) whenever a file comes on here or at a member; returns its removal. */
  onProgress(listener: (fileId: string, bytes: number) => void): () => void {
    return this.#progress.add(listener);
  }

  /** How much of a file each member said it holds, by node id. */
  atPeers(id: string): Map<string, number> {
    return this.#atPeers.get(id) ?? new Map();
  }

  /** Bytes of a file held here came on. */
  progressed(id: string, bytes: number): void {
    this.#progress.emit(id, bytes);
  }

  /** A member said how much of a file it holds. */
  peerHas(id: string, nodeId: string, bytes: number): void {
    const at = this.#atPeers.get(id) ?? this.#atPeers.set(id, new Map()).get(id)!;
    at.set(nodeId, bytes);
    if (this.#atPeers.size > 1000) this.#atPeers.delete(this.#atPeers.keys().next().value!);
    this.#progress.emit(id, this.#storage.files.have(id));
  }

  /** The storage side of fetching and serving files, rooms by id. */
  replica(): FileReplica {
    const files = this.#storage.files;
    return {
      wanted: (limit) =>
        files
          .wanted(limit)
          .map((w) => ({ ...w, rooms: w.rooms.flatMap((name) => this.#init.roomId(name) ?? []) }))
          .filter((w) => w.rooms.length > 0),
      carries: (roomId, fileId) => {
        const name = this.#init.roomName(roomId);
        return name !== undefined && this.inRoom(fileId, name);
      },
      manifest: (id) => files.manifest(id),
      register: (m) => files.register(m),
      missing: (id) => files.missing(id),
      putChunk: (m, index, data) => {
        const hash = m.hashes[index];
        return hash === undefined ? Promise.resolve(false) : this.#storage.chunks.put(hash, data);
      },
      chunk: (m, index) => files.chunk(m, index),
      markComplete: (id) => files.markComplete(id),
      have: (id) => files.have(id),
      mayStore: (size, more) => size <= this.maxFileBytes && this.#free() - more > DISK_MARGIN_BYTES,
    };
  }
}
