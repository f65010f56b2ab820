/**
 * Places held per source, with a share per source and a total, fairly: when every place is held, a newcomer from a
 * source holding fewer takes the oldest place of the source holding the most. So one source can take at most its share,
 * and a crowd of sources cannot keep a new one out for good. For what is held while it proves itself (a handshake, a
 * signaling session); the transports' own connection slots are src/transport/source-slots.ts.
 */

export interface ShareLimits {
  /** Places one source may hold. */
  share: number;
  /** Places in all. */
  total: number;
}

export class FairShares<T> {
  /** Per source, its items, oldest first. */
  readonly #held = new Map<string, Set<T>>();
  readonly #sourceOf = new Map<T, string>();

  /** `evict` ends an item whose place a newcomer takes (the item's own end then calls `release`, which does nothing). */
  constructor(
    readonly limits: ShareLimits,
    private readonly evict: (item: T) => void,
  ) {}

  get size(): number {
    return this.#sourceOf.size;
  }

  /** Places `source` holds now. */
  heldBy(source: string): number {
    return this.#held.get(source)?.size ?? 0;
  }

  /** Takes a place for `item` from `source`, making room if need be; false when its source holds its share, or none holds more. */
  take(source: string, item: T): boolean {
    const held = this.#held.get(source) ?? new Set<T>();
    if (held.size >= this.limits.share) return false;
    if (this.size >= this.limits.total && !this.#makeRoom(held.size)) return false;
    held.add(item);
    this.#held.set(source, held);
    this.#sourceOf.set(item, source);
    return true;
  }

  /** Gives `item`'s place back; nothing when it holds none. */
  release(item: T): void {
    const source = this.#sourceOf.get(item);
    if (source === undefined) return;
    this.#sourceOf.delete(item);
    const held = this.#held.get(source)!;
    held.delete(item);
    if (held.size === 0) this.#held.delete(source);
  }

  /** Ends the oldest item of the source holding the most, when it holds more than `than`. */
  #makeRoom(than: number): boolean {
    let most: Set<T> | undefined;
    for (const held of this.#held.values()) if (!most || held.size > most.size) most = held;
    const oldest: T | undefined = most && most.size > than ? most.values().next().value : undefined;
    if (oldest === undefined) return false;
    this.release(oldest);
    this.evict(oldest);
    return true;
  }
}
