/**
 * Files between instances. Every member fetches the files its rooms' messages carry that its owner's settings (or
 * choice) say to fetch, through the room that carries them: first the manifest (the chunk hashes, checked against
 * the file's id) from a member of that room, then the chunks that have not come through that room, from its linked
 * members, with a window of requests per peer (as Syncthing pulls blocks from several devices), as large as the
 * peer's link carries without chunks queueing in it for more than a few ms (files/chunk-window.ts); a chunk holds its place
 * in the window until it is stored. Each chunk is checked against the manifest as it arrives and stored at once
 * (beside the main thread: storage/chunk-writer.ts), with the rooms it came through, so a transfer cut by failover, a
 * restart or a dead peer goes on from what is stored. The last chunk comes first: it proves the manifest's size. A peer
 * that sends a chunk failing its hash, or a manifest whose size its last chunk belies, is not asked again for that file,
 * and counted against.
 *
 * A file nobody serves yields its place: a manifest asked of every source in vain, or chunks that stop coming, send
 * the file to wait (files/waits.ts) and the next one takes its turn. Manifests are looked up beside the transfers, so
 * references to files nobody has cannot hold up one that is on its way. Serving is files/serve.ts.
 */
import type { RoomHold } from "../storage/file-rooms.ts";
import { CHUNK_BYTES, chunkCount, fileIdOf, type FileManifest } from "../storage/files.ts";
import { memoryValve } from "../util/memory.ts";
import { ChunkWindow } from "./files/chunk-window.ts";
import { encodeFrame } from "./codec.ts";
import { FileServer } from "./files/serve.ts";
import { FileWaits } from "./files/waits.ts";
import type { ChunkFrame, Frame, HaveFrame, LackFrame, ManifestFrame } from "./frames.ts";

/** A file to fetch, with the rooms (ids) whose messages carry it and that it has not come whole through yet. */
export interface WantedFetch {
  id: string;
  size: number;
  rooms: string[];
}

