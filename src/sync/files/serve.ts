/**
 * Serving files to members: a `want` is answered only for a member of the room it names, for a file a message of that
 * room carries, with what came through that room (storage/file-rooms.ts), never what another room brought. Serving
 * yields to chat: a chunk goes out only while the peer's link has less than LOW_WATER bytes waiting, so a chat frame
 * never queues behind more than that; requests wait (in a bounded queue) until the link drains.
 */
import type { FileManifest } from "../../storage/files.ts";
import { RateLimiter } from "../../util/rate-limit.ts";
import { memoryValve } from "../../util/memory.ts";
import { encodeFrame, encodeFrameParts } from "../codec.ts";
import { LIMITS, type Frame, type WantFrame } from "../frames.ts";
import type { FileLinks, FileReplica } from "./ports.ts";

/** Chunk frames go out only while the link holds fewer bytes than this: chat never waits behind more. */
const LOW_WATER = 512 * 1024;
/** Chunks served to one peer before the event loop gets its turn again. */
const CHUNKS_PER_TURN = 2;
/** Requests a peer may have queued here; past it they are answered with `lack`. */
const MAX_QUEUED_REQUESTS = 4 * LIMITS.chunksPerRequest;
/** Chunks a peer may ask for per second (2 000 × 256 KiB = 500 MB/s). */
const CHUNK_REQUESTS_PER_SECOND = 2000;
/** Manifests of files served lately kept in memory: one is read from the database for each file, not each chunk. */
const SERVED_MANIFESTS = 16;

export interface FileServerInit {
  replica: FileReplica;
  links: FileLinks;
  /** Linked peers that proved they hold the room. */
  members(roomId: string): string[];
}

export class FileServer {
  readonly #init: FileServerInit;
  /** Per peer, the chunk requests waiting for its link to drain, with the room each was asked in. */
  readonly #queues = new Map<string, { file: string; room: string; index: number }[]>();
  /** Per peer waiting to be served again, how to cancel that wait. */
  readonly #waits = new Map<string, () => void>();
  readonly #requests = new RateLimiter({ perSecond: CHUNK_REQUESTS_PER_SECOND, burst: 2 * CHUNK_REQUESTS_PER_SECOND });
  readonly #manifests = new Map<string, FileManifest>();
  /** Chunks sent to each peer since start (for `/peers`). */
  readonly #sent = new Map<string, number>();

  constructor(init: FileServerInit) {
    this.#init = init;
  }

  stop(): void {
    for (const cancel of this.#waits.values()) cancel();
    this.#waits.clear();
    this.#queues.clear();
  }

  /** The peer's link changed or went: what it asked of the old link is forgotten (it asks again). */
  peerChanged(nodeId: string): void {
    this.#queues.delete(nodeId);
  }

  /** Chunks sent to the peer since start. */
  sent(nodeId: string): number {
    return this.#sent.get(nodeId) ?? 0;
  }

  /** Answers a `want`: the manifest, chunks as the link drains, or `lack` for what this member may not have of us. */
  want(from: string, frame: WantFrame): void {
    const { replica } = this.#init;
    const member = this.#init.members(frame.room).includes(from) && replica.carries(frame.room, frame.file);
    const manifest = member && replica.servable(frame.file, frame.room, null) ? this.#manifest(frame.file) : null;
    if (!manifest) return void this.#send(from, { type: "lack", file: frame.file, chunks: frame.chunks });
    if (frame.chunks.length === 0) {
      const hashes = Buffer.concat(manifest.hashes.map((h) => Buffer.from(h, "hex")));
      return void this.#send(from, { type: "manifest", file: manifest.id, size: manifest.size }, hashes);
    }
    const queue = this.#queues.get(from) ?? this.#queues.set(from, []).get(from)!;
    const refused: number[] = [];
    for (const index of frame.chunks) {
      if (index >= manifest.hashes.length || queue.length >= MAX_QUEUED_REQUESTS || !this.#requests.take(from)) refused.push(index);
      else queue.push({ file: frame.file, room: frame.room, index });
    }
    if (refused.length > 0) this.#send(from, { type: "lack", file: frame.file, chunks: refused });
    this.#serve(from);
  }

  /** Sends queued chunks while the peer's link has room, then waits for it to drain. */
  #serve(peer: string): void {
    const queue = this.#queues.get(peer);
    if (!queue || this.#waits.has(peer)) return;
    const again = () => {
      this.#waits.delete(peer);
      this.#serve(peer);
    };
    // After the events waiting now (setTimeout(0) would wait a whole ms, a ms that a fast link idles).
    const nextTurn = () => {
      const immediate = setImmediate(again);
      this.#waits.set(peer, () => clearImmediate(immediate));
    };
    const later = (ms: number) => {
      const timer = setTimeout(again, ms);
      this.#waits.set(peer, () => clearTimeout(timer));
    };
    for (let served = 0; queue.length > 0; served++) {
      const buffered = this.#init.links.buffered(peer);
      if (buffered === null) return void this.#queues.delete(peer);
      if (buffered >= LOW_WATER) return later(2);
      // A few chunks at a time, so requests (a message sent, a page) get their turn in between.
      if (served === CHUNKS_PER_TURN) return nextTurn();
      const { file, room, index } = queue.shift()!;
      const manifest = this.#manifest(file);
      // Only what came through the room it was asked in: checked as it goes out, the room's state may have moved on.
      const data = manifest && this.#init.replica.servable(file, room, index) ? this.#init.replica.chunk(manifest, index) : null;
      if (!data) {
        this.#send(peer, { type: "lack", file, chunks: [index] });
        continue;
      }
      if (!this.#send(peer, { type: "chunk", file, index }, data)) return void this.#queues.delete(peer);
      this.#sent.set(peer, (this.#sent.get(peer) ?? 0) + 1);
      memoryValve.moved(data.byteLength);
    }
    this.#queues.delete(peer);
  }

  /** The manifest of a file known here, from a cache of the last few. */
  #manifest(file: string): FileManifest | null {
    const cached = this.#manifests.get(file);
    if (cached) return cached;
    const manifest = this.#init.replica.manifest(file);
    if (!manifest) return null;
    this.#manifests.set(file, manifest);
    if (this.#manifests.size > SERVED_MANIFESTS) this.#manifests.delete(this.#manifests.keys().next().value!);
    return manifest;
  }

  /** A file's size changed here (whole now, counted from its chunks): its cached manifest is stale. */
  forget(file: string): void {
    this.#manifests.delete(file);
  }

  #send(peer: string, frame: Frame, binary?: Uint8Array): boolean {
    return this.#init.links.send(peer, binary ? encodeFrameParts(frame, binary) : encodeFrame(frame));
  }
}
