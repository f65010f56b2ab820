/**
 * One file being fetched through one room: its members are asked, and what comes is the file's in that room. A
 * transfer has three phases: `manifest` (its chunk hashes are asked of one member at a time, checked against the file's
 * id: the size a message gave is only its author's word), `chunks` (those that have not come through the room are
 * asked of its linked members, each within its window, the last one first: it proves the manifest's size) and
 * `storing` (every chunk came, the last are being stored). Each chunk is checked against the manifest and stored as it
 * comes (beside the main thread: storage/chunk-writer.ts), with the rooms it came through. A member that sends a chunk
 * failing its hash, or a manifest whose size its last chunk belies, is not asked again for this file, and is counted
 * against. The fetcher (fetch.ts) decides which files have a transfer; a transfer tells it when it ends.
 */
import { CHUNK_BYTES, chunkCount, fileIdOf, type FileManifest } from "../../storage/files.ts";
import { memoryValve } from "../../util/memory.ts";
import type { Frame, ManifestFrame } from "../frames.ts";
import type { FileSyncInit } from "./ports.ts";
import { ChunkRequests, MANIFEST } from "./requests.ts";
import type { Sources } from "./sources.ts";

export type Phase = "manifest" | "chunks" | "storing";

/**
 * How a transfer ends: the file `waits` (nobody served it), is put off a moment because its sources are `busy` with
 * other lookups, is `skipped` (it may not or cannot be stored here), is `parked` (its manifest came through the room,
 * its chunks wait for a place), or is `whole`.
 */
export type TransferEnd = "waits" | "busy" | "skipped" | "parked" | "whole";

/** What a transfer needs of the fetcher that runs it, and what it tells it. */
export interface TransferHost extends Pick<FileSyncInit, "replica" | "members" | "peerRooms"> {
  /** Each member's window, silence and turn, across files. */
  readonly sources: Sources;
  send(peer: string, frame: Frame): boolean;
  log(line: string): void;
  /** Bytes of the file held here changed. */
  progress(fileId: string, bytes: number): void;
  /** Whether `t` is still its file's transfer (it did not end meanwhile). */
  runs(t: Transfer): boolean;
  /** Manifest requests each peer has unanswered, over all transfers. */
  lookups(): Map<string, number>;
  /** Whether a place is free among the files whose chunks are fetched. */
  hasPlace(): boolean;
  /** The transfer ends (`why`, for the log); the next files are taken on only at `next`. */
  ended(t: Transfer, end: TransferEnd, why?: string): void;
  /** Takes on the next wanted files. */
  next(): void;
  /** The peer sent what fails its check: it is counted against, and what it had is asked elsewhere. */
  bad(peer: string, why: string): void;
}

/** Manifest requests one member has unanswered at once: a member that never answers holds no more lookups. */
const LOOKUPS_PER_PEER = 4;
/** A manifest not sent in this time is asked of another member (one that never answers is a member that lacks it). */
const MANIFEST_TIMEOUT_MS = 5000;
/** A chunk request not answered in this time is asked again, of another member first. */
const REQUEST_TIMEOUT_MS = 15_000;
/** A transfer that stored no chunk for this long yields its place to the next file, and waits. */
const STALL_MS = 30_000;
/** How often members hear how much of a file is here while it comes. */
const HAVE_EVERY_MS = 500;

export class Transfer {
  readonly id: string;
  /** The rooms (ids) that want the file; chunks from a member of several count for each. */
  readonly rooms: string[];
  /** The room it is fetched through. */
  readonly room: string;
  readonly #host: TransferHost;
  #size: number;
  #held: number;
  /** Known once it came through `room`. */
  #manifest: FileManifest | null = null;
  /** Who sent the manifest with the size used: its last chunk proves that size, or that this peer lied. */
  #manifestFrom: string | null = null;
  #manifestAsked: { peer: string; at: number } | null = null;
  readonly #chunks = new ChunkRequests();
  /** Peers that sent a bad chunk or manifest: never asked again for this file. */
  readonly #bad = new Set<string>();
  #haveSentAt = 0;
  /** When a chunk last came, or the chunks were first asked for. */
  #movedAt = Date.now();

  constructor(host: TransferHost, file: { id: string; size: number; rooms: string[] }, room: string) {
    this.#host = host;
    this.id = file.id;
    this.#size = file.size;
    this.rooms = file.rooms;
    this.room = room;
    this.#held = host.replica.have(file.id, room);
  }

