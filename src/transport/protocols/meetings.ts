/**
 * What meeting at a rendezvous (meet.ts) keeps, on both sides: as a rendezvous, who waits at which topic here, in seats
 * shared fairly between sources, and whom to tell of a newcomer; as a client, our rendezvous and whom we met there.
 */
import { RateLimiter } from "../../util/rate-limit.ts";
import { FairShares } from "../fair-shares.ts";
import { MAX_TOPICS } from "../links/control.ts";

export const MEETING_LIMITS = {
  /** How long a wait lasts unless its peer says `meet` again (clients say it again well before). */
  waitMs: 10 * 60_000,
  /** Seats of waiting peers one source may hold, of the meeting point's seats (meet.ts). */
  seatsPerSource: 8,
  /** Peers already waiting that hear of a newcomer, per `meet`; the rest hear of it at its next `meet`. */
  tellsPerMeet: 8,
  /** Such tells a source's newcomers may cause a second, in bursts. */
  tellsPerSecond: 0.5,
  tellsBurst: 16,
};

export interface MeetingPointInit {
  /** Peers that may wait here at once (shared fairly between sources: ../fair-shares.ts). */
  seats: number;
  /** @default MEETING_LIMITS.waitMs */
  waitMs?: number;
  /** A peer's wait ended other than by its own word: its seat went to another source's newcomer, or it was not renewed. */
  ended: (nodeId: string, why: string) => void;
  now?: () => number;
}

interface Wait {
  topics: Set<string>;
  until: number;
}

/**
 * The rendezvous side: who waits at which topic. A peer waits only in a seat (a share per source, so a crowd of
 * identities from a few addresses cannot take them all, and an honest client, once seated, is never pushed out by
 * fresh ones), only at some topic, and only until its wait runs out unless renewed. A newcomer is told of no one: those
 * already waiting at its topics hear of it (`met`, a few per `meet`, within its source's budget) and reach out to it,
 * so no one learns who waits at a topic (an open room's members, say) without being seen by them.
 */
export class MeetingPoint {
  /** Topic → the peers waiting at it, in the order they came. */
  readonly #topics = new Map<string, Set<string>>();
  readonly #waiting = new Map<string, Wait>();
  /** Pairs already introduced (both ways), so a renewed `meet` tells the next few, not the same ones again. */
  readonly #told = new Map<string, Set<string>>();
  readonly #seats: FairShares<string>;
  readonly #tells = new RateLimiter({ perSecond: MEETING_LIMITS.tellsPerSecond, burst: MEETING_LIMITS.tellsBurst });
  readonly #waitMs: number;
  readonly #now: () => number;

