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
import { DialError } from "../errors.ts";
import { secureChannel, type ChannelIdentity } from "../secure/channel.ts";
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

/** The link manager's secure handshakes, on links dialled and accepted, and what accepted ones may cost. */
export class HandshakeGate {
  /** First messages seen lately: the accepting side of every handshake checks them. */
  readonly replays = new FirstMessages();
  readonly #rate = new RateLimiter({ perSecond: HANDSHAKE_LIMITS.perSecond, burst: HANDSHAKE_LIMITS.burst });
  readonly #pending = new FairShares<Link>(HANDSHAKE_LIMITS, (link) => link.close("making room for another source's handshake"));
  /** Links whose handshake is under way. */
  readonly #underWay = new Set<Link>();

  constructor(private readonly init: { identity: ChannelIdentity; timeoutMs: number; closing: AbortSignal }) {}

  /** Runs the secure handshake on a fresh link, dialled (`expected` set) or accepted: the far end's proven id and the sealed link. */
  async identify(link: Link, expected?: string): Promise<{ nodeId: string; link: Link }> {
    if (this.init.closing.aborted) {
      link.close("shutting down");
      throw new DialError("shutting down");
    }
    this.#underWay.add(link);
    try {
      const { identity, timeoutMs } = this.init;
      const accepting = { replays: this.replays, firstMessageMs: HANDSHAKE_LIMITS.firstMessageMs };
      return await secureChannel(link, { identity, initiator: expected !== undefined, expected, timeoutMs, ...(expected === undefined ? accepting : {}) });
    } finally {
      this.#underWay.delete(link);
    }
  }

  /** An accepted link's handshake, within its source's place: null when refused or failed (the link closed with its reason). */
  async accept(link: Link): Promise<{ nodeId: string; link: Link } | null> {
    const place = this.admit(link);
    if (typeof place === "string") return (link.close(place), null);
    try {
      return await this.identify(link);
    } catch {
      return null;
    } finally {
      place();
    }
  }

  /** Closes the links whose handshake is under way. */
  close(): void {
    for (const link of this.#underWay) link.close("shutting down");
  }

  /** Admits the handshake of an accepted link, or says why not (the link is the caller's to close). */
  admit(link: Link): HandshakePlace | string {
    const source = sourceOf(link);
    if (!this.#rate.take(source)) return `too many handshakes from ${source}; try again later`;
    if (!this.#pending.take(source, link)) return `${source} has ${this.#pending.heldBy(source)} handshakes under way; try again later`;
    return () => this.#pending.release(link);
  }
}