  get phase(): Phase {
    if (!this.#manifest) return "manifest";
    return this.#chunks.todo > 0 || this.#chunks.inFlight > 0 ? "chunks" : "storing";
  }

  get size(): number {
    return this.#size;
  }

  get held(): number {
    return this.#held;
  }

  /** The member asked for the manifest now, if any. */
  get lookingUp(): string | null {
    return this.#manifestAsked?.peer ?? null;
  }

  /** Members asked for chunks now. */
  get peers(): number {
    return this.#chunks.peers;
  }

  /** Starts with the manifest when it came through the room already, else by asking for it. */
  start(manifest: FileManifest | null): void {
    if (manifest) this.#begin(manifest);
    else this.pump();
  }

  /** The peer's link changed or went: what was asked of it may be lost with the old link, so it is to do again. */
  peerChanged(peer: string): void {
    this.#chunks.dropPeer(peer);
    if (this.#manifestAsked?.peer === peer) this.#manifestAsked = null;
  }

  /** Asks again what went unanswered (of other members first), yields when no chunk came for long, or asks for more. */
  tick(now: number): void {
    for (const peer of this.#chunks.expire(now, REQUEST_TIMEOUT_MS)) this.#host.sources.unanswered(peer, now);
    if (this.#manifestAsked && now - this.#manifestAsked.at > MANIFEST_TIMEOUT_MS) {
      this.#chunks.lack(this.#manifestAsked.peer, MANIFEST, now);
      this.#host.sources.hushed(this.#manifestAsked.peer, now);
      this.#manifestAsked = null;
    }
    if (this.phase !== "manifest" && now - this.#movedAt > STALL_MS) return this.#yield(`no chunk came for ${STALL_MS / 1000} s`);
    this.pump();
  }

  /** Asks for the manifest, or fills each source's window with chunks not yet asked for. */
  pump(): void {
    if (!this.#host.runs(this)) return;
    const now = Date.now();
    // Linked members of the room not known bad for the file, in the order they are asked (sources.ts).
    const sources = this.#host.sources.order(this.#host.members(this.room).filter((p) => !this.#bad.has(p)));
    if (this.phase === "manifest") return this.#lookUp(sources, now);
    const busy = this.#chunks.busy();
    for (const peer of sources) {
      if (this.#chunks.todo === 0) return;
      const free = this.#host.sources.window(peer) - (busy.get(peer) ?? 0);
      if (free <= 0) continue;
      const asked = this.#chunks.pick(peer, free, now);
      if (asked.length === 0) continue;
      // A link that is going cannot take the request: the chunks stay to do, for the other sources or a later pump.
      if (this.#ask(peer, asked)) this.#chunks.asked(peer, asked, now);
    }
    if (sources.length === 0 && this.#chunks.inFlight === 0 && this.#chunks.storing === 0) this.#yield("no member of its room is linked");
  }

  /** Asks a member that has not lacked it for the manifest, unless one is asked already. */
  #lookUp(sources: string[], now: number): void {
    if (this.#manifestAsked) return;
    // A member answers a few manifest requests at a time: one that never answers holds only that many lookups.
    const asked = this.#host.lookups();
    const willing = sources.filter((p) => !this.#chunks.lacks(p, MANIFEST, now));
    if (willing.length === 0) return this.#yield(sources.length === 0 ? "no member of its room is linked" : "no member of its room sent its manifest");
    const peer = willing.find((p) => (asked.get(p) ?? 0) < LOOKUPS_PER_PEER);
    // Those that may have it are busy with other lookups: its turn comes again in a moment, with no wait counted.
    if (!peer) return this.#host.ended(this, "busy");
    if (this.#ask(peer, [])) this.#manifestAsked = { peer, at: now };
  }

  manifestCame(from: string, frame: ManifestFrame, binary: Uint8Array): void {
    if (this.#manifest || this.#manifestAsked?.peer !== from) return;
    this.#manifestAsked = null;
    const hashes: string[] = [];
    for (let at = 0; at + 32 <= binary.byteLength; at += 32) hashes.push(Buffer.from(binary.subarray(at, at + 32)).toString("hex"));
    const problem =
      binary.byteLength !== 32 * chunkCount(frame.size)
        ? "its chunk hashes do not match its size"
        : fileIdOf(hashes) !== this.id
          ? "its chunk hashes are not the file's"
          : null;
    if (problem) return this.#isBad(from, `a manifest of file ${this.id}: ${problem}`);
    const { replica } = this.#host;
    const known = replica.manifest(this.id);
    if (!known) replica.register({ id: this.id, size: frame.size, hashes });
    const manifest = known ?? { id: this.id, size: frame.size, hashes };
    // The size a message gave is only its author's word: the manifest's (its chunk count, then its last chunk) decides.
    if (!replica.mayStore(manifest.size, manifest.size - replica.have(this.id, this.room)) || !replica.fetches(this.id, manifest.size)) {
      const why = `not fetching file ${this.id} (${manifest.size} bytes by its manifest): over the size limit, the disk's margin or what is fetched by itself`;
      this.#host.ended(this, "skipped", why);
      this.#host.progress(this.id, this.#held);
      return this.#host.next();
    }
    replica.open(this.id, this.room);
    this.#manifestFrom = frame.size === manifest.size ? from : null;
    // Its chunks wait for a place among the files being fetched; the manifest came through the room, and stays.
    if (!this.#host.hasPlace()) return this.#host.ended(this, "parked");
    this.#begin(manifest);
  }

  /** The manifest came through the room: the chunks that did not, the last one first (it proves the size). */
  #begin(manifest: FileManifest): void {
    this.#manifest = manifest;
    this.#size = manifest.size;
    this.#movedAt = Date.now();
    const missing = this.#host.replica.missing(this.id, this.room);
    const last = manifest.hashes.length - 1;
    this.#chunks.reset(missing.includes(last) ? [last, ...missing.filter((i) => i !== last)] : missing);
    this.#held = this.#host.replica.have(this.id, this.room);
    if (this.#chunks.todo === 0) return this.#complete();
    this.pump();
  }

  chunkCame(from: string, index: number, data: Uint8Array): void {
    const manifest = this.#manifest;
    if (!manifest) return;
    // Any chunk still wanted, from a member of its room: one that came late (its request went elsewhere) is as good.
    if (!this.#chunks.wants(index)) return;
    const theirs = this.#host.peerRooms(from);
    if (!theirs.includes(this.room)) return;
    const askedAt = this.#chunks.came(index, from);
    if (askedAt !== undefined) this.#host.sources.arrived(from, Date.now() - askedAt);
    const bytes = data.byteLength; // read now: putChunk takes the chunk's memory
    // It came through every room of the file the sender proved: each of them needs it no more.
    const rooms = this.rooms.filter((room) => theirs.includes(room));
    this.#host.replica.putChunk(manifest, index, data, rooms).then(
      (stored) => this.#stored(from, index, bytes, stored),
      (err: Error) => this.#notStored(index, err),
    );
  }

  /** A chunk that came was checked (and stored when it matched). */
  #stored(from: string, index: number, bytes: number, stored: boolean): void {
    this.#chunks.stored(index);
    // A transfer stopped or finished meanwhile: what is stored counts when the file is looked at again.
    if (!this.#host.runs(this) || !this.#manifest) return;
    if (!stored) {
      this.#chunks.redo(index);
      return this.#isBad(from, `chunk ${index} of file ${this.id} failed its hash`);
    }
    const last = this.#manifest.hashes.length - 1;
    if (index === last && last * CHUNK_BYTES + bytes !== this.#manifest.size) this.#sizeBelied(last * CHUNK_BYTES + bytes);
    this.#held += bytes;
    this.#movedAt = Date.now();
    this.#host.sources.stored(from);
    memoryValve.moved(bytes);
    this.#host.progress(this.id, this.#held);
    if (this.phase === "storing" && this.#chunks.storing === 0) return this.#complete();
    if (Date.now() - this.#haveSentAt >= HAVE_EVERY_MS) this.#announce();
    this.pump();
  }

  /** The last chunk (its hash checked) belies the manifest's size: the file is what its chunks add up to, and whoever sent that size is not asked again. */
  #sizeBelied(size: number): void {
    const liar = this.#manifestFrom;
    this.#host.log(`file ${this.id} is ${size} bytes, not the ${this.#manifest!.size} its manifest said`);
    this.#manifest = { ...this.#manifest!, size };
    this.#size = size;
    this.#manifestFrom = null;
    if (liar) this.#isBad(liar, `a manifest of file ${this.id}: its size is not what its last chunk makes it`);
  }

  /** A chunk could not be stored (the disk, the database): the file waits until the fetcher's `refresh` looks again. */
  #notStored(index: number, err: Error): void {
    this.#chunks.stored(index);
    if (!this.#host.runs(this)) return;
    this.#host.ended(this, "skipped", `not fetching file ${this.id} for now: ${err.message}`);
    this.#host.next();
  }

  /** The peer lacks the chunks (none: the manifest), or may not have them of us: they are asked elsewhere. */
  lacked(from: string, chunks: number[]): void {
    const now = Date.now();
    if (chunks.length === 0) {
      if (this.#manifestAsked?.peer === from) this.#manifestAsked = null;
      this.#chunks.lack(from, MANIFEST, now);
    }
    this.#chunks.lacked(from, chunks, now);
    this.pump();
  }

  #complete(): void {
    const { replica } = this.#host;
    const missing = replica.missing(this.id, this.room);
    if (missing.length > 0) {
      this.#chunks.reset(missing);
      return this.pump();
    }
    replica.complete(this.id, this.room);
    for (const room of this.rooms) if (room !== this.room && replica.missing(this.id, room).length === 0) replica.complete(this.id, room);
    this.#host.ended(this, "whole");
    this.#held = replica.have(this.id, this.room);
    this.#host.progress(this.id, this.#held);
    this.#announce();
    this.#host.next();
  }

  /** The file found nobody to serve it: it waits, and its place goes to the next. */
  #yield(why: string): void {
    this.#host.ended(this, "waits", why);
    this.#host.next();
  }

  /** A peer sent what fails its check: it is not asked again for this file. */
  #isBad(from: string, why: string): void {
    this.#bad.add(from);
    this.#host.bad(from, why);
  }

  #ask(peer: string, chunks: number[]): boolean {
    return this.#host.send(peer, { type: "want", file: this.id, room: this.room, chunks });
  }

  /** Tells the members of the room it comes through how much of the file is here. */
  #announce(): void {
    this.#haveSentAt = Date.now();
    for (const peer of this.#host.members(this.room)) this.#host.send(peer, { type: "have", file: this.id, bytes: this.#held });
  }
}
