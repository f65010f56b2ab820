import { MAX_FRAME_BYTES, MAX_QUEUED_BYTES, PRE_HANDSHAKE_FRAME_BYTES } from "../limits.ts";

/** The HTTP client a dialer uses. */
export type Fetch = (url: string, init: RequestInit) => Promise<Response>;

export interface HttpTransportInit {
  /** Largest frame taken from the far end; a body may be one such frame plus its 4-byte length. @default MAX_FRAME_BYTES */
  maxFrameBytes?: number;
  /** Sessions the listener holds at once; further opens get 429. @default 1024 */
  maxSessions?: number;
  /** Sessions one source (an IPv4 address, or an IPv6 /64) may hold. @default 16 */
  maxSessionsPerSource?: number;
  /** Bytes one side may hold unsent or unacked before it closes the link (see link.ts). @default MAX_QUEUED_BYTES */
  maxQueuedBytes?: number;
  /** The largest frame taken before the secure handshake (see limits.ts), and so the largest body. @default PRE_HANDSHAKE_FRAME_BYTES */
  preHandshakeFrameBytes?: number;
  /** How long the listener holds a poll with nothing to send. @default 20000 */
  pollHoldMs?: number;
  /** The listener closes a session whose dialer has not polled for this long. @default 30000 */
  sessionTimeoutMs?: number;
  /** The dialer's HTTP client; tests pass one that loses responses. @default globalThis.fetch */
  fetch?: Fetch;
}

/** The init with every limit filled in, as the transport and its links read it. */
export type HttpLimits = Required<Omit<HttpTransportInit, "fetch">>;

/** Fills in the defaults. */
export function limitsOf(init: HttpTransportInit): HttpLimits {
  return {
    maxFrameBytes: init.maxFrameBytes ?? MAX_FRAME_BYTES,
    maxSessions: init.maxSessions ?? 1024,
    maxSessionsPerSource: init.maxSessionsPerSource ?? 16,
    maxQueuedBytes: init.maxQueuedBytes ?? MAX_QUEUED_BYTES,
    preHandshakeFrameBytes: init.preHandshakeFrameBytes ?? PRE_HANDSHAKE_FRAME_BYTES,
    pollHoldMs: init.pollHoldMs ?? 20_000,
    sessionTimeoutMs: init.sessionTimeoutMs ?? 30_000,
  };
}