  constructor(private readonly init: MeetingPointInit) {
    this.#seats = new FairShares({ share: MEETING_LIMITS.seatsPerSource, total: init.seats }, (nodeId) => {
      this.leave(nodeId);
      init.ended(nodeId, "its seat here went to another source's newcomer");
    });
    this.#waitMs = init.waitMs ?? MEETING_LIMITS.waitMs;
    this.#now = init.now ?? Date.now;
  }

  /** Whether `nodeId` waits here: seated, at some topic, its wait not run out. */
  waits(nodeId: string): boolean {
    return this.#waiting.has(nodeId);
  }

  /**
   * `nodeId`, linked from `source`, waits at `topics` now (and no longer at others; none: it leaves). Answers whom to
   * tell of it (peers waiting at one of its topics, not told before), or null when its source has no seat left here.
   */
  meet(nodeId: string, source: string, topics: readonly string[]): { tell: string[] } | null {
    const now = new Set(topics.slice(0, MAX_TOPICS));
    if (now.size === 0) {
      this.leave(nodeId);
      return { tell: [] };
    }
    let wait = this.#waiting.get(nodeId);
    if (!wait) {
      if (!this.#seats.take(source, nodeId)) return null;
      wait = { topics: new Set(), until: 0 };
      this.#waiting.set(nodeId, wait);
    }
    for (const topic of wait.topics) if (!now.has(topic)) this.#remove(topic, nodeId);
    wait.topics = now;
    wait.until = this.#now() + this.#waitMs;
    const told = this.#told.get(nodeId) ?? new Set<string>();
    const tell: string[] = [];
    for (const topic of now) {
      const peers = this.#topics.get(topic) ?? new Set<string>();
      // The latest to come first: the likeliest to be there still.
      for (const other of [...peers].reverse()) {
        if (other === nodeId || told.has(other) || tell.includes(other)) continue;
        if (tell.length >= MEETING_LIMITS.tellsPerMeet || !this.#tells.take(source)) break;
        tell.push(other);
      }
      peers.add(nodeId);
      this.#topics.set(topic, peers);
    }
    for (const other of tell) {
      told.add(other);
      this.#told.set(other, (this.#told.get(other) ?? new Set<string>()).add(nodeId));
    }
    this.#told.set(nodeId, told);
    return { tell };
  }

  /** `nodeId` waits nowhere any more (it said so, or has no link left, or is forgotten). */
  leave(nodeId: string): void {
    for (const topic of this.#waiting.get(nodeId)?.topics ?? []) this.#remove(topic, nodeId);
    this.#waiting.delete(nodeId);
    this.#seats.release(nodeId);
    for (const other of this.#told.get(nodeId) ?? []) this.#told.get(other)?.delete(nodeId);
    this.#told.delete(nodeId);
  }

  /** Ends the waits that were not renewed in time. */
  expire(): void {
    const now = this.#now();
    for (const [nodeId, wait] of [...this.#waiting]) {
      if (wait.until > now) continue;
      this.leave(nodeId);
      this.init.ended(nodeId, `it did not say where it waits for ${Math.round(this.#waitMs / 1000)} s`);
    }
  }

  /** Whether `nodeId` waits at `topic` here now. */
  waitsAt(nodeId: string, topic: string): boolean {
    return this.#topics.get(topic)?.has(nodeId) ?? false;
  }

  /** Whether the two wait at a common topic. */
  together(a: string, b: string): boolean {
    const theirs = this.#waiting.get(b)?.topics;
    if (!theirs) return false;
    for (const topic of this.#waiting.get(a)?.topics ?? []) if (theirs.has(topic)) return true;
    return false;
  }

  #remove(topic: string, nodeId: string): void {
    const peers = this.#topics.get(topic);
    peers?.delete(nodeId);
    if (peers?.size === 0) this.#topics.delete(topic);
  }
}

/** Peers met at rendezvous remembered, for the way to them; the oldest go first. */
const MAX_REMEMBERED = 1024;

/** The side that uses rendezvous: which linked peers are ones, the topics to wait at on each, and who was met where. */
export class Meetings {
  /** Rendezvous node id → the topics to wait at there. */
  readonly #rendezvous = new Map<string, string[]>();
  /** Rendezvous that said they relay links. */
  readonly #relays = new Set<string>();
  /** Peer → the rendezvous it was met at, newest last. */
  readonly #metAt = new Map<string, Set<string>>();

  /** Uses the instance `nodeId` as a rendezvous, waiting at `topics` there; null stops using it. */
  use(nodeId: string, topics: readonly string[] | null): void {
    if (topics) return void this.#rendezvous.set(nodeId, topics.slice(0, MAX_TOPICS));
    this.#rendezvous.delete(nodeId);
    this.#relays.delete(nodeId);
    for (const [peer, at] of this.#metAt) if (at.delete(nodeId) && at.size === 0) this.#metAt.delete(peer);
  }

  /** The topics to wait at on the rendezvous `nodeId`; undefined when it is not one of ours. */
  topics(nodeId: string): string[] | undefined {
    return this.#rendezvous.get(nodeId);
  }

  /** The rendezvous `at` (relaying links or not) says `peer` waits at a topic of ours; false when `at` is no rendezvous of ours. */
  met(peer: string, at: string, relays: boolean): boolean {
    if (!this.#rendezvous.has(at)) return false;
    if (relays) this.#relays.add(at);
    else this.#relays.delete(at);
    const known = this.#metAt.get(peer) ?? new Set<string>();
    this.#metAt.delete(peer); // re-inserted: the Map's order is the order of meeting
    this.#metAt.set(peer, known.add(at));
    if (this.#metAt.size > MAX_REMEMBERED) this.#metAt.delete(this.#metAt.keys().next().value!);
    return true;
  }

  /** The rendezvous where `peer` was met: those that may pass a signaling session on to it. */
  metAt(peer: string): string[] {
    return [...(this.#metAt.get(peer) ?? [])];
  }

  /** Whether the rendezvous `nodeId` said it relays links. */
  relays(nodeId: string): boolean {
    return this.#relays.has(nodeId);
  }
}
