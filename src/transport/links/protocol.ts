/**
 * A link protocol: a service over the links the manager keeps (meeting at a rendezvous, relayed links, dial-backs,
 * carrying signaling). The manager handles pings and WebRTC signaling itself and hands every other control message to
 * the protocol registered for its kind; only the composition root (src/network.ts) knows the protocols.
 */
import type { Tier } from "../../domain/tiers.ts";
import type { NodeAddress, Transport } from "../link.ts";
import type { FirstMessages } from "../secure/replays.ts";
import type { SignalRouter } from "../signaling/router.ts";
import type { AddressSource } from "./address-book.ts";
import type { ControlMessage } from "./control.ts";
import type { Peer, PeerLink } from "./peer.ts";
import type { PeerTable } from "./peer-table.ts";
import type { LinkManagerSettings } from "./settings.ts";

export type ControlKind = ControlMessage["t"];

/** What a protocol may use of the link manager. */
export interface LinkContext {
  /** The manager's settings, this instance's identity among them. */
  readonly settings: LinkManagerSettings;
  readonly signaling: SignalRouter;
  /** First handshake messages seen lately: a replayed one opens nothing. */
  readonly replays: FirstMessages;
  /** Aborted once the manager closes. */
  readonly closing: AbortSignal;
  /** The peers, each one's best link that is no relayed one (`direct`), and who ranks how in a full table. */
  readonly peers: Pick<PeerTable, "get" | "values" | "direct" | "ranks">;
  /** Sends a control message on a link; false when it closed under us (its close handler cleans up). */
  control(via: PeerLink, message: ControlMessage): boolean;
  connect(address: NodeAddress, source?: AddressSource, options?: { allAtOnce?: boolean; by?: string }): Promise<Tier>;
  forget(nodeId: string, reason: string): void;
  /** Fresh news from `by` that a known peer is there: its tiers waiting out a backoff are dialled now, within `by`'s budget. */
  hurry(peer: Peer, by: string): void;
}

/** The peer a control message came from, and the link it came by. */
export interface Inbound {
  peer: Peer;
  via: PeerLink;
}

/** A service the manager routes the control messages of `kinds` to, and tells of peers coming and going. */
export interface LinkProtocol<K extends ControlKind = ControlKind> {
  readonly kinds: readonly K[];
  /** A tier this protocol brings (the `relay` tier), listened on and dialled like the others. */
  readonly transport?: Transport;
  receive(message: Extract<ControlMessage, { t: K }>, from: Inbound): void;
  /** A frame of a relayed link (control.ts CIRCUIT); one protocol takes them. */
  circuitFrame?(from: string, circuit: string, data: Uint8Array): void;
  /** A peer's rank in a full table, as this protocol sees it: a rendezvous of ours is named, one waiting here waiting. */
  standing?(nodeId: string): "named" | "waiting" | null;
  /** The manager listens: start what runs beside the links. */
  start?(): void;
  /** A peer's first primary link is up. */
  peerUp?(nodeId: string): void;
  /** A peer has no link left, or is forgotten. */
  peerGone?(nodeId: string): void;
  /** With the manager's redial round (every half second at most). */
  tick?(): void;
  close?(): void;
}
