import { LIMITS } from "./frames.ts";
import { RateLimiter } from "../util/rate-limit.ts";

/**
 * New authors one peer may bring into a room that holds half its places or more: a burst, then a rate. A room less
 * crowded takes them as they come (a newcomer's catch-up brings every author at once); past it, a flood of invented
 * authors slows to this, and in a full room makes its place out of its own flood (src/storage/authors.ts). A linked
 * peer that proved the room, writing its own messages, is always taken: its place costs it a link.
 */
export const NEW_AUTHORS = { burst: 2000, perSecond: 20, crowded: LIMITS.originsPerRoom / 2 };

export class NewAuthors {
  readonly #buckets = new RateLimiter({ perSecond: NEW_AUTHORS.perSecond, burst: NEW_AUTHORS.burst, maxKeys: 4096 });
  /** When each peer was last named in the log for bringing authors too fast. */
  readonly #told = new Map<string, number>();

  constructor(private readonly log: (line: string) => void) {}

  /**
   * Whether `from` may bring `origin`, an author new to a room that holds `authors`. What it may not waits for a
   * later catch-up (src/sync/sent-marks.ts), and is not counted against it: what it forwards may be honest.
   */
  allows(from: string, origin: string, authors: number): boolean {
    if (origin === from || authors < NEW_AUTHORS.crowded || this.#buckets.take(from)) return true;
    const now = Date.now();
    if (now - (this.#told.get(from) ?? 0) > 60_000) {
      this.#told.delete(from);
      this.#told.set(from, now);
      if (this.#told.size > 4096) this.#told.delete(this.#told.keys().next().value!);
      this.log(`${from} brings new authors into a crowded room faster than ${NEW_AUTHORS.perSecond} a second: the rest wait for a later catch-up`);
    }
    return false;
  }
}
