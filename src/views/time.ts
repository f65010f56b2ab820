/**
 * Dates as the page shows them, none of which may throw: a stored date no Date can hold (from a build before
 * src/domain/dates.ts bounded them) is written as unknown, never as a 500.
 */

/** Within this of its arrival, a message shows its author's clock; further off, its arrival, with a word on it. */
export const CLOCK_SLACK_MS = 5 * 60 * 1000;

/** The time in ISO 8601 (UTC), or null where no Date can hold it. */
export function isoTime(ms: number): string | null {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

const UNITS: [ms: number, one: string][] = [
  [365 * 24 * 3600_000, "year"],
  [24 * 3600_000, "day"],
  [3600_000, "hour"],
  [60_000, "minute"],
];

/** A span of time in the largest unit that fits it at least twice (days up to two years, then years). */
export function span(ms: number): string {
  const abs = Math.abs(ms);
  const [unit, word] = UNITS.find(([unit]) => abs >= 2 * unit) ?? UNITS.at(-1)!;
  const count = Math.max(1, Math.round(abs / unit));
  return `${count.toLocaleString("en")} ${word}${count === 1 ? "" : "s"}`;
}

/** When a message is shown as written, and why it shows its arrival instead when its date is far from it. */
export interface ShownTime {
  ms: number;
  /** Set when the author's date is over CLOCK_SLACK_MS from the arrival: what the page says of it. */
  note: string | null;
  /** The author's date, when a Date can hold it. */
  authorIso: string | null;
}

/**
 * The author's date, or the arrival (`timestamp`, this instance's own stamp) where the two are over CLOCK_SLACK_MS
 * apart: a date after the arrival is the author's clock running ahead; one before may be a late delivery, or a clock.
 */
export function shownTime(message: { sent_at: number; timestamp: number }): ShownTime {
  const authorIso = isoTime(message.sent_at);
  const off = authorIso === null ? Infinity : message.sent_at - message.timestamp;
  if (Math.abs(off) <= CLOCK_SLACK_MS) return { ms: message.sent_at, note: null, authorIso };
  const note =
    off > 0
      ? `dated ${off === Infinity ? "beyond any calendar" : `${span(off)} after it arrived`}: the author's clock is off`
      : `sent ${span(off)} before it arrived`;
  return { ms: message.timestamp, note, authorIso };
}
