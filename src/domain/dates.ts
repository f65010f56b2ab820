/**
 * What a message's date (`sent_at`, the author's clock in ms) may be. The bound is fixed, not relative to anyone's
 * clock: every member judges the same message the same way, whatever its own clock says, so a message one member
 * stores is never refused by another for its date. It holds every clock an honest machine has (a board without a
 * real-time clock starts at 1970) and only dates a Date can hold and ISO 8601 can write with four digits.
 */
export const MIN_SENT_AT = 0;
/** The last millisecond of year 9999. */
export const MAX_SENT_AT = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** Whether `ms` is a date a message may carry. */
export const isSentAt = (ms: number): boolean => Number.isInteger(ms) && ms >= MIN_SENT_AT && ms <= MAX_SENT_AT;
