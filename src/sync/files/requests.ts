/**
 * A transfer's chunks as they stand (transfer.ts): to do, asked of a member (and when), or come and being stored (and
 * from whom: a chunk holds its sender's place in the window until stored); and, per member, what it lacked lately,
 * so it is not asked for that again before LACK_BACKOFF_MS. The manifest counts as chunk MANIFEST there.
 */

/** A peer that said it lacks a chunk (or the manifest), or never answered, is not asked for it again before this. */
const LACK_BACKOFF_MS = 3000;
export const MANIFEST = -1;

export class ChunkRequests {
  /** Chunks neither here nor asked for, in the order they are asked. */
  #todo = new Set<number>();
  readonly #inFlight = new Map<number, { peer: string; at: number }>();
  readonly #storing = new Map<number, string>();
  /** Per peer, chunk (MANIFEST for the manifest) it lacked, and until when it is not asked again. */
  readonly #lacking = new Map<string, Map<number, number>>();

  /** The chunks to fetch, in the order they are asked. */
  reset(chunks: readonly number[]): void {
    this.#todo = new Set(chunks);
  }

  get todo(): number {
    return this.#todo.size;
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  get storing(): number {
    return this.#storing.size;
  }

  /** Members asked for chunks now. */
  get peers(): number {
    return new Set([...this.#inFlight.values()].map((f) => f.peer)).size;
  }

  /** Whether the chunk is still wanted: to do, or asked of someone. */
  wants(index: number): boolean {
    return this.#todo.has(index) || this.#inFlight.has(index);
  }

  /** The peer's link changed or went: what was asked of it may be lost with the old link, so it is to do again. */
  dropPeer(peer: string): void {
    for (const [index, flight] of this.#inFlight) if (flight.peer === peer) this.#requeue(index);
  }

  /** Requests unanswered for longer than `ms` go back to do, not asked of their peer again for a while; answers those peers, one per request. */
  expire(now: number, ms: number): string[] {
    const silent: string[] = [];
    for (const [index, flight] of this.#inFlight) {
      if (now - flight.at <= ms) continue;
      silent.push(flight.peer);
      this.#requeue(index);
      this.lack(flight.peer, index, now);
    }
    return silent;
  }

  /** Per peer, the chunks asked of it or being stored from it. */
  busy(): Map<string, number> {
    const busy = new Map<string, number>();
    for (const flight of this.#inFlight.values()) busy.set(flight.peer, (busy.get(flight.peer) ?? 0) + 1);
    for (const peer of this.#storing.values()) busy.set(peer, (busy.get(peer) ?? 0) + 1);
    return busy;
  }

  /** Up to `free` chunks to do that the peer has not lacked lately, in order. */
  pick(peer: string, free: number, now: number): number[] {
    const picked: number[] = [];
    for (const index of this.#todo) {
      if (picked.length >= free) break;
      if (!this.lacks(peer, index, now)) picked.push(index);
    }
    return picked;
  }

  /** The chunks were asked of the peer. */
  asked(peer: string, chunks: readonly number[], now: number): void {
    for (const index of chunks) {
      this.#todo.delete(index);
      this.#inFlight.set(index, { peer, at: now });
    }
  }

  /** The chunk came from `from` and is being stored; answers when it was asked, if of `from`. */
  came(index: number, from: string): number | undefined {
    const flight = this.#inFlight.get(index);
    this.#inFlight.delete(index);
    this.#todo.delete(index);
    this.#storing.set(index, from);
    return flight?.peer === from ? flight.at : undefined;
  }

  /** The chunk that came was checked (and stored, or not): its sender's place is free. */
  stored(index: number): void {
    this.#storing.delete(index);
  }

  /** The chunk is to do again (it failed its hash). */
  redo(index: number): void {
    this.#todo.add(index);
  }

  /** The peer lacks the chunks: those asked of it are to do again, not of it for a while. */
  lacked(peer: string, chunks: readonly number[], now: number): void {
    for (const index of chunks) {
      if (this.#inFlight.get(index)?.peer !== peer) continue;
      this.#requeue(index);
      this.lack(peer, index, now);
    }
  }

  lacks(peer: string, index: number, now: number): boolean {
    const until = this.#lacking.get(peer)?.get(index);
    return until !== undefined && until > now;
  }

  lack(peer: string, index: number, now: number): void {
    const lacking = this.#lacking.get(peer) ?? this.#lacking.set(peer, new Map()).get(peer)!;
    lacking.set(index, now + LACK_BACKOFF_MS);
  }

  #requeue(index: number): void {
    this.#inFlight.delete(index);
    this.#todo.add(index);
  }
}