/** What file transfer needs of this instance's storage (rooms by id). */
export interface FileReplica {
  /**
   * Files to fetch whose ids come after `after`, among the next `limit` wanted ones: those the settings or the owner's
   * choice say to fetch. `next` is where the following page starts; null once past the last.
   */
  wanted(after: string, limit: number): { files: WantedFetch[]; next: string | null };
  /** Whether a message of the room carries the file. */
  carries(roomId: string, fileId: string): boolean;
  /** The file's manifest, when known here (through whichever room). */
  manifest(id: string): FileManifest | null;
  register(manifest: FileManifest): void;
  /** How the file's bytes stand in the room: none came through it, some did, all did. */
  hold(id: string, roomId: string): RoomHold;
  /** The file's manifest came through the room. */
  open(id: string, roomId: string): void;
  /** The chunks of the file that have not come through the room. */
  missing(id: string, roomId: string): number[];
  /**
   * Stores chunk `index` if it matches the manifest, as come through `roomIds`: true once stored, false (nothing
   * stored) when it does not. Takes `data`: its memory may move elsewhere (storage/chunk-writer.ts).
   */
  putChunk(manifest: FileManifest, index: number, data: Uint8Array, roomIds: string[]): Promise<boolean>;
  /** Whether a member of the room may have chunk `index` of the file (null: its manifest). */
  servable(id: string, roomId: string, index: number | null): boolean;
  chunk(manifest: FileManifest, index: number): Uint8Array | null;
  /** Every chunk came through the room: the file is whole there (and here, once all its chunks are). */
  complete(id: string, roomId: string): void;
  /** Bytes of the file that came through the room. */
  have(id: string, roomId: string): number;
  /** Whether a file of `size` bytes, `more` of them not here yet, may be stored (the size limit, the disk's margin). */
  mayStore(size: number, more: number): boolean;
  /** Whether the file, of `size` bytes as its manifest says, is to be fetched (the owner's settings or choice). */
  fetches(id: string, size: number): boolean;
  /** Calls `listener` when the owner asks for a file or cancels its fetch (null: the settings changed); returns its removal. */
  onChoice?(listener: (id: string | null, wanted: boolean) => void): () => void;
  /** A file is being fetched now, waits for a member that has it, or neither. */
  status?(id: string, status: "fetching" | "waiting" | null): void;
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

/** Files whose chunks are fetched at once; the others wait their turn. */
const MAX_ACTIVE = 4;
/** Files whose manifest is asked for at once, beside those. */
const MAX_LOOKUPS = 16;
/** Manifest requests one member has unanswered at once: a member that never answers holds no more lookups. */
const LOOKUPS_PER_PEER = 4;
/** A file whose sources are all busy with lookups is looked at again this soon. */
const BUSY_WAIT_MS = 250;
/** A manifest not sent in this time is asked of another member (one that never answers is a member that lacks it). */
const MANIFEST_TIMEOUT_MS = 5000;
/** A chunk request not answered in this time is asked again, of another member first. */
const REQUEST_TIMEOUT_MS = 15_000;
/** A peer that said it lacks a chunk (or the manifest), or never answered, is not asked for it again before this. */
const LACK_BACKOFF_MS = 3000;
/** A peer that let a request go unanswered is asked after the others for this long. */
const SILENT_MS = 60_000;
/** A transfer that stored no chunk for this long yields its place to the next file, and waits. */
const STALL_MS = 30_000;
/** Wanted files looked at per page, and pages per look. */
const PAGE = 64;
const PAGES_PER_LOOK = 4;
/** How often members hear how much of a file is here while it comes. */
const HAVE_EVERY_MS = 500;
const TICK_MS = 250;
const MANIFEST = -1;

interface Transfer {
  id: string;
  size: number;
  /** The rooms (ids) that want the file; chunks from a member of several count for each. */
  rooms: string[];
  /** The room it is fetched through: its members are asked, what comes is the file's in that room. */
  room: string;
  /** Known once it came through `room`. */
  manifest: FileManifest | null;
  /** Who sent the manifest with the size used: its last chunk proves that size, or that this peer lied. */
  manifestFrom: string | null;
  /** Chunks neither here nor asked for, in the order they are asked. */
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
  /** When a chunk last came, or the chunks were first asked for. */
  movedAt: number;
}

export class FileSync {
  readonly #init: FileSyncInit;
  readonly #server: FileServer;
  /** Per peer, how many chunk requests it may have in flight (set by how long its chunks take). */
  readonly #windows = new Map<string, ChunkWindow>();
  readonly #log: (line: string) => void;
  readonly #active = new Map<string, Transfer>();
  readonly #waits = new FileWaits();
  /** Files that cannot be stored here (too big, no disk): not tried again until `refresh`. */
  readonly #skipped = new Set<string>();
  /** Peers that let a request go unanswered, and until when they are asked last. */
  readonly #silent = new Map<string, number>();
  /** Chunks stored from each peer since start (for `/peers`). */
  readonly #received = new Map<string, number>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #unwatch: (() => void) | undefined;
  /** Where the next look at the wanted files starts: each gets its turn, whatever its id. */
  #cursor = "";
  /** Which peer is asked first next time, so load spreads over the members. */
  #turn = 0;
  #filling = false;

  constructor(init: FileSyncInit) {
    this.#init = init;
    this.#log = init.log ?? (() => {});
    this.#server = new FileServer({ replica: init.replica, links: init.links, members: init.members });
  }

  start(): void {
    this.#timer ??= setInterval(() => this.#tick(), TICK_MS);
    this.#unwatch ??= this.#init.replica.onChoice?.((id, wanted) => {
      if (id === null) this.refresh();
      else if (wanted) this.#asked(id);
      else this.#cancelled(id);
    });
    this.refresh();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#unwatch?.();
    this.#unwatch = undefined;
    this.#server.stop();
    for (const t of this.#active.values()) this.#init.replica.status?.(t.id, null);
    this.#active.clear();
  }

  /**
   * New messages (or rooms) may carry new files: look again. With `member`, that peer just proved its rooms: the files
   * waiting for a member of those rooms are tried at once; so are `files`, which new messages carry.
   */
  refresh(member?: string, files: readonly string[] = []): void {
    if (member) this.#waits.wakeRooms(this.#init.peerRooms(member));
    for (const id of files) this.#waits.wake(id);
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
    this.#server.peerChanged(nodeId);
  }

