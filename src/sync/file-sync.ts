/**
 * Files between instances. Every member fetches the files its rooms' messages carry: first the manifest (the chunk
 * hashes, checked against the file's id), then the chunks it lacks, from every linked member of a room that carries
 * the file, with a window of requests per peer (as Syncthing pulls blocks from several devices), as large as the
 * peer's link carries without chunks queueing in it for more than a few ms (chunk-window.ts); a chunk holds its place
 * in the window until it is stored. Each chunk is checked against the manifest as it arrives and stored at once (beside
 * the main thread: storage/chunk-writer.ts), so a transfer cut by failover, a restart or a dead peer goes on from what
 * is stored. A peer that sends a chunk failing its hash is not asked again for that file, and counted against.
 *
 * Serving yields to chat: a chunk goes out only while the peer's link has less than LOW_WATER bytes waiting, so a chat
 * frame never queues behind more than that; requests wait (in a bounded queue) until the link drains.
 */
import { chunkCount, fileIdOf, type FileManifest } from "../storage/files.ts";
import { RateLimiter } from "../rate-limit.ts";
import { memoryValve } from "../util/memory.ts";
import { ChunkWindow } from "./chunk-window.ts";
import { encodeFrame, encodeFrameParts } from "./codec.ts";
import { LIMITS, type ChunkFrame, type Frame, type HaveFrame, type LackFrame, type ManifestFrame, type WantFrame } from "./frames.ts";

/** What file transfer needs of this instance's storage (rooms by id). */
export interface FileReplica {
  /** Files that messages of joined rooms carry and are not whole here, with the rooms (ids) that carry each. */
  wanted(limit: number): { id: string; size: number; rooms: string[] }[];
  /** Whether a message of the room carries the file. */
  carries(roomId: string, fileId: string): boolean;
  manifest(id: string): FileManifest | null;
  register(manifest: FileManifest): void;
  missing(id: string): number[];
  /**
   * Stores chunk `index` if it matches the manifest: true once stored, false (nothing stored) when it does not. Takes
   * `data`: its memory may move elsewhere (storage/chunk-writer.ts), so the caller does not use it afterwards.
   */
  putChunk(manifest: FileManifest, index: number, data: Uint8Array): Promise<boolean>;
  chunk(manifest: FileManifest, index: number): Uint8Array | null;
  markComplete(id: string): void;
  have(id: string): number;
  /** Whether a file of `size` bytes, `more` of them not here yet, may be stored (the size limit, the disk's margin). */
  mayStore(size: number, more: number): boolean;
}

/** What file transfer needs of the links (the link manager provides it). */
export interface FileLinks {
  /** Sends a frame, whole or in parts (a chunk's header and its data, sealed in turn, never joined). */
  send(nodeId: string, data: Uint8Array | readonly Uint8Array[]): boolean;
  /** Bytes waiting to leave on the peer's primary link; null when it has none. */
  buffered(nodeId: string): number | null;
}

export interface FileSyncInit {
  replica: FileReplica;
  links: FileLinks;
  /** Linked peers that proved they hold the room. */
  members(roomId: string): string[];
  /** The rooms (ids) a linked peer proved it shares with this instance. */
  peerRooms(nodeId: string): string[];
  /** A peer sent something that failed its check. */
  penalize(nodeId: string, why: string): void;
  /** Bytes of a file held here changed (a chunk came, or the file is whole). */
  onProgress?(fileId: string, bytes: number): void;
  /** A member says how much of a file it holds. */
  onPeerHave?(fileId: string, nodeId: string, bytes: number): void;
  log?: (line: string) => void;
}

/** Files fetched at once; the others wait their turn. */
const MAX_ACTIVE = 4;
/** A request not answered in this time is asked again, of anyone. */
const REQUEST_TIMEOUT_MS = 15_000;
/** A peer that said it lacks a chunk (or the manifest) is not asked for it again before this. */
const LACK_BACKOFF_MS = 3000;
/** Chunk frames go out only while the link holds fewer bytes than this: chat never waits behind more. */
const LOW_WATER = 512 * 1024;
/** Chunks served to one peer before the event loop gets its turn again. */
const CHUNKS_PER_TURN = 2;
/** Requests a peer may have queued here; past it they are answered with `lack`. */
const MAX_QUEUED_REQUESTS = 4 * LIMITS.chunksPerRequest;
/** Chunks a peer may ask for per second (2 000 × 256 KiB = 500 MB/s). */
const CHUNK_REQUESTS_PER_SECOND = 2000;
/** How often members hear how much of a file is here while it comes. */
const HAVE_EVERY_MS = 500;
const TICK_MS = 250;
const MANIFEST = -1;

