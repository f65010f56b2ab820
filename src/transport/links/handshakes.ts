/**
 * What accepted links may cost in handshakes. Each source (links/sources.ts) may start HANDSHAKE_LIMITS.perSecond
 * handshakes a second (in bursts) and hold `share` of those under way; when all `total` places are held, a newcomer
 * from a source holding fewer takes the oldest place of the source holding the most (../fair-shares.ts). So one
 * source can neither make the instance do key work without end nor keep another source's peer from linking. A
 * handshake whose first message is overdue closes (`firstMessageMs`), and a first message seen before is refused
 * before any key work (the channel's FirstMessages).
 */
import { RateLimiter } from "../../util/rate-limit.ts";
import { FairShares } from "../fair-shares.ts";
import type { Link } from "../link.ts";
import { FirstMessages } from "../secure/replays.ts";
import { sourceOf } from "./sources.ts";

export const HANDSHAKE_LIMITS = {
  /** Handshakes one source may start a second, in bursts of `burst`. */
  perSecond: 50,
  burst: 100,
  /** Handshakes under way one source may hold, and all sources together. */
  share: 32,
  total: 256,
  /** An accepted link's first handshake message must come within this. */
  firstMessageMs: 2000,
};

/** A handshake's place, given back once it ends (either way); calling it again does nothing. */
export type HandshakePlace = () => void;

export class HandshakeGate {
  /** First messages seen lately: the accepting side of every handshake checks them. */
  readonly replays = new FirstMessages();
  readonly #rate = new RateLimiter({ perSecond: HANDSHAKE_LIMITS.perSecond, burst: HANDSHAKE_LIMITS.burst });
  readonly #pending = new FairShares<Link>(HANDSHAKE_LIMITS, (link) => link.close("making room for another source's handshake"));

  /** Admits the handshake of an accepted link, or says why not (the link is the caller's to close). */
  admit(link: Link): HandshakePlace | string {
    const source = sourceOf(link);
    if (!this.#rate.take(source)) return `too many handshakes from ${source}; try again later`;
    if (!this.#pending.take(source, link)) return `${source} has ${this.#pending.heldBy(source)} handshakes under way; try again later`;
    return () => this.#pending.release(link);
  }
}
