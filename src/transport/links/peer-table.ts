import { Peer, type LinkStatus, type PeerLink } from "./peer.ts";
import type { Ranks } from "./standing.ts";

export interface PeerTableInit {
  /** Peers held at most. */
  maxPeers: number;
  ranks: Ranks;
  /** Drops a peer displaced by a newcomer (the link manager's `forget`, which also deletes it here). */
  displace: (nodeId: string, reason: string) => void;
  log: (line: string) => void;
}

/** The peers the link manager holds, and who makes room in a full table (standing.ts). */
export class PeerTable {
  readonly #peers = new Map<string, Peer>();

  constructor(private readonly init: PeerTableInit) {}

  get(nodeId: string): Peer | undefined {
    return this.#peers.get(nodeId);
  }

  values(): IterableIterator<Peer> {
    return this.#peers.values();
  }

  delete(nodeId: string): void {
    this.#peers.delete(nodeId);
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
