import type { NodeAddress } from "../link.ts";
import type { AddressSource } from "./address-book.ts";
import { Introductions } from "./introductions.ts";
import { Peer, type LinkStatus, type PeerLink } from "./peer.ts";
import type { Ranks } from "./standing.ts";

export interface PeerTableInit {
  /** Peers held at most. */
  maxPeers: number;
  /** Who keeps a place in a full table. */
  ranks: Ranks;
  /** Drops a peer displaced by a newcomer (the link manager's `forget`, which also deletes it here). */
  displace: (nodeId: string, reason: string) => void;
  log: (line: string) => void;
}

/** The peers the link manager holds: who is let in (introductions.ts), and who makes room in a full table (standing.ts). */
export class PeerTable {
  readonly #peers = new Map<string, Peer>();
  /** What each introducer may have this instance dial. */
  readonly #introductions = new Introductions();

  readonly ranks: Ranks;

  constructor(private readonly init: PeerTableInit) {
    this.ranks = init.ranks;
  }

  get(nodeId: string): Peer | undefined {
    return this.#peers.get(nodeId);
  }

  values(): IterableIterator<Peer> {
    return this.#peers.values();
  }

  delete(nodeId: string): void {
    this.#peers.delete(nodeId);
  }

  /**
   * Lets the instance at `address` in to be dialled, as introduced `by` a peer (none: the owner's own; unless told, a
   * linked peer naming its own addresses, in its hello) within its budget: the peer, and whether its address is new;
   * or why not.
   */
  admit(address: NodeAddress, source: AddressSource, by: string | undefined): { peer: Peer; moved: boolean } | string {
    const known = this.#peers.get(address.nodeId);
    const introducer = by ?? (known && known.links().length > 0 ? address.nodeId : undefined);
    const admitted = this.#introductions.admit(introducer, known, address);
    if (!admitted && !known) return `${introducer} introduced more than this instance dials for it now`;
    const peer = known ?? this.add(address.nodeId);
    if (!peer) return `already linked to the most peers allowed (${this.init.maxPeers}), each of rank`;
    // A peer known already keeps being dialled where it was; what is new of it waits for the introducer's budget.
    return { peer, moved: admitted && peer.addresses.learn(address, source) };
  }

  /** Whether news from `by` that a known peer is there (a rendezvous met it) has it dialled at once, within `by`'s budget. */
  hurries(by: string, peer: Peer): boolean {
    return this.#introductions.admit(by, undefined, { nodeId: peer.nodeId });
  }

  /** Files a newcomer, displacing another from a full table; null when every place is held by a linked peer of rank. */
  add(nodeId: string): Peer | null {
    const { maxPeers, ranks } = this.init;
    if (this.#peers.size >= maxPeers) {
      // The Map keeps insertion order: oldest first, as `displaced` takes them.
      const victim = ranks.displaced(this.#peers.values());
      if (!victim) {
        this.init.log(`not linking to ${nodeId}: already linked to the most peers allowed (${maxPeers}), each of rank`);
        return null;
      }
      this.init.displace(victim.peer.nodeId, `making room for ${nodeId} (${victim.linked ? "the oldest fresh peer" : `${victim.rank}, absent longest`})`);
    }
    const peer = new Peer(nodeId);
    this.#peers.set(nodeId, peer);
    return peer;
  }

  /** The peer's best link that is no relayed one: what relayed links and rendezvous messages travel over. */
  direct(nodeId: string): PeerLink | undefined {
    const peer = this.#peers.get(nodeId);
    const primary = peer?.primary;
    if (primary && primary.tier !== "relay") return primary;
    return peer?.links().find((e) => e.tier !== "relay");
  }

  status(): LinkStatus[] {
    return [...this.#peers.values()].map((peer) => peer.status());
  }
}
