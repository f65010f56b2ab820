/** The limits every tier keeps alike; a tier's own limits (links held, datagram sizes) stay in its folder. */

/** The largest frame a link carries: `send` refuses a bigger one, and a far end that sends one loses the link. */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;

/**
 * Bytes a link may hold that the far end has not taken: unsent because it stopped reading, or received before anyone
 * here reads them. Past it the link closes. Two of the largest frames: a reader that keeps up never comes near it.
 */
export const MAX_QUEUED_BYTES = 32 * 1024 * 1024;

/**
 * Bytes all links together may hold for far ends that do not take them (queue-budget.ts): past it, the link holding the
 * most is closed, so slow readers, however many, cost the process at most this.
 */
export const MAX_QUEUED_TOTAL_BYTES = 256 * 1024 * 1024;

/**
 * The largest frame taken from a far end that has not finished the secure handshake (the handshake's own messages are
 * under 1 KiB): an outsider with many connections can make the process hold only this much for each.
 */
export const PRE_HANDSHAKE_FRAME_BYTES = 64 * 1024;

/** How long one dial attempt may take before it counts as failed. */
export const DIAL_TIMEOUT_MS = 10_000;

/** Longest close reason sent to the far end. */
export const MAX_REASON_CHARS = 200;
