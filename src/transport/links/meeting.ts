/**
 * Meeting at a rendezvous. Every instance is one for the peers linked to it that ask: each tells it the topics where it
 * waits (`meet`; a topic is an HMAC of a room under the room's key, domain/rooms.ts `rendezvousTopic`, so the
 * rendezvous learns no room) and hears of every other peer waiting at one of them (`met`). The rendezvous then passes
 * signaling sessions between such peers (manager.ts `#relay`), and only between peers that wait at a common topic.
 */

/** Topics one peer may wait at on one rendezvous: one per room. */
export const MAX_TOPICS = 64;
/** Peers one `met` names at most. */
export const MAX_MET = 64;
/** Peers met at rendezvous remembered, for the way to them; the oldest go first. */
const MAX_REMEMBERED = 1024;

/** The rendezvous side: who waits at which topic. */
export class MeetingPoint {
  /** Topic → the peers waiting at it. */
  readonly #topics = new Map<string, Set<string>>();
  /** Peer → the topics it waits at. */
  readonly #waiting = new Map<string, Set<string>>();

  /** Whether `nodeId` uses this instance as its rendezvous (it said `meet`, with topics or none). */
  waits(nodeId: string): boolean {
    return this.#waiting.has(nodeId);
  }

  /**
   * `nodeId` waits at `topics` now (and no longer at others). Answers whom it meets (everyone waiting at one of its
   * topics) and whom to tell of it (those at a topic it did not wait at before).
   */
  meet(nodeId: string, topics: readonly string[]): { met: string[]; tell: string[] } {
    const before = this.#waiting.get(nodeId) ?? new Set<string>();
    const now = new Set(topics.slice(0, MAX_TOPICS));
    for (const topic of before) if (!now.has(topic)) this.#remove(topic, nodeId);
    const met = new Set<string>();
    const tell = new Set<string>();
    for (const topic of now) {
      const peers = this.#topics.get(topic) ?? new Set<string>();
      for (const other of peers) {
        if (other === nodeId) continue;
        met.add(other);
        if (!before.has(topic)) tell.add(other);
      }
      peers.add(nodeId);
      this.#topics.set(topic, peers);
    }
    this.#waiting.set(nodeId, now);
    return { met: [...met], tell: [...tell] };
  }

  /** `nodeId` is gone (no link left, or forgotten): it waits nowhere. */
  leave(nodeId: string): void {
    for (const topic of this.#waiting.get(nodeId) ?? []) this.#remove(topic, nodeId);
    this.#waiting.delete(nodeId);
  }

  /** Whether the two wait at a common topic. */
  together(a: string, b: string): boolean {
    const theirs = this.#waiting.get(b);
    if (!theirs) return false;
    for (const topic of this.#waiting.get(a) ?? []) if (theirs.has(topic)) return true;
    return false;
  }

  #remove(topic: string, nodeId: string): void {
    const peers = this.#topics.get(topic);
    peers?.delete(nodeId);
    if (peers?.size === 0) this.#topics.delete(topic);
  }
}

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
