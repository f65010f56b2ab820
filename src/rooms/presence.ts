import type { Tier } from "../domain/tiers.ts";
import type { PeerStore } from "../storage/peers.ts";
import { Handlers } from "../util/handlers.ts";

/**
 * Who is in the rooms and when each member was last there, as the page shows it: a member is last seen when its last
 * link closes (not when one came up), and a member whose hello no longer proves a room of ours has left it. Tells
 * whoever listens (the rooms' live streams) when any of it may have changed, so pages need not poll.
 */
export class Presence {
  readonly #changed = new Handlers<[]>();

  constructor(private readonly peers: PeerStore) {}

  /** The primary link to `nodeId` changed: up over `tier`, or down (null), when it was last seen. */
  linkChanged(nodeId: string, tier: Tier | null): void {
    if (tier === null) this.peers.seen(nodeId, Date.now());
    this.#changed.emit();
  }

  /** A peer showed proofs for `proven` of our rooms `ours` (its hello): what it proved before and no longer, it left. */
  proved(nodeId: string, ours: readonly string[], proven: readonly string[]): void {
    this.peers.proved(nodeId, ours, proven);
    // Its name may have changed too: the pages draw the members again (at most every 250 ms each).
    this.#changed.emit();
  }

  /** Every peer linked now is seen now: at shutdown, so a restart shows when they were last there. */
  seenNow(nodeIds: readonly string[]): void {
    const now = Date.now();
    for (const nodeId of nodeIds) this.peers.seen(nodeId, now);
  }

  /** Something that changed our own rooms, or a name: the members may look different. */
  touched(): void {
    this.#changed.emit();
  }

  /** Calls `handler` whenever members or their presence may have changed; returns its removal. */
  onChange(handler: () => void): () => void {
    return this.#changed.add(handler);
  }
}
