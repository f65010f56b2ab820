import { RateLimiter } from "../../util/rate-limit.ts";
import { FairShares } from "../fair-shares.ts";

/**
 * Sessions others may have under way with us at once (until their handshake proves the far end): in all, and per
 * source (a hub member, or the linked peer that passes a session on), fairly (../fair-shares.ts). Sessions a source may
 * open a second.
 */
const INCOMING = { total: 64, share: 8 };
/** Proven sessions others opened with us, kept at most (each also closes when idle): past it, the one unused longest closes. */
const MAX_PROVEN_INCOMING = 256;
const OPENED_PER_SECOND = 5;

/** A session as the gate sees it. */
interface Gated {
  link: { close(reason?: string): void };
  /** Set once the handshake proved the far end. */
  secure: unknown;
  lastUsed: number;
}

/** What the signaling sessions others open with this instance may cost (sessions.ts). */
export class SessionGate<S extends Gated> {
  /** Places of the sessions others opened, per source; and how fast each source opens them. */
  readonly #places = new FairShares<S>(INCOMING, (session) => session.link.close("making room for another source's session"));
  readonly #opened = new RateLimiter({ perSecond: OPENED_PER_SECOND, burst: 4 * OPENED_PER_SECOND });

  /** Gives a session another instance opened a place, within its source's rate and share; else closes it. */
  admit(source: string, session: S): boolean {
    if (this.#opened.take(source) && this.#places.take(source, session)) return true;
    session.link.close(`${source} opens too many sessions`);
    return false;
  }

  /** The session proved its far end, or closed: it holds no place any more. */
  release(session: S): void {
    this.#places.release(session);
  }

  /**
   * Keeps the proven sessions others opened to a bounded number, closing the one unused longest. (Not only a peer's
   * newest: the two sides may not agree which is newest, and the far end sends on the one it finished last.)
   */
  bound(incoming: Iterable<S>): void {
    const proven = [...incoming].filter((s) => s.secure);
    if (proven.length <= MAX_PROVEN_INCOMING) return;
    proven.reduce((a, b) => (b.lastUsed < a.lastUsed ? b : a)).link.close("unused longest of too many sessions");
  }
}
