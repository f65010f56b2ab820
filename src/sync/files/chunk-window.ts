/**
 * How many chunk requests one member may have in flight, set from the chunks' round trips as LEDBAT sets a sender's
 * window (RFC 6817). The lowest round trip seen lately is the path's own; what a chunk takes beyond it is queueing:
 * time it spent behind other chunks in the link, where a chat frame sent now would wait too. The window grows while
 * that queue stays under QUEUE_TARGET_MS and shrinks when it goes over, so a file takes what the path can carry (more
 * in flight on a long path, less on a slow one) while chat waits behind it for about QUEUE_TARGET_MS at most.
 * It starts as TCP does (slow start): one more for each chunk that comes without queueing, so it doubles every window's
 * worth, until the first time chunks queue for half the target; a 256 MiB transfer spent a tenth of its chunks growing
 * from 4 to 16 one at a time.
 */

/** The queueing a transfer may add to a member's link, in ms. */
export const QUEUE_TARGET_MS = 10;
export const MIN_WINDOW = 2;
/** Also the most chunks a transfer can have asked for twice when a link goes (tests/files/between.test.ts). */
export const MAX_WINDOW = 16;
const START_WINDOW = 4;
/** The path's own round trip is the lowest of the last two periods this long, so a changed path is learnt again. */
const BASE_PERIOD_MS = 10_000;

export class ChunkWindow {
  #window = START_WINDOW;
  #slowStart = true;
  /** Lowest round trip of the previous period and of this one. */
  #base = [Infinity, Infinity];
  #periodStart: number;

  constructor(now = Date.now()) {
    this.#periodStart = now;
  }

  /** Requests the member may have in flight now. */
  get size(): number {
    return Math.floor(this.#window);
  }

  /** A chunk asked for `rttMs` ago has come. */
  arrived(rttMs: number, now = Date.now()): void {
    if (now - this.#periodStart > BASE_PERIOD_MS) {
      this.#base = [this.#base[1]!, Infinity];
      this.#periodStart = now;
    }
    this.#base[1] = Math.min(this.#base[1]!, rttMs);
    const queueing = rttMs - Math.min(this.#base[0]!, this.#base[1]!);
    if (this.#slowStart && queueing < QUEUE_TARGET_MS / 2) {
      this.#window = Math.min(MAX_WINDOW, this.#window + 1);
      return;
    }
    this.#slowStart = false;
    // +1 per window's worth of chunks with no queue at all, down to -2 per window's worth far past the target.
    const offTarget = Math.max(-2, (QUEUE_TARGET_MS - queueing) / QUEUE_TARGET_MS);
    this.#window = Math.min(MAX_WINDOW, Math.max(MIN_WINDOW, this.#window + offTarget / this.#window));
  }

  /** A request went unanswered in time: the path is worse than it was. */
  lost(): void {
    this.#slowStart = false;
    this.#window = Math.max(MIN_WINDOW, this.#window / 2);
  }
}
