import type { Tier } from "../../domain/tiers.ts";
import type { PeerAddress, Transport } from "../link.ts";
import type { ChannelIdentity } from "../secure/channel.ts";
import type { SignalRouter } from "../signaling/router.ts";
import type { StandingOf } from "./standing.ts";

export interface LinkManagerInit {
  /** This instance's identity: the node id every link's handshake proves with its key. */
  identity: ChannelIdentity;
  /** The tiers this instance may use (the `--transports` flag). */
  transports: Transport[];
  /** The signaling paths the WebRTC tiers were given; links to peers become their first path. @default a new router */
  signaling?: SignalRouter;
  /** How often every link is pinged. @default 500 */
  pingIntervalMs?: number;
  /** A link that has carried nothing for this long is dead: four pings in a row unanswered. @default 2000 */
  deadAfterMs?: number;
  /** Each dial attempt's own timeout. @default 10000 */
  dialTimeoutMs?: number;
  /** Delay between starting one tier's first dial and the next lower tier's. @default 250 */
  staggerMs?: number;
  /** Tiers dialled at once with the best one, not after their stagger, for a peer at this address. @default none */
  dialAtOnce?: (address: PeerAddress) => Tier[];
  /** First retry delay of a failed tier; doubles per failure. @default 1000 */
  retryMinMs?: number;
  /** Longest retry delay. @default 30000 */
  retryMaxMs?: number;
  /**
   * Peers held at most. A newcomer to a full table takes the place of a peer with no link, else of the oldest fresh one
   * (standing.ts); with every place held by a linked peer of rank it is refused. @default 64
   */
  maxPeers?: number;
  /** What storage and replication say of a peer: a private room's member, or an author of messages held here. @default nothing */
  standing?: StandingOf;
  /** Frames one peer may send a second over all its links, in bursts of twice that; past it the link closes. @default 2000 */
  framesPerSecond?: number;
  /** A link must complete the handshake within this. @default 5000 */
  handshakeTimeoutMs?: number;
  log?: (line: string) => void;
}

/** The link manager's settings with every default filled in. */
export type LinkManagerSettings = Required<Omit<LinkManagerInit, "log" | "signaling" | "dialAtOnce" | "standing">> &
  Pick<LinkManagerInit, "dialAtOnce" | "standing">;

export const LINK_MANAGER_DEFAULTS = {
  pingIntervalMs: 500,
  deadAfterMs: 2000,
  dialTimeoutMs: 10_000,
  staggerMs: 250,
  retryMinMs: 1000,
  retryMaxMs: 30_000,
  maxPeers: 64,
  framesPerSecond: 2000,
  handshakeTimeoutMs: 5000,
} satisfies Partial<LinkManagerInit>;