interface Transfer {
  id: string;
  size: number;
  rooms: string[];
  manifest: FileManifest | null;
  /** Chunks neither here nor asked for. */
  todo: Set<number>;
  inFlight: Map<number, { peer: string; at: number }>;
  /** Chunks that came and are being stored, and who sent each: they hold their place in its window until stored. */
  storing: Map<number, string>;
  manifestAsked: { peer: string; at: number } | null;
  /** Peers that sent a bad chunk or manifest: never asked again for this file. */
  bad: Set<string>;
  /** Per peer, chunk (MANIFEST for the manifest) it lacked, and until when it is not asked again. */
  lacking: Map<string, Map<number, number>>;
  held: number;
  haveSentAt: number;
}

export class FileSync {
  readonly #init: FileSyncInit;
  /** Per peer, how many chunk requests it may have in flight (set by how long its chunks take). */
  readonly #windows = new Map<string, ChunkWindow>();
  readonly #log: (line: string) => void;
  readonly #active = new Map<string, Transfer>();
  /** Files that cannot be stored here (too big, no disk): not tried again until `refresh`. */
  readonly #skipped = new Set<string>();
  /** Per peer, the chunk requests waiting for its link to drain. */
  readonly #serving = new Map<string, { file: string; index: number }[]>();
  /** Per peer waiting to be served again, how to cancel that wait. */
  readonly #serveWaits = new Map<string, () => void>();
  readonly #requests = new RateLimiter({ perSecond: CHUNK_REQUESTS_PER_SECOND, burst: 2 * CHUNK_REQUESTS_PER_SECOND });
  /** Manifests of the files served lately: one is read from the database for each file, not for each chunk. */
  readonly #served = new Map<string, FileManifest>();
  /** Chunks stored from each peer, and sent to each, since start (for `/peers`). */
  readonly #received = new Map<string, number>();
  readonly #sent = new Map<string, number>();
  #timer: ReturnType<typeof setInterval> | undefined;
  /** Which peer is asked first next time, so load spreads over the members. */
  #turn = 0;

  constructor(init: FileSyncInit) {
    this.#init = init;
    this.#log = init.log ?? (() => {});
  }