  /** Handles a file frame from a peer; false when the frame is not one of ours. */
  handle(from: string, frame: Frame, binary: Uint8Array): boolean {
    switch (frame.type) {
      case "want":
        return this.#server.want(from, frame), true;
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
    return { received: this.#received.get(nodeId) ?? 0, sent: this.#server.sent(nodeId) };
  }

  /** Files being fetched now (their chunks, or their manifest), with the bytes held of each. */
  transfers(): { id: string; size: number; held: number; peers: number }[] {
    return [...this.#active.values()].map((t) => ({
      id: t.id,
      size: t.size,
      held: t.held,
      peers: new Set([...t.inFlight.values()].map((f) => f.peer)).size,
    }));
  }

  // ---- which files, when ----

  #tick(): void {
    const now = Date.now();
    this.#fill();
    for (const t of [...this.#active.values()]) {
      for (const [index, flight] of t.inFlight) {
        if (now - flight.at > REQUEST_TIMEOUT_MS) {
          this.#windows.get(flight.peer)?.lost();
          t.inFlight.delete(index);
          t.todo.add(index);
          this.#lack(t, flight.peer, index, now);
          this.#hushed(flight.peer, now);
        }
      }
      if (t.manifestAsked && now - t.manifestAsked.at > MANIFEST_TIMEOUT_MS) {
        this.#lack(t, t.manifestAsked.peer, MANIFEST, now);
        this.#hushed(t.manifestAsked.peer, now);
        t.manifestAsked = null;
      }
      if (t.manifest && now - t.movedAt > STALL_MS) {
        this.#yield(t, `no chunk came for ${STALL_MS / 1000} s`);
        continue;
      }
      this.#pump(t);
    }
  }

  #counts(): { fetching: number; lookups: number } {
    let fetching = 0;
    for (const t of this.#active.values()) if (t.manifest) fetching++;
    return { fetching, lookups: this.#active.size - fetching };
  }

  /** Takes on wanted files, turn by turn, up to MAX_ACTIVE fetched and MAX_LOOKUPS looked up. */
  #fill(): void {
    // A file taken on that yields at once looks again itself: that look is this one's.
    if (this.#filling) return;
    this.#filling = true;
    try {
      this.#look();
    } finally {
      this.#filling = false;
    }
  }

  #look(): void {
    const counts = this.#counts();
    const room = () => counts.fetching < MAX_ACTIVE || counts.lookups < MAX_LOOKUPS;
    for (let page = 0; page < PAGES_PER_LOOK && room(); page++) {
      const { files, next } = this.#init.replica.wanted(this.#cursor, PAGE);
      let stopped = false;
      for (const want of files) {
        if (!room()) {
          stopped = true;
          break;
        }
        this.#cursor = want.id;
        const taken = this.#take(want, counts);
        if (taken === "fetching") counts.fetching++;
        else if (taken === "lookup") counts.lookups++;
      }
      if (stopped) return;
      this.#cursor = next ?? "";
      if (next === null) return;
    }
  }

