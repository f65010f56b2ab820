import type { PortMappingState } from "../reach/port-mapping/index.ts";
import type { ReachState } from "../reach/reachability.ts";
import type { Server } from "bun";
import type { Invite } from "../domain/rooms.ts";
import type { GuestBudget, GuestRateInit } from "./budgets.ts";
import type { ClientAddressOf } from "./client.ts";
import type { Node } from "../node.ts";
import type { AdvertisedAddresses } from "../domain/urls.ts";
import type { MailboxStats, TopicStats } from "../storage/mailbox.ts";

/** How this instance is reached, as src/reach/ knows it. */
export interface ReachInfo {
  /** The base URL other machines reach this instance at, for invite links (e.g. http://192.168.1.5:8080). */
  publicUrl(): string;
  /** Where other instances reach this one, for `/mesh/info`. */
  addresses(): AdvertisedAddresses;
  /** The rendezvous this instance uses, named in its invite links. */
  rendezvous(): string[];
  /** How this instance is reached, as its peers last saw it; null before a check. */
  reachability(): ReachState | null;
  /** This machine's public address as the STUN servers see it, if known. */
  stunAddress(): string | null;
  /** Whether the router forwards this instance's ports; null when not asked. */
  portMapping(): PortMappingState | null;
}

export interface AppOptions {
  node: Node;
  version: string;
  /** How this instance is reached, for invite links, the invite panel and `/mesh/info`. */
  reach: ReachInfo;
  /** The client address of a request. @default the socket's peer address; tests pass their own */
  clientAddress?: ClientAddressOf;
  /** DNS names accepted in `Host` besides IP literals, localhost and this machine's host name (`--public-host`). */
  publicHosts?: string[];
  /**
   * Message rate of each guest (an IPv4 address or an IPv6 /64), and in `allGuests` of all guests together; the
   * owner's own clients are not limited. @default 10/s, bursts of 50; all guests 200/s, bursts of 200
   */
  guestSendRate?: GuestRateInit;
  /** Long-polling `/history?wait=` requests the owner's clients hold at once (guests have their own). @default 1000 */
  maxWaiting?: number;
  /** Long polls guests hold at once: all together, and each. @default 500 in all, 8 each */
  guestWaiting?: Partial<GuestBudget>;
  /** SSE streams the owner's clients hold open at once (guests have their own). @default 1000 */
  maxStreams?: number;
  /** SSE streams guests hold open at once: all together, and each. @default 500 in all, 8 each */
  guestStreams?: Partial<GuestBudget>;
  /** Links to the instance that issued an invite whose room was just joined here (the page's "join by invite link"). */
  linkInvite?: (invite: Invite) => void;
  /** What this instance keeps as a mailbox (`--mailbox`); absent: it keeps none. */
  mailbox?: {
    stats(): MailboxStats;
    /** The topics holding the most, up to `limit`. */
    topics(limit: number): TopicStats[];
    readonly days: number;
    readonly fileBytes: number;
  };
  /** Makes a backup of this instance's database (encrypted with the passphrase, if one is given), for a download. */
  backup?: (passphrase?: string) => Promise<{ path: string; bytes: number; remove(): void }>;
  /** The HTTP link tier's handler for `/mesh/http/*`, when that tier is on. */
  meshHttp?: (request: Request, server: Server<unknown> | null) => Promise<Response>;
}
