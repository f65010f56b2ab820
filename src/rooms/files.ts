/**
 * The files of rooms' messages as this instance keeps them: uploads stored a chunk at a time within the size limit
 * and the disk's margin, which room a file came through (only there is it served and listed as here), what a reader
 * may download, how much of each file is here and at each member and how fast it comes, the owner's settings and
 * choices (what is fetched by itself, fetch and cancel), guests' quotas, and the storage side of fetching (the
 * FileReplica that sync/file-sync.ts pulls chunks into), rooms translated from ids.
 */
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { DEFAULT_FILE_SETTINGS, fetchesByItself, FileSettings, isImageType, type FileFetch, safeFileName, safeFileType, type FileRef, type HeldFile } from "../domain/files.ts";
import { FileSpeeds } from "./file-speed.ts";
import { GuestQuota } from "./guest-quota.ts";
import { FileRooms } from "../storage/file-rooms.ts";
import { FileSettingsStore } from "../storage/file-settings.ts";
import { FileTooLargeError } from "../storage/files.ts";
import type { Storage } from "../storage/index.ts";
import type { FileReplica } from "../sync/file-sync.ts";
import { Handlers } from "../util/handlers.ts";
import { memoryValve } from "../util/memory.ts";

/** Bytes the disk keeps free: no upload or fetch takes it below this. */
export const DISK_MARGIN_BYTES = 1024 ** 3;

const checkSettings = TypeCompiler.Compile(FileSettings);

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
  /** As the room's message names it, with the size its bytes add up to. */
  ref: FileRef;
  /** Bytes `start` to `end` inclusive, a chunk at a time. */
  read(start: number, end: number): ReadableStream<Uint8Array>;
}

export class RoomFiles {
  readonly maxFileBytes: number;
  readonly #storage: Storage;
  readonly #rooms: FileRooms;
  readonly #settings: FileSettingsStore;
  readonly quota: GuestQuota;
  readonly #free: () => number;
  readonly #init: RoomFilesInit;
  readonly #progress = new Handlers<[string, number]>();
  /** When each file's state last changed here (the latest few hundred), for streams that open after. */
  readonly #changed = new Map<string, number>();
  readonly #choices = new Handlers<[string | null, boolean]>();
  /** Per file, how much of it each member said it holds. */
  readonly #atPeers = new Map<string, Map<string, number>>();
  /** Files being fetched now, or waiting for a member that has them (as file-sync.ts tells). */
  readonly #status = new Map<string, "fetching" | "waiting">();
  readonly #speeds = new FileSpeeds();
  /** Files whose fetch the owner cancelled since start: a chunk stored after (it was on its way) is dropped too. */
  readonly #cancelled = new Set<string>();