  start(): void {
    this.#timer ??= setInterval(() => this.#tick(), TICK_MS);
    this.refresh();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    for (const cancel of this.#serveWaits.values()) cancel();
    this.#serveWaits.clear();
    this.#serving.clear();
    this.#active.clear();
  }

  /** New messages (or rooms) may carry new files, or a new member may hold them: look again. */
  refresh(): void {
    this.#skipped.clear();
    this.#fill();
    for (const t of this.#active.values()) this.#pump(t);
  }

  /** A peer's primary link changed or went: what was asked of it may be lost with the old link, so ask again. */
  peerChanged(nodeId: string): void {
    for (const t of this.#active.values()) {
      for (const [index, flight] of t.inFlight) {
        if (flight.peer === nodeId) {
          t.inFlight.delete(index);
          t.todo.add(index);
        }
      }
      if (t.manifestAsked?.peer === nodeId) t.manifestAsked = null;
    }
    // Another path: its round trips are learnt afresh.
    this.#windows.delete(nodeId);
    for (const t of this.#active.values()) this.#pump(t);
    this.#serving.delete(nodeId);
  }

  /** Handles a file frame from a peer; false when the frame is not one of ours. */
  handle(from: string, frame: Frame, binary: Uint8Array): boolean {
    switch (frame.type) {
      case "want":
        return this.#onWant(from, frame), true;
      case "manifest":
        return this.#onManifest(from, frame, binary), true;
      case "chunk":
        return this.#onChunk(from, frame, binary), true;
      case "lack":
        return this.#onLack(from, frame), true;
      case "have":
        return this.#onHave(from, frame), true;
      default:
        return false;
    }
  }

  /** Chunks stored from the peer, and sent to it, since start. */
  chunkCounts(nodeId: string): { received: number; sent: number } {
    return { received: this.#received.get(nodeId) ?? 0, sent: this.#sent.get(nodeId) ?? 0 };
  }

  /** Files being fetched now, with the bytes held of each. */
  transfers(): { id: string; size: number; held: number; peers: number }[] {
    return [...this.#active.values()].map((t) => ({
      id: t.id,
      size: t.size,
      held: t.held,
      peers: new Set([...t.inFlight.values()].map((f) => f.peer)).size,
    }));
  }

  // ---- fetching ----

  #tick(): void {
    const now = Date.now();
    this.#fill();
    for (const t of this.#active.values()) {
      for (const [index, flight] of t.inFlight) {
        if (now - flight.at > REQUEST_TIMEOUT_MS) {
          this.#windows.get(flight.peer)?.lost();
          t.inFlight.delete(index);
          t.todo.add(index);
        }
      }
      if (t.manifestAsked && now - t.manifestAsked.at > REQUEST_TIMEOUT_MS) t.manifestAsked = null;
      this.#pump(t);
    }
  }

  /** Takes on wanted files up to MAX_ACTIVE. */
  #fill(): void {
    if (this.#active.size >= MAX_ACTIVE) return;
    for (const want of this.#init.replica.wanted(MAX_ACTIVE + this.#skipped.size + this.#active.size)) {
      if (this.#active.size >= MAX_ACTIVE) return;
      if (this.#active.has(want.id) || this.#skipped.has(want.id)) continue;
      if (!this.#init.replica.mayStore(want.size, want.size - this.#init.replica.have(want.id))) {
        this.#skipped.add(want.id);
        this.#log(`not fetching file ${want.id} (${want.size} bytes): over the size limit or too little disk free`);
        continue;
      }
      const manifest = this.#init.replica.manifest(want.id);
      const t: Transfer = {
        ...want,
        manifest,
        todo: new Set(manifest ? this.#init.replica.missing(want.id) : []),
        inFlight: new Map(),
        storing: new Map(),
        manifestAsked: null,
        bad: new Set(),
        lacking: new Map(),
        held: this.#init.replica.have(want.id),
        haveSentAt: 0,
      };
      this.#active.set(want.id, t);
      if (manifest && t.todo.size === 0) this.#complete(t);
    }
  }

  /** Linked members of the file's rooms that are not known bad for it, in a rotating order. */
  #sources(t: Transfer): string[] {
    const all = [...new Set(t.rooms.flatMap((room) => this.#init.members(room)))].filter((p) => !t.bad.has(p));
    if (all.length < 2) return all;
    const start = this.#turn++ % all.length;
    return [...all.slice(start), ...all.slice(0, start)];
  }

  #lacks(t: Transfer, peer: string, index: number, now: number): boolean {
    const until = t.lacking.get(peer)?.get(index);
    return until !== undefined && until > now;
  }

  /** Asks for the manifest, or fills each source's window with chunks not yet asked for. */
  #pump(t: Transfer): void {
    if (!this.#active.has(t.id)) return;
    const now = Date.now();
    const sources = this.#sources(t);
    if (!t.manifest) {
      if (t.manifestAsked) return;
      const peer = sources.find((p) => !this.#lacks(t, p, MANIFEST, now));
      if (!peer) return;
      if (this.#ask(peer, t, [])) t.manifestAsked = { peer, at: now };
      return;
    }
    const busy = new Map<string, number>();
    for (const flight of t.inFlight.values()) busy.set(flight.peer, (busy.get(flight.peer) ?? 0) + 1);
    for (const peer of t.storing.values()) busy.set(peer, (busy.get(peer) ?? 0) + 1);
    for (const peer of sources) {
      if (t.todo.size === 0) return;
      const free = this.#windowOf(peer).size - (busy.get(peer) ?? 0);
      if (free <= 0) continue;
      const asked: number[] = [];
      for (const index of t.todo) {
        if (asked.length >= free) break;
        if (!this.#lacks(t, peer, index, now)) asked.push(index);
      }
      if (asked.length === 0) continue;
      // A link that is going cannot take the request: the chunks stay to do, for the other sources or a later pump.
      if (!this.#ask(peer, t, asked)) continue;
      for (const index of asked) {
        t.todo.delete(index);
        t.inFlight.set(index, { peer, at: now });
      }
    }
  }

  #windowOf(peer: string): ChunkWindow {
    return this.#windows.get(peer) ?? this.#windows.set(peer, new ChunkWindow()).get(peer)!;
  }

  #ask(peer: string, t: Transfer, chunks: number[]): boolean {
    const room = t.rooms.find((r) => this.#init.members(r).includes(peer)) ?? t.rooms[0]!;
    return this.#send(peer, { type: "want", file: t.id, room, chunks });
  }

  #onManifest(from: string, frame: ManifestFrame, binary: Uint8Array): void {
    const t = this.#active.get(frame.file);
    if (!t || t.manifest || t.manifestAsked?.peer !== from) return;
    t.manifestAsked = null;
    const hashes: string[] = [];
    for (let at = 0; at + 32 <= binary.byteLength; at += 32) hashes.push(Buffer.from(binary.subarray(at, at + 32)).toString("hex"));
    const problem =
      frame.size !== t.size
        ? `its size ${frame.size} is not the ${t.size} its message gives`
        : binary.byteLength !== 32 * chunkCount(frame.size)
          ? "its chunk hashes do not match its size"
          : fileIdOf(hashes) !== t.id
            ? "its chunk hashes are not the file's"
            : null;
    if (problem) return this.#bad(t, from, `a manifest of file ${t.id}: ${problem}`);
    const manifest = { id: t.id, size: t.size, hashes };
    this.#init.replica.register(manifest);
    t.manifest = manifest;
    t.todo = new Set(this.#init.replica.missing(t.id));
    t.held = this.#init.replica.have(t.id);
    if (t.todo.size === 0) return this.#complete(t);
    this.#pump(t);
  }

  #onChunk(from: string, frame: ChunkFrame, data: Uint8Array): void {
    const t = this.#active.get(frame.file);
    if (!t?.manifest) return;
    // Any chunk still wanted, from whoever: one that came late (its request timed out and went elsewhere) is as good.
    if (!t.todo.has(frame.index) && !t.inFlight.has(frame.index)) return;
    const flight = t.inFlight.get(frame.index);
    if (flight?.peer === from) this.#windowOf(from).arrived(Date.now() - flight.at);
    t.inFlight.delete(frame.index);
    t.todo.delete(frame.index);
    t.storing.set(frame.index, from);
    const bytes = data.byteLength; // read now: putChunk takes the chunk's memory
    this.#init.replica.putChunk(t.manifest, frame.index, data).then(
      (stored) => this.#stored(t, from, frame.index, bytes, stored),
      (err: Error) => this.#notStored(t, frame.index, err),
    );
  }

  /** A chunk that came was checked (and stored when it matched). */
  #stored(t: Transfer, from: string, index: number, bytes: number, stored: boolean): void {
    t.storing.delete(index);
    // A transfer stopped or finished meanwhile: what is stored counts when the file is looked at again.
    if (this.#active.get(t.id) !== t) return;
    if (!stored) {
      t.todo.add(index);
      return this.#bad(t, from, `chunk ${index} of file ${t.id} failed its hash`);
    }
    t.held += bytes;
    this.#received.set(from, (this.#received.get(from) ?? 0) + 1);
    memoryValve.moved(bytes);
    this.#init.onProgress?.(t.id, t.held);
    if (t.todo.size === 0 && t.inFlight.size === 0 && t.storing.size === 0) return this.#complete(t);
    if (Date.now() - t.haveSentAt >= HAVE_EVERY_MS) this.#announce(t);
    this.#pump(t);
  }

  /** A chunk could not be stored (the disk, the database): the file waits until `refresh` looks again. */
  #notStored(t: Transfer, index: number, err: Error): void {
    t.storing.delete(index);
    if (this.#active.get(t.id) !== t) return;
    this.#log(`not fetching file ${t.id} for now: ${err.message}`);
    this.#active.delete(t.id);
    this.#skipped.add(t.id);
    this.#fill();
  }

  #onLack(from: string, frame: LackFrame): void {
    const t = this.#active.get(frame.file);
    if (!t) return;
    const until = Date.now() + LACK_BACKOFF_MS;
    const lacking = t.lacking.get(from) ?? t.lacking.set(from, new Map()).get(from)!;
    if (frame.chunks.length === 0) {
      if (t.manifestAsked?.peer === from) t.manifestAsked = null;
      lacking.set(MANIFEST, until);
    }
    for (const index of frame.chunks) {
      if (t.inFlight.get(index)?.peer !== from) continue;
      t.inFlight.delete(index);
      t.todo.add(index);
      lacking.set(index, until);
    }
    this.#pump(t);
  }

  /** A peer sent what fails its check: it is not asked again for this file, and what it had is asked elsewhere. */
  #bad(t: Transfer, from: string, why: string): void {
    t.bad.add(from);
    this.#init.penalize(from, why);
    this.peerChanged(from);
  }

  #complete(t: Transfer): void {
    if (this.#init.replica.missing(t.id).length > 0) {
      t.todo = new Set(this.#init.replica.missing(t.id));
      return this.#pump(t);
    }
    this.#init.replica.markComplete(t.id);
    this.#active.delete(t.id);
    t.held = t.size;
    this.#init.onProgress?.(t.id, t.size);
    this.#announce(t);
    this.#fill();
  }

  /** Tells the file's members how much of it is here. */
  #announce(t: Transfer): void {
    t.haveSentAt = Date.now();
    const members = new Set(t.rooms.flatMap((room) => this.#init.members(room)));
    for (const peer of members) this.#send(peer, { type: "have", file: t.id, bytes: t.held });
  }

  #onHave(from: string, frame: HaveFrame): void {
    if (this.#init.peerRooms(from).some((room) => this.#init.replica.carries(room, frame.file))) {
      this.#init.onPeerHave?.(frame.file, from, frame.bytes);
    }
  }

  // ---- serving ----

  #onWant(from: string, frame: WantFrame): void {
    const replica = this.#init.replica;
    const allowed = this.#init.members(frame.room).includes(from) && replica.carries(frame.room, frame.file);
    const manifest = allowed ? this.#servedManifest(frame.file) : null;
    if (!manifest) return void this.#send(from, { type: "lack", file: frame.file, chunks: frame.chunks });
    if (frame.chunks.length === 0) {
      const hashes = Buffer.concat(manifest.hashes.map((h) => Buffer.from(h, "hex")));
      return void this.#send(from, { type: "manifest", file: manifest.id, size: manifest.size }, hashes);
    }
    const queue = this.#serving.get(from) ?? this.#serving.set(from, []).get(from)!;
    const refused: number[] = [];
    for (const index of frame.chunks) {
      if (index >= manifest.hashes.length || queue.length >= MAX_QUEUED_REQUESTS || !this.#requests.take(from)) refused.push(index);
      else queue.push({ file: frame.file, index });
    }
    if (refused.length > 0) this.#send(from, { type: "lack", file: frame.file, chunks: refused });
    this.#serve(from);
  }

  /** Sends queued chunks while the peer's link has room, then waits for it to drain. */
  #serve(peer: string): void {
    const queue = this.#serving.get(peer);
    if (!queue || this.#serveWaits.has(peer)) return;
    const again = () => {
      this.#serveWaits.delete(peer);
      this.#serve(peer);
    };
    // After the events waiting now (setTimeout(0) would wait a whole ms, a ms that a fast link idles).
    const nextTurn = () => {
      const immediate = setImmediate(again);
      this.#serveWaits.set(peer, () => clearImmediate(immediate));
    };
    const later = (ms: number) => {
      const timer = setTimeout(again, ms);
      this.#serveWaits.set(peer, () => clearTimeout(timer));
    };
    for (let served = 0; queue.length > 0; served++) {
      const buffered = this.#init.links.buffered(peer);
      if (buffered === null) return void this.#serving.delete(peer);
      if (buffered >= LOW_WATER) return later(2);
      // A few chunks at a time, so requests (a message sent, a page) get their turn in between.
      if (served === CHUNKS_PER_TURN) return nextTurn();
      const { file, index } = queue.shift()!;
      const manifest = this.#servedManifest(file);
      const data = manifest ? this.#init.replica.chunk(manifest, index) : null;
      if (!data) {
        this.#send(peer, { type: "lack", file, chunks: [index] });
        continue;
      }
      if (!this.#send(peer, { type: "chunk", file, index }, data)) return void this.#serving.delete(peer);
      this.#sent.set(peer, (this.#sent.get(peer) ?? 0) + 1);
      memoryValve.moved(data.byteLength);
    }
    this.#serving.delete(peer);
  }

  /** The manifest of a file whole here, from a cache of the last few. */
  #servedManifest(file: string): FileManifest | null {
    const cached = this.#served.get(file);
    if (cached) return cached;
    const manifest = this.#init.replica.manifest(file);
    if (!manifest) return null;
    this.#served.set(file, manifest);
    if (this.#served.size > 16) this.#served.delete(this.#served.keys().next().value!);
    return manifest;
  }

  #send(peer: string, frame: Frame, binary?: Uint8Array): boolean {
    return this.#init.links.send(peer, binary ? encodeFrameParts(frame, binary) : encodeFrame(frame));
  }
}
