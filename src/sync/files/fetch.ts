/**
 * Fetching files, the fetching half of FileSync. Every member fetches the files its rooms' messages carry that its
 * owner's settings (or choice) say to fetch, through the room that carries them, each in a Transfer (transfer.ts): the
 * manifest from a member of that room, then the chunks that have not come through that room, from its linked members,
 * with a window of requests per peer (as Syncthing pulls blocks from several devices: sources.ts), as large as the
 * peer's link carries without chunks queueing in it for more than a few ms (chunk-window.ts). A transfer cut by
 * failover, a restart or a dead peer goes on from what is stored.
 *
 * This is which files, when: wanted files are taken on turn by turn (a cursor over their ids), up to MAX_LOOKUPS
 * looking for their manifest and MAX_ACTIVE fetching their chunks. A file nobody serves yields its place: a manifest
 * asked of every source in vain, or chunks that stop coming, send the file to wait (waits.ts) and the next one takes
 * its turn. Manifests are looked up beside the transfers, so references to files nobody has cannot hold up one that is
 * on its way.
 */
import { encodeFrame } from "../codec.ts";
import type { ChunkFrame, HaveFrame, LackFrame, ManifestFrame } from "../frames.ts";
import type { FileSyncInit, WantedFetch } from "./ports.ts";
import { Sources } from "./sources.ts";
import { Transfer, type TransferEnd, type TransferHost } from "./transfer.ts";
import { FileWaits } from "./waits.ts";

export interface FetchInit extends FileSyncInit {
  /** A file is whole here: its size is now what its chunks add up to. */
  onWhole?(fileId: string): void;
}

/** Files whose chunks are fetched at once; the others wait their turn. */
const MAX_ACTIVE = 4;
/** Files whose manifest is asked for at once, beside those. */
const MAX_LOOKUPS = 16;
/** A file whose sources are all busy with lookups is looked at again this soon. */
const BUSY_WAIT_MS = 250;
/** Wanted files looked at per page, and pages per look. */
const PAGE = 64;
const PAGES_PER_LOOK = 4;
const TICK_MS = 250;

export class FileFetcher {
  readonly #init: FetchInit;
  readonly #log: (line: string) => void;
  readonly #sources = new Sources();
  readonly #host: TransferHost;
  readonly #active = new Map<string, Transfer>();
  readonly #waits = new FileWaits();
  /** Files that cannot be stored here (too big, no disk): not tried again until `refresh`. */
  readonly #skipped = new Set<string>();
  #timer: ReturnType<typeof setInterval> | undefined;
  #unwatch: (() => void) | undefined;
  /** Where the next look at the wanted files starts: each gets its turn, whatever its id. */
  #cursor = "";
  #filling = false;

  constructor(init: FetchInit) {
    this.#init = init;
    const log = (this.#log = init.log ?? (() => {}));
    this.#host = {
      replica: init.replica,
      sources: this.#sources,
      members: (room) => init.members(room),
      peerRooms: (nodeId) => init.peerRooms(nodeId),
      send: (peer, frame) => init.links.send(peer, encodeFrame(frame)),
      log,
      progress: (fileId, bytes) => init.onProgress?.(fileId, bytes),
      runs: (t) => this.#active.get(t.id) === t,
      lookups: () => this.#lookups(),
      hasPlace: () => this.#counts().fetching < MAX_ACTIVE,
      ended: (t, end, why) => this.#ended(t, end, why),
      next: () => this.#fill(),
      bad: (peer, why) => {
        init.penalize(peer, why);
        this.peerChanged(peer);
      },
    };
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
    for (const t of this.#active.values()) t.pump();
  }

  /** A peer's primary link changed or went: what was asked of it may be lost with the old link, so ask again. */
  peerChanged(nodeId: string): void {
    for (const t of this.#active.values()) t.peerChanged(nodeId);
    // Another path: its round trips are learnt afresh.
    this.#sources.newPath(nodeId);
    for (const t of this.#active.values()) t.pump();
  }

  /** A frame answering what was asked (a manifest, a chunk, a lack), or a member saying how much of a file it holds. */
  receive(from: string, frame: ManifestFrame | ChunkFrame | LackFrame | HaveFrame, binary: Uint8Array): void {
    if (frame.type === "have") return this.#onHave(from, frame);
    const t = this.#active.get(frame.file);
    if (frame.type === "manifest") t?.manifestCame(from, frame, binary);
    else if (frame.type === "chunk") t?.chunkCame(from, frame.index, binary);
    else t?.lacked(from, frame.chunks);
  }

  /** Chunks stored from the peer since start. */
  received(nodeId: string): number {
    return this.#sources.received(nodeId);
  }

  /** Files being fetched now (their chunks, or their manifest), with the bytes held of each. */
  transfers(): { id: string; size: number; held: number; peers: number }[] {
    return [...this.#active.values()].map((t) => ({ id: t.id, size: t.size, held: t.held, peers: t.peers }));
  }

  #tick(): void {
    const now = Date.now();
    this.#fill();
    for (const t of [...this.#active.values()]) t.tick(now);
  }

  #counts(): { fetching: number; lookups: number } {
    let fetching = 0;
    for (const t of this.#active.values()) if (t.phase !== "manifest") fetching++;
    return { fetching, lookups: this.#active.size - fetching };
  }

  #lookups(): Map<string, number> {
    const asked = new Map<string, number>();
    for (const t of this.#active.values()) {
      const peer = t.lookingUp;
      if (peer !== null) asked.set(peer, (asked.get(peer) ?? 0) + 1);
    }
    return asked;
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
    const t = new Transfer(this.#host, { id: want.id, size: manifest?.size ?? want.size, rooms: want.rooms }, chosen.room);
    this.#active.set(want.id, t);
    replica.status?.(t.id, "fetching");
    t.start(manifest);
    return manifest ? "fetching" : "lookup";
  }

  /** Bytes of the file here through any of its wanted rooms (what need not be stored again). */
  #heldAnywhere(want: WantedFetch): number {
    return Math.max(0, ...want.rooms.map((room) => this.#init.replica.have(want.id, room)));
  }

  /** A transfer ended: its place is free (taken again at the transfer's `next`). */
  #ended(t: Transfer, end: TransferEnd, why = ""): void {
    this.#active.delete(t.id);
    if (end === "waits") return this.#wait(t.id, t.rooms, why);
    if (end === "busy") this.#waits.defer(t.id, t.rooms, BUSY_WAIT_MS);
    if (end === "skipped") this.#skipped.add(t.id);
    if (end === "whole") {
      this.#init.onWhole?.(t.id);
      this.#waits.forget(t.id);
    }
    this.#init.replica.status?.(t.id, null);
    if (end === "skipped") this.#log(why);
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

  #onHave(from: string, frame: HaveFrame): void {
    if (this.#init.peerRooms(from).some((room) => this.#init.replica.carries(room, frame.file))) {
      this.#init.onPeerHave?.(frame.file, from, frame.bytes);
    }
  }
}