  /** Takes on one wanted file if there is room for it: its chunks, or first its manifest. */
  #take(want: WantedFetch, counts: { fetching: number; lookups: number }): "fetching" | "lookup" | null {
    const { replica } = this.#init;
    if (this.#active.has(want.id) || this.#skipped.has(want.id) || this.#waits.waiting(want.id)) return null;
    if (!replica.mayStore(want.size, Math.max(0, want.size - this.#heldAnywhere(want)))) {
      this.#skipped.add(want.id);
      this.#log(`not fetching file ${want.id} (${want.size} bytes): over the size limit or too little disk free`);
      return null;
    }
    // A room it is coming through already first, then the one with the most members linked.
    const rooms = want.rooms
      .map((room) => ({ room, hold: replica.hold(want.id, room), members: this.#init.members(room).length }))
      .filter((r) => r.members > 0)
      .sort((a, b) => Number(b.hold === "partial") - Number(a.hold === "partial") || b.members - a.members);
    const chosen = rooms[0];
    if (!chosen) {
      this.#wait(want.id, want.rooms, "no member of its rooms is linked");
      return null;
    }
    const manifest = chosen.hold === "partial" ? replica.manifest(want.id) : null;
    if (manifest ? counts.fetching >= MAX_ACTIVE : counts.lookups >= MAX_LOOKUPS) return null;
    const t: Transfer = {
      id: want.id,
      size: manifest?.size ?? want.size,
      rooms: want.rooms,
      room: chosen.room,
      manifest: null,
      manifestFrom: null,
      todo: new Set(),
      inFlight: new Map(),
      storing: new Map(),
      manifestAsked: null,
      bad: new Set(),
      lacking: new Map(),
      held: replica.have(want.id, chosen.room),
      haveSentAt: 0,
      movedAt: Date.now(),
    };
    this.#active.set(want.id, t);
    replica.status?.(t.id, "fetching");
    if (manifest) this.#begin(t, manifest);
    else this.#pump(t);
    return manifest ? "fetching" : "lookup";
  }

  /** Bytes of the file here through any of its wanted rooms (what need not be stored again). */
  #heldAnywhere(want: WantedFetch): number {
    return Math.max(0, ...want.rooms.map((room) => this.#init.replica.have(want.id, room)));
  }

  /** The file found nobody to serve it: it waits, and its place goes to the next. */
  #yield(t: Transfer, why: string): void {
    this.#active.delete(t.id);
    this.#wait(t.id, t.rooms, why);
    this.#fill();
  }

  #wait(id: string, rooms: string[], why: string): void {
    const ms = this.#waits.wait(id, rooms);
    this.#init.replica.status?.(id, "waiting");
    this.#log(`file ${id} waits ${Math.round(ms / 1000)} s: ${why}`);
  }

  /** The owner asked for the file: tried at once, whatever it waited for. */
  #asked(id: string): void {
    this.#waits.forget(id);
    this.#skipped.delete(id);
    this.#fill();
  }

  /** The owner cancelled the file's fetch: it stops here; what was asked and comes later is dropped. */
  #cancelled(id: string): void {
    this.#active.delete(id);
    this.#waits.forget(id);
    this.#init.replica.status?.(id, null);
    this.#fill();
  }

  // ---- fetching ----

  /**
   * Linked members of the room it is fetched through that are not known bad for it, in a rotating order; those that
   * let a request go unanswered lately come last.
   */
  #sources(t: Transfer): string[] {
    const all = this.#init.members(t.room).filter((p) => !t.bad.has(p));
    if (all.length < 2) return all;
    const start = this.#turn++ % all.length;
    const now = Date.now();
    const silent = (p: string) => Number((this.#silent.get(p) ?? 0) > now);
    return [...all.slice(start), ...all.slice(0, start)].sort((a, b) => silent(a) - silent(b));
  }

  #lacks(t: Transfer, peer: string, index: number, now: number): boolean {
    const until = t.lacking.get(peer)?.get(index);
    return until !== undefined && until > now;
  }

  /** The peer let a request go unanswered: it is asked last for a while. */
  #hushed(peer: string, now: number): void {
    this.#silent.set(peer, now + SILENT_MS);
    if (this.#silent.size > 1000) this.#silent.delete(this.#silent.keys().next().value!);
  }

  #lack(t: Transfer, peer: string, index: number, now: number): void {
    const lacking = t.lacking.get(peer) ?? t.lacking.set(peer, new Map()).get(peer)!;
    lacking.set(index, now + LACK_BACKOFF_MS);
  }

  /** Asks for the manifest, or fills each source's window with chunks not yet asked for. */
  #pump(t: Transfer): void {
    if (this.#active.get(t.id) !== t) return;
    const now = Date.now();
    const sources = this.#sources(t);
    if (!t.manifest) {
      if (t.manifestAsked) return;
      // A member answers a few manifest requests at a time: one that never answers holds only that many lookups.
      const asked = new Map<string, number>();
      for (const other of this.#active.values()) if (other.manifestAsked) asked.set(other.manifestAsked.peer, (asked.get(other.manifestAsked.peer) ?? 0) + 1);
      const willing = sources.filter((p) => !this.#lacks(t, p, MANIFEST, now));
      if (willing.length === 0) return this.#yield(t, sources.length === 0 ? "no member of its room is linked" : "no member of its room sent its manifest");
      const peer = willing.find((p) => (asked.get(p) ?? 0) < LOOKUPS_PER_PEER);
      if (!peer) {
        // Those that may have it are busy with other lookups: its turn comes again in a moment, with no wait counted.
        this.#active.delete(t.id);
        this.#waits.defer(t.id, t.rooms, BUSY_WAIT_MS);
        this.#init.replica.status?.(t.id, null);
        return;
      }
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
    if (sources.length === 0 && t.inFlight.size === 0 && t.storing.size === 0) this.#yield(t, "no member of its room is linked");
  }

  #windowOf(peer: string): ChunkWindow {
    return this.#windows.get(peer) ?? this.#windows.set(peer, new ChunkWindow()).get(peer)!;
  }

  #ask(peer: string, t: Transfer, chunks: number[]): boolean {
    return this.#send(peer, { type: "want", file: t.id, room: t.room, chunks });
  }

  #onManifest(from: string, frame: ManifestFrame, binary: Uint8Array): void {
    const t = this.#active.get(frame.file);
    if (!t || t.manifest || t.manifestAsked?.peer !== from) return;
    t.manifestAsked = null;
    const hashes: string[] = [];
    for (let at = 0; at + 32 <= binary.byteLength; at += 32) hashes.push(Buffer.from(binary.subarray(at, at + 32)).toString("hex"));
    const problem =
      binary.byteLength !== 32 * chunkCount(frame.size)
        ? "its chunk hashes do not match its size"
        : fileIdOf(hashes) !== t.id
          ? "its chunk hashes are not the file's"
          : null;
    if (problem) return this.#bad(t, from, `a manifest of file ${t.id}: ${problem}`);
    const { replica } = this.#init;
    const known = replica.manifest(t.id);
    if (!known) replica.register({ id: t.id, size: frame.size, hashes });
    const manifest = known ?? { id: t.id, size: frame.size, hashes };
    // The size a message gave is only its author's word: the manifest's (its chunk count, then its last chunk) decides.
    if (!replica.mayStore(manifest.size, manifest.size - replica.have(t.id, t.room)) || !replica.fetches(t.id, manifest.size)) {
      this.#active.delete(t.id);
      this.#skipped.add(t.id);
      replica.status?.(t.id, null);
      this.#log(`not fetching file ${t.id} (${manifest.size} bytes by its manifest): over the size limit, the disk's margin or what is fetched by itself`);
      this.#init.onProgress?.(t.id, t.held);
      return this.#fill();
    }
    replica.open(t.id, t.room);
    t.manifestFrom = frame.size === manifest.size ? from : null;
    // Its chunks wait for a place among the files being fetched; the manifest came through the room, and stays.
    if (this.#counts().fetching >= MAX_ACTIVE) {
      this.#active.delete(t.id);
      replica.status?.(t.id, null);
      return;
    }
    this.#begin(t, manifest);
  }

  /** The manifest came through the transfer's room: the chunks that did not, the last one first (it proves the size). */
  #begin(t: Transfer, manifest: FileManifest): void {
    t.manifest = manifest;
    t.size = manifest.size;
    t.movedAt = Date.now();
    const missing = this.#init.replica.missing(t.id, t.room);
    const last = manifest.hashes.length - 1;
    t.todo = new Set(missing.includes(last) ? [last, ...missing.filter((i) => i !== last)] : missing);
    t.held = this.#init.replica.have(t.id, t.room);
    if (t.todo.size === 0) return this.#complete(t);
    this.#pump(t);
  }

