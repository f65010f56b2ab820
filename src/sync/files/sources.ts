/**
 * The members chunks are fetched from, as the fetcher knows them across files: each one's window of requests
 * (chunk-window.ts), whether it let a request go unanswered lately (it is then asked after the others), how many chunks
 * were stored from it, and whose turn it is to be asked first, so load spreads over them.
 */
import { ChunkWindow } from "./chunk-window.ts";

/** A peer that let a request go unanswered is asked after the others for this long. */
const SILENT_MS = 60_000;
/** Silent peers remembered at most; past it the one marked first is forgotten. */
const MAX_SILENT = 1000;

export class Sources {
  /** Per peer, how many chunk requests it may have in flight (set by how long its chunks take). */
  readonly #windows = new Map<string, ChunkWindow>();
  /** Peers that let a request go unanswered, and until when they are asked last. */
  readonly #silent = new Map<string, number>();
  /** Chunks stored from each peer since start (for `/peers`). */
  readonly #received = new Map<string, number>();
  /** Which peer is asked first next time. */
  #turn = 0;

  /** `peers` in a rotating order; those that let a request go unanswered lately come last. */
  order(peers: string[]): string[] {
    if (peers.length < 2) return peers;
    const start = this.#turn++ % peers.length;
    const now = Date.now();
    const silent = (p: string) => Number((this.#silent.get(p) ?? 0) > now);
    return [...peers.slice(start), ...peers.slice(0, start)].sort((a, b) => silent(a) - silent(b));
  }

  /** Chunk requests the peer may have in flight now. */
  window(peer: string): number {
    return this.#windowOf(peer).size;
  }

  /** A chunk asked of the peer `rttMs` ago has come. */
  arrived(peer: string, rttMs: number): void {
    this.#windowOf(peer).arrived(rttMs);
  }

  /** A request to the peer went unanswered in time: its window shrinks (if it has one), and it is asked last for a while. */
  unanswered(peer: string, now: number): void {
    this.#windows.get(peer)?.lost();
    this.hushed(peer, now);
  }

  /** The peer let a request go unanswered: it is asked last for a while. */
  hushed(peer: string, now: number): void {
    this.#silent.set(peer, now + SILENT_MS);
    if (this.#silent.size > MAX_SILENT) this.#silent.delete(this.#silent.keys().next().value!);
  }

  /** The peer's link changed: its round trips are learnt afresh. */
  newPath(peer: string): void {
    this.#windows.delete(peer);
  }

  /** A chunk from the peer was stored. */
  stored(peer: string): void {
    this.#received.set(peer, (this.#received.get(peer) ?? 0) + 1);
  }

  /** Chunks stored from the peer since start. */
  received(peer: string): number {
    return this.#received.get(peer) ?? 0;
  }

  #windowOf(peer: string): ChunkWindow {
    return this.#windows.get(peer) ?? this.#windows.set(peer, new ChunkWindow()).get(peer)!;
  }
}
