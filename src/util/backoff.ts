/** How a retried operation waits: doubling from `minMs` up to `maxMs`, with optional jitter. */
export interface BackoffInit {
  /** Wait after the first failure. */
  minMs: number;
  /** Longest wait. */
  maxMs: number;
  /** Spread of the random jitter around the wait: 0.2 waits 80–120 % of it. @default 0 */
  jitter?: number;
}

/** The wait before the next try after `failures` failures in a row (1 = the first failure). */
export function backoffDelay(failures: number, init: BackoffInit): number {
  const base = Math.min(init.maxMs, init.minMs * 2 ** Math.max(0, failures - 1));
  const jitter = init.jitter ?? 0;
  return jitter === 0 ? base : base * (1 - jitter + Math.random() * 2 * jitter);
}
