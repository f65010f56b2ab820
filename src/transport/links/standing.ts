/**
 * Who keeps a place in a full peer table. Identities cost nothing and an open room's name is all it takes to prove
 * it, so proving a room counts for little; what an attacker cannot make up counts for more. From the highest rank:
 * peers the owner named (`--peer`, an invite, a rendezvous of ours), members of a private room, authors of messages
 * held here, peers that wait at a topic here (a rendezvous's clients, within their seats: ../protocols/meetings.ts),
 * and the fresh rest: members of open rooms only, and peers that have proved nothing yet.
 *
 * A newcomer to a full table takes the place of a peer with no link (the lowest rank, absent longest first), else of
 * the oldest fresh one of the source holding the most fresh ones; a linked peer above fresh is never displaced, so a
 * crowd of fresh identities can neither keep a ranked peer out nor push one out.
 */

/** What the owner's side (storage and replication, wired by the composition root) says of a peer. */
export type Vouched = "private" | "history" | null;
/** Whether `nodeId` proved a private room joined here, or wrote messages held here. */
export type StandingOf = (nodeId: string) => Vouched;

/** The ranks, lowest first. */
export const RANKS = ["fresh", "waiting", "author", "member", "named"] as const;
export type Rank = (typeof RANKS)[number];

/** A peer's rank from what is known of it. */
export function rankOf(peer: { named: boolean; vouched: Vouched; waiting: boolean }): Rank {
  if (peer.named) return "named";
  if (peer.vouched === "private") return "member";
  if (peer.vouched === "history") return "author";
  return peer.waiting ? "waiting" : "fresh";
}

/** What the choice of whom to displace needs of a peer. */
export interface Seat {
  rank: Rank;
  linked: boolean;
  /** When its last link closed (or when it was filed). */
  absentSince: number;
  /** Where its links come from (links/sources.ts); undefined before it had one. */
  source: string | undefined;
}

/** Whom a newcomer displaces from a full table, `seats` oldest first; undefined when every place is held by a linked peer of rank. */
export function displaced<T extends Seat>(seats: readonly T[]): T | undefined {
  let absent: T | undefined;
  for (const seat of seats) {
    if (seat.linked) continue;
    const lower = absent && RANKS.indexOf(seat.rank) < RANKS.indexOf(absent.rank);
    if (!absent || lower || (seat.rank === absent.rank && seat.absentSince < absent.absentSince)) absent = seat;
  }
  if (absent) return absent;
  const fresh = seats.filter((s) => s.rank === "fresh");
  const counts = new Map<string | undefined, number>();
  for (const seat of fresh) counts.set(seat.source, (counts.get(seat.source) ?? 0) + 1);
  const most = Math.max(0, ...counts.values());
  return fresh.find((s) => counts.get(s.source) === most);
}

/** Peers the owner named, remembered at most (the oldest go first). */
const MAX_NAMED = 256;

export interface RanksInit {
  /** What storage and replication say of a peer. @default nothing */
  standing?: StandingOf;
  /** Whether the peer is a rendezvous of ours (which the owner gave, or an invite named). */
  ours: (nodeId: string) => boolean;
  /** Whether the peer waits at a topic here, in a seat (../protocols/meetings.ts). */
  waiting: (nodeId: string) => boolean;
}

/** The link manager's view of ranks: the peers the owner named, and each peer's rank from all it knows. */
export class Ranks {
  readonly #named = new Set<string>();

  constructor(private readonly init: RanksInit) {}

  /** The owner named this peer (`--peer`, an invite). */
  name(nodeId: string): void {
    this.#named.delete(nodeId);
    this.#named.add(nodeId);
    if (this.#named.size > MAX_NAMED) this.#named.delete(this.#named.values().next().value!);
  }

  named(nodeId: string): boolean {
    return this.#named.has(nodeId) || this.init.ours(nodeId);
  }

  of(nodeId: string): Rank {
    return rankOf({ named: this.named(nodeId), vouched: this.init.standing?.(nodeId) ?? null, waiting: this.init.waiting(nodeId) });
  }

  /** Whether the peer's word counts (a reach answer): named, a private room's member, an author. */
  ranked(nodeId: string): boolean {
    return RANKS.indexOf(this.of(nodeId)) > RANKS.indexOf("waiting");
  }

  /** Whom a newcomer displaces from a full table of `peers` (oldest first), with its rank; undefined when none. */
  displaced<P extends { nodeId: string; absentSince: number; source: string | undefined; links(): unknown[] }>(peers: Iterable<P>) {
    const seats = [...peers].map((peer) => ({ peer, rank: this.of(peer.nodeId), linked: peer.links().length > 0, absentSince: peer.absentSince, source: peer.source }));
    return displaced(seats);
  }
}
