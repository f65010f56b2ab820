/**
 * What one introducer can make this instance dial. Peers are introduced by others (a member's `peers` frame, a
 * rendezvous's `met`, a LAN beacon) and name their own addresses (a hello); every address so named is dialled, so
 * without a budget one member could have this instance connect to a third party's port hundreds of times a second.
 * Each introducer (a node id; a LAN beacon's sender, in src/reach/lan-discovery.ts) may have DIAL_BUDGET.burst peers or new
 * addresses dialled at once, then `perMinute`; what the owner gave (`--peer`, invites, known peers) is not counted.
 * A peer not yet linked has at most a few addresses dialled whoever names them (address-book.ts).
 */
import { RateLimiter } from "../../util/rate-limit.ts";
import type { PeerAddress } from "../link.ts";
import type { Peer } from "./peer.ts";

export const DIAL_BUDGET = {
  /** Peers, or new addresses of a peer, one introducer may have dialled at once; then `perMinute`. */
  burst: 32,
  perMinute: 16,
};

export class Introductions {
  readonly #budget = new RateLimiter({ perSecond: DIAL_BUDGET.perMinute / 60, burst: DIAL_BUDGET.burst });

  /**
   * Whether what `by` introduced (`address`, of `peer` if known here) may be dialled: free when `by` is the owner's
   * own (undefined) or nothing new would be dialled, else taken from `by`'s budget.
   */
  admit(by: string | undefined, peer: Peer | undefined, address: PeerAddress): boolean {
    if (by === undefined || (peer && !peer.addresses.novel(address))) return true;
    return this.#budget.take(by);
  }
}