  #onChunk(from: string, frame: ChunkFrame, data: Uint8Array): void {
    const t = this.#active.get(frame.file);
    if (!t?.manifest) return;
    // Any chunk still wanted, from a member of its room: one that came late (its request went elsewhere) is as good.
    if (!t.todo.has(frame.index) && !t.inFlight.has(frame.index)) return;
    const theirs = this.#init.peerRooms(from);
    if (!theirs.includes(t.room)) return;
    const flight = t.inFlight.get(frame.index);
    if (flight?.peer === from) this.#windowOf(from).arrived(Date.now() - flight.at);
    t.inFlight.delete(frame.index);
    t.todo.delete(frame.index);
    t.storing.set(frame.index, from);
    const bytes = data.byteLength; // read now: putChunk takes the chunk's memory
    // It came through every room of the file the sender proved: each of them needs it no more.
    const rooms = t.rooms.filter((room) => theirs.includes(room));
    this.#init.replica.putChunk(t.manifest, frame.index, data, rooms).then(
      (stored) => this.#stored(t, from, frame.index, bytes, stored),
      (err: Error) => this.#notStored(t, frame.index, err),
    );
  }

  /** A chunk that came was checked (and stored when it matched). */
  #stored(t: Transfer, from: string, index: number, bytes: number, stored: boolean): void {
    t.storing.delete(index);
    // A transfer stopped or finished meanwhile: what is stored counts when the file is looked at again.
    if (this.#active.get(t.id) !== t || !t.manifest) return;
    if (!stored) {
      t.todo.add(index);
      return this.#bad(t, from, `chunk ${index} of file ${t.id} failed its hash`);
    }
    const last = t.manifest.hashes.length - 1;
    if (index === last && (last * CHUNK_BYTES + bytes !== t.manifest.size)) this.#sizeBelied(t, last * CHUNK_BYTES + bytes);
    t.held += bytes;
    t.movedAt = Date.now();
    this.#received.set(from, (this.#received.get(from) ?? 0) + 1);
    memoryValve.moved(bytes);
    this.#init.onProgress?.(t.id, t.held);
    if (t.todo.size === 0 && t.inFlight.size === 0 && t.storing.size === 0) return this.#complete(t);
    if (Date.now() - t.haveSentAt >= HAVE_EVERY_MS) this.#announce(t);
    this.#pump(t);
  }

  /**
   * The last chunk (checked against its hash) is not as long as the manifest's size says: that size was a lie. The
   * file's size is what its chunks add up to (set when it is whole); whoever sent that size is not asked again.
   */
  #sizeBelied(t: Transfer, size: number): void {
    const liar = t.manifestFrom;
    this.#log(`file ${t.id} is ${size} bytes, not the ${t.manifest!.size} its manifest said`);
    t.manifest = { ...t.manifest!, size };
    t.size = size;
    t.manifestFrom = null;
    if (liar) this.#bad(t, liar, `a manifest of file ${t.id}: its size is not what its last chunk makes it`);
  }

  /** A chunk could not be stored (the disk, the database): the file waits until `refresh` looks again. */
  #notStored(t: Transfer, index: number, err: Error): void {
    t.storing.delete(index);
    if (this.#active.get(t.id) !== t) return;
    this.#log(`not fetching file ${t.id} for now: ${err.message}`);
    this.#active.delete(t.id);
    this.#init.replica.status?.(t.id, null);
    this.#skipped.add(t.id);
    this.#fill();
  }

  #onLack(from: string, frame: LackFrame): void {
    const t = this.#active.get(frame.file);
    if (!t) return;
    const now = Date.now();
    if (frame.chunks.length === 0) {
      if (t.manifestAsked?.peer === from) t.manifestAsked = null;
      this.#lack(t, from, MANIFEST, now);
    }
    for (const index of frame.chunks) {
      if (t.inFlight.get(index)?.peer !== from) continue;
      t.inFlight.delete(index);
      t.todo.add(index);
      this.#lack(t, from, index, now);
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
    const { replica } = this.#init;
    const missing = replica.missing(t.id, t.room);
    if (missing.length > 0) {
      t.todo = new Set(missing);
      return this.#pump(t);
    }
    replica.complete(t.id, t.room);
    for (const room of t.rooms) if (room !== t.room && replica.missing(t.id, room).length === 0) replica.complete(t.id, room);
    this.#server.forget(t.id);
    this.#active.delete(t.id);
    this.#waits.forget(t.id);
    replica.status?.(t.id, null);
    t.held = replica.have(t.id, t.room);
    this.#init.onProgress?.(t.id, t.held);
    this.#announce(t);
    this.#fill();
  }

  /** Tells the members of the room it comes through how much of the file is here. */
  #announce(t: Transfer): void {
    t.haveSentAt = Date.now();
    for (const peer of this.#init.members(t.room)) this.#send(peer, { type: "have", file: t.id, bytes: t.held });
  }

  #onHave(from: string, frame: HaveFrame): void {
    if (this.#init.peerRooms(from).some((room) => this.#init.replica.carries(room, frame.file))) {
      this.#init.onPeerHave?.(frame.file, from, frame.bytes);
    }
  }

  #send(peer: string, frame: Frame): boolean {
    return this.#init.links.send(peer, encodeFrame(frame));
  }
}
