export interface RateLimitInit {
  /** Tokens added per second. */
  perSecond: number;
  /** Most tokens a key can save up, i.e. the largest burst. @default perSecond */
  burst?: number;
  /** Keys tracked at most; the stalest are dropped beyond it. @default 10000 */
  maxKeys?: number;
  /** Clock in ms, for tests. @default Date.now */
  now?: () => number;
}

/** A token bucket per key (an IP address, a connection): `take(key)` is false when the key is over its rate. */
export class RateLimiter {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  readonly #perSecond: number;
  readonly #burst: number;
  readonly #maxKeys: number;
  readonly #now: () => number;

  constructor(init: RateLimitInit) {
    this.#perSecond = init.perSecond;
    this.#burst = init.burst ?? init.perSecond;
    this.#maxKeys = init.maxKeys ?? 10_000;
    this.#now = init.now ?? Date.now;
  }

  /** Takes `cost` tokens (1 unless told: bytes, say) from the key's bucket; false, taking none, when it holds fewer. */
  take(key: string, cost = 1): boolean {
    const now = this.#now();
    let bucket = this.#buckets.get(key);
    if (bucket) {
      bucket.tokens = Math.min(this.#burst, bucket.tokens + ((now - bucket.at) / 1000) * this.#perSecond);
      bucket.at = now;
      this.#buckets.delete(key); // re-inserted below so Map order stays least-recently-used first
    } else {
      bucket = { tokens: this.#burst, at: now };
      if (this.#buckets.size >= this.#maxKeys) this.#buckets.delete(this.#buckets.keys().next().value!);
    }
    this.#buckets.set(key, bucket);
    if (bucket.tokens < cost) return false;
    bucket.tokens -= cost;
    return true;
  }

  forget(key: string): void {
    this.#buckets.delete(key);
  }
}
