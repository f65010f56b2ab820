/**
 * Wanted files that no member served when last tried (none linked, all lacked it, or none answered): each waits before
 * it is tried again, twice as long each time, so a file nobody has never holds a transfer's place for good and costs
 * a request now and then; a member of its rooms linking brings its turn at once.
 */

/** The first wait after a file found no source, and the longest. */
export const FIRST_WAIT_MS = 5000;
export const LONGEST_WAIT_MS = 10 * 60_000;
/** Files remembered as waiting at most; past it the one waiting longest is forgotten (so tried again sooner). */
const MAX_WAITING = 10_000;

export class FileWaits {
  readonly #waits = new Map<string, { until: number; delay: number; rooms: readonly string[] }>();

  /** The file found no source: it waits, longer than last time; answers the wait in ms. */
  wait(file: string, rooms: readonly string[], now = Date.now()): number {
    const last = this.#waits.get(file);
    const delay = last && last.delay > 0 ? Math.min(LONGEST_WAIT_MS, last.delay * 2) : FIRST_WAIT_MS;
    // Jittered, so files that failed together are not all tried again in the same tick.
    const wait = Math.round(delay * (0.8 + 0.4 * Math.random()));
    this.#waits.delete(file);
    this.#waits.set(file, { until: now + wait, delay, rooms });
    if (this.#waits.size > MAX_WAITING) this.#waits.delete(this.#waits.keys().next().value!);
    return wait;
  }

  /** The file's sources are busy, not lacking it: it waits `ms`, and its next wait is no longer for it. */
  defer(file: string, rooms: readonly string[], ms: number, now = Date.now()): void {
    const delay = this.#waits.get(file)?.delay ?? 0;
    this.#waits.delete(file);
    this.#waits.set(file, { until: now + ms, delay, rooms });
    if (this.#waits.size > MAX_WAITING) this.#waits.delete(this.#waits.keys().next().value!);
  }

  /** Whether the file is still waiting for its next try. */
  waiting(file: string, now = Date.now()): boolean {
    const entry = this.#waits.get(file);
    return entry !== undefined && entry.until > now;
  }

  /** Files waiting that one of `rooms` carries are tried at the next look (a member of those rooms linked). */
  wakeRooms(rooms: readonly string[]): void {
    if (rooms.length === 0) return;
    for (const entry of this.#waits.values()) if (entry.rooms.some((r) => rooms.includes(r))) entry.until = 0;
  }

  /** The file is tried at the next look, its wait kept for the next failure (the owner asked for it). */
  wake(file: string): void {
    const entry = this.#waits.get(file);
    if (entry) entry.until = 0;
  }

  /** The file came, or is no longer wanted: forgotten. */
  forget(file: string): void {
    this.#waits.delete(file);
  }

  get size(): number {
    return this.#waits.size;
  }
}