  constructor(init: RoomFilesInit) {
    this.#init = init;
    this.#storage = init.storage;
    this.#rooms = new FileRooms(init.storage.db);
    this.#settings = new FileSettingsStore(init.storage.db);
    this.quota = new GuestQuota(this.#settings, () => this.settings());
    this.maxFileBytes = init.maxFileBytes;
    this.#free = init.freeDiskBytes ?? (() => Infinity);
  }

  /**
   * Stores an upload to `room` (by name); throws FileTooLargeError past the size limit (nothing is kept), DiskFullError
   * when the disk would be left under its margin, RangeError when it is empty. The file is whole in that room.
   */
  async upload(stream: AsyncIterable<Uint8Array>, name: string | undefined, type: string | undefined, room: string): Promise<FileRef> {
    const free = this.#free() - DISK_MARGIN_BYTES;
    if (free <= 0) throw new DiskFullError("the disk is nearly full: no file can be stored");
    const limit = Math.min(this.maxFileBytes, free);
    try {
      const manifest = await this.#storage.files.write(throughValve(stream), limit);
      this.#rooms.complete(manifest.id, room);
      return { id: manifest.id, name: safeFileName(name), size: manifest.size, type: safeFileType(type) };
    } catch (error) {
      if (error instanceof FileTooLargeError && limit < this.maxFileBytes) throw new DiskFullError("the disk is nearly full: the file does not fit");
      throw error;
    }
  }

  /** Forgets an upload to `room` whose message was not posted: in that room unless a message there carries it, and whole unless any does. */
  discard(id: string, room?: string): void {
    if (room !== undefined && !this.inRoom(id, room)) this.#rooms.forget(id, room);
    this.#storage.files.discard(id);
  }

  /** A room's history was deleted here: what came through it is forgotten (a room of that name later is another). */
  forgetRoom(room: string): void {
    this.#rooms.forgetRoom(room);
  }

  /** Bytes of the file that came through `room` (by name): what its readers may have of it. */
  have(id: string, room: string): number {
    return this.#rooms.bytes(id, room);
  }

  /**
   * A message's files as readers of its room see them: the bytes of each here for that room, and once whole there the
   * size its bytes add up to (a message may have said another).
   */
  held(files: readonly FileRef[], room: string): HeldFile[] {
    return files.map((f) => {
      const have = this.have(f.id, room);
      const whole = this.#rooms.whole(f.id, room);
      return { ...f, size: whole ? have : f.size, have };
    });
  }

  /** Where the file stands for the readers of `room` (by name). */
  fetchState(ref: FileRef, room: string): FileFetch {
    if (this.#rooms.whole(ref.id, room)) return { kind: "whole" };
    const status = this.#status.get(ref.id);
    if (status === "fetching") return { kind: "coming", rate: this.#speeds.rate(ref.id) };
    return this.#fetches(ref.id, ref.size, isImageType(ref.type)) ? { kind: "waiting" } : { kind: "offered" };
  }

  /** The size a file's manifest gives (what a download would be), when known here; else what the message says. */
  sizeOf(ref: FileRef): number {
    return this.#storage.files.manifest(ref.id)?.size ?? ref.size;
  }

  /** The file as a message of `room` (by name) carries it, if one does. */
  refIn(id: string, room: string): FileRef | undefined {
    const row = this.#storage.files.refs(id).find((r) => r.room === room);
    return row && fileRef(id, row);
  }

  /**
   * The file for a reader of `rooms` (names; null: any room joined here, for the owner), once it is whole in one of
   * them; null when none of those rooms carries it or it has not come whole through one.
   */
  download(id: string, rooms: string[] | null): Download | null {
    const row = this.#storage.files
      .refs(id)
      .find((r) => this.#init.roomId(r.room) !== undefined && (rooms === null || rooms.includes(r.room)) && this.#rooms.whole(id, r.room));
    if (!row || !this.#storage.files.isComplete(id)) return null;
    const size = this.#storage.files.have(id);
    return {
      // Its size as its bytes add up (storage/files.ts), whatever the message said: a lie there never cuts it short.
      ref: { ...fileRef(id, row), size },
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

  /** Files whose state changed here since `since` (ms). */
  changedSince(since: number): string[] {
    return [...this.#changed].filter(([, at]) => at >= since).map(([id]) => id);
  }

  /** A file's state changed: its listeners hear it, and streams that open soon after too. */
  #emit(id: string, bytes: number): void {
    this.#changed.delete(id);
    this.#changed.set(id, Date.now());
    if (this.#changed.size > 256) this.#changed.delete(this.#changed.keys().next().value!);
    this.#progress.emit(id, bytes);
  }

  /** How much of a file each member said it holds, by node id. */
  atPeers(id: string): Map<string, number> {
    return this.#atPeers.get(id) ?? new Map();
  }

  /** Bytes of a file held here came on. */
  progressed(id: string, bytes: number): void {
    this.#speeds.note(id, bytes);
    this.#emit(id, bytes);
  }

  /** A member said how much of a file it holds. */
  peerHas(id: string, nodeId: string, bytes: number): void {
    const at = this.#atPeers.get(id) ?? this.#atPeers.set(id, new Map()).get(id)!;
    at.set(nodeId, bytes);
    if (this.#atPeers.size > 1000) this.#atPeers.delete(this.#atPeers.keys().next().value!);
    this.#emit(id, this.#storage.files.have(id));
  }

  // ---- the owner's say ----

  /** What is fetched by itself, and guests' quotas. */
  settings(): FileSettings {
    const stored = this.#settings.settings();
    const merged = { ...DEFAULT_FILE_SETTINGS, ...(typeof stored === "object" && stored !== null ? stored : {}) };
    return checkSettings.Check(merged) ? merged : DEFAULT_FILE_SETTINGS;
  }

  /** Changes the settings; files they now bring are fetched, files they no longer bring are left as they are. */
  updateSettings(settings: FileSettings): void {
    this.#settings.update(settings);
    this.#choices.emit(null, true);
  }

  /** The owner asks for a file to be fetched, whatever its size. */
  fetch(id: string): void {
    this.#cancelled.delete(id);
    this.#settings.choose(id, true);
    this.#choices.emit(id, true);
    this.#emit(id, this.#storage.files.have(id));
  }

  /**
   * The owner cancels a file's fetch: it stops, what came of it is dropped (never marked whole), and it is fetched
   * again only on the owner's asking.
   */
  cancel(id: string): void {
    this.#settings.choose(id, false);
    this.#cancelled.add(id);
    this.#choices.emit(id, false);
    this.#status.delete(id);
    this.#storage.files.dropPartial(id);
    this.#speeds.forget(id);
    this.#emit(id, 0);
  }

  /** Whether the file is to be fetched: the owner's choice, else the settings (by size and kind). */
  #fetches(id: string, size: number, image: boolean): boolean {
    return this.#settings.choice(id) ?? fetchesByItself(this.settings(), { size, image });
  }

  /** The storage side of fetching and serving files, rooms by id. */
  replica(): FileReplica {
    const files = this.#storage.files;
    const name = (roomId: string) => this.#init.roomName(roomId);
    const inRoom = <T>(roomId: string, fallback: T, use: (room: string) => T): T => {
      const room = name(roomId);
      return room === undefined ? fallback : use(room);
    };
    return {
      wanted: (after, limit) => {
        const page = files.wanted(after, limit);
        const settings = this.settings();
        const wanted = page
          .map((w) => ({ ...w, rooms: w.rooms.flatMap((room) => this.#init.roomId(room) ?? []) }))
          .filter((w) => w.rooms.length > 0 && (w.choice ?? fetchesByItself(settings, w)));
        return { files: wanted.map(({ id, size, rooms }) => ({ id, size, rooms })), next: page.length < limit ? null : page.at(-1)!.id };
      },
      carries: (roomId, fileId) => inRoom(roomId, false, (room) => this.inRoom(fileId, room)),
      manifest: (id) => files.manifest(id),
      register: (m) => files.register(m),
      hold: (id, roomId) => inRoom(roomId, "none", (room) => this.#rooms.hold(id, room)),
      open: (id, roomId) => inRoom(roomId, undefined, (room) => this.#rooms.open(id, room)),
      missing: (id, roomId) => inRoom(roomId, [], (room) => this.#rooms.missing(id, room, files.manifest(id)?.hashes.length ?? 0)),
      putChunk: (m, index, data, roomIds) => {
        const hash = m.hashes[index];
        const rooms = roomIds.flatMap((id) => name(id) ?? []);
        if (hash === undefined) return Promise.resolve(false);
        return this.#storage.chunks.put(hash, data, { file: m.id, rooms, idx: index }).then((stored) => {
          if (this.#cancelled.has(m.id)) files.dropPartial(m.id);
          return stored;
        });
      },
      servable: (id, roomId, index) =>
        inRoom(roomId, false, (room) => (index === null ? this.#rooms.hold(id, room) !== "none" : this.#rooms.servable(id, room, index))),
      chunk: (m, index) => files.chunk(m, index),
      complete: (id, roomId) =>
        inRoom(roomId, undefined, (room) => {
          this.#rooms.complete(id, room);
          if (files.missing(id).length === 0) files.markComplete(id);
          this.#speeds.forget(id);
        }),
      have: (id, roomId) => inRoom(roomId, 0, (room) => this.#rooms.bytes(id, room)),
      mayStore: (size, more) => size <= this.maxFileBytes && this.#free() - more > DISK_MARGIN_BYTES,
      fetches: (id, size) => this.#fetches(id, size, files.refs(id).some((r) => isImageType(r.type))),
      onChoice: (listener) => this.#choices.add(listener),
      status: (id, status) => {
        if (status === null) this.#status.delete(id);
        else this.#status.set(id, status);
        this.#emit(id, files.have(id));
      },
    };
  }
}
