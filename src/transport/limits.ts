/** The limits every tier keeps alike; a tier's own limits (links held, datagram sizes) stay in its folder. */

/** The largest frame a link carries: `send` refuses a bigger one, and a far end that sends one loses the link. */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;

/**
 * Bytes a link may hold that the far end has not taken: unsent because it stopped reading, or received before anyone
 * here reads them. Past it the link closes.
 */
export const MAX_QUEUED_BYTES = 64 * 1024 * 1024;

/** How long one dial attempt may take before it counts as failed. */
export const DIAL_TIMEOUT_MS = 10_000;

/** Longest close reason sent to the far end. */
export const MAX_REASON_CHARS = 200;
