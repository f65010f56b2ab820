/** How many recent pings the loss figure covers. */
const PING_WINDOW = 20;
/** Weight of a new round-trip sample in the smoothed RTT. */
const RTT_WEIGHT = 0.2;

/**
 * One link's health, from the pings the link manager sends on it: when it was last heard from, its smoothed round
 * trip, the share of recent pings lost, and whether it has carried a ping at all (only then may it become primary).
 */
export class LinkHealth {
  lastHeard = Date.now();
  /** True once a ping was answered. */
  answered = false;
  rttMs: number | null = null;
  readonly #pings = new Map<number, number>();
  /** 1 per answered ping and 0 per lost one, newest last. */
  readonly #answers: number[] = [];

  /** Anything arrived on the link. */
  heard(): void {
    this.lastHeard = Date.now();
  }

  /** A ping numbered `n` leaves now. */
  pinged(n: number): void {
    this.#pings.set(n, performance.now());
  }

  /** The answer to ping `n` came; true when it is the link's first answer. */
  ponged(n: number): boolean {
    const sentAt = this.#pings.get(n);
    if (sentAt === undefined) return false;
    this.#pings.delete(n);
    const sample = performance.now() - sentAt;
    this.rttMs = this.rttMs === null ? sample : this.rttMs + RTT_WEIGHT * (sample - this.rttMs);
    this.#record(1);
    const first = !this.answered;
    this.answered = true;
    return first;
  }

  /** Counts pings older than `deadAfterMs` as lost; true when nothing at all was heard for that long. */
  expire(deadAfterMs: number): boolean {
    const now = performance.now();
    for (const [n, sentAt] of this.#pings) {
      if (now - sentAt <= deadAfterMs) continue;
      this.#pings.delete(n);
      this.#record(0);
    }
    return this.silentMs() > deadAfterMs;
  }

  silentMs(): number {
    return Date.now() - this.lastHeard;
  }

  /** Share of recent pings left unanswered, 0 to 1. */
  get loss(): number {
    return this.#answers.length === 0 ? 0 : 1 - this.#answers.reduce((a, b) => a + b, 0) / this.#answers.length;
  }

  #record(answer: 0 | 1): void {
    this.#answers.push(answer);
    if (this.#answers.length > PING_WINDOW) this.#answers.shift();
  }
}
