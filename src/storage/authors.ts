import type { Database, Statement } from "bun:sqlite";

/** Evicted authors remembered per room, as a multiple of its places: the oldest are forgotten past it. */
const EVICTED_KEPT_PER_PLACE = 4;
/** The longest-standing authors of an introducer among whom the quietest is sought (each costs two index lookups). */
const CANDIDATES = 256;

/** What admitting a message's author to its room came to. */
export type Admission =
  /** The author holds a place (it had one, or took one); `evicted` made place for it in a full room. */
  | { kind: "in"; evicted?: { origin: string; upTo: number } }
  /** The author was evicted from the full room, and this message is one it had then: not taken again. */
  | { kind: "passed" };

/**
 * The authors of each room (table room_authors), each with its introducer: the linked peer whose frame brought its
 * first message here (the author itself, when it wrote to us; this instance, for its own). A room holds at most
 * `maxAuthors`; a newcomer to a full room takes the place of an author brought by whoever brought the most (this
 * instance's own place aside): of its CANDIDATES longest-standing ones, the one with the fewest messages, idle
 * longest. Nothing here is written for a message of a known author (a write per message cost a third of the rate of
 * stores), only for an author's first, and when a place is taken. A member that floods the room with
 * invented authors makes place out of its own flood, never out of the honest authors others brought. The evicted
 * author's messages go; what others send of them again is passed over (table evicted_authors) until it writes anew.
 */
export class RoomAuthors {
  readonly #author: Statement<{ introducer: string }, [string, string]>;
  readonly #byIntroducer: Statement<{ introducer: string; n: number }, [string]>;
  readonly #add: Statement;
  readonly #itself: Statement;
  readonly #quietest: Statement<{ origin: string }, [string, string, string]>;
  readonly #remove: Statement;
  readonly #evictedUpTo: Statement<{ seq: number }, [string, string]>;
  readonly #markEvicted: Statement;
  readonly #unmark: Statement;
  readonly #pruneEvicted: Statement;
  #evictions = 0;
  /** Per room (loaded on first use): how many authors each introducer brought, and how many there are in all. */
  readonly #counts = new Map<string, { all: number; introducers: Map<string, number> }>();

  constructor(
    db: Database,
    /** This instance: its own place is never taken. */
    private readonly self: string,
    private readonly maxAuthors: number,
  ) {
    this.#author = db.query("SELECT introducer FROM room_authors WHERE room = ? AND origin = ?");
    this.#byIntroducer = db.query("SELECT introducer, count(*) AS n FROM room_authors WHERE room = ? GROUP BY introducer");
    this.#add = db.query("INSERT INTO room_authors (room, origin, introducer, since) VALUES (?, ?, ?, ?)");
    this.#itself = db.query("UPDATE room_authors SET introducer = origin WHERE room = ? AND origin = ? AND introducer != origin");
    this.#quietest = db.query(`
      SELECT a.origin FROM (
        SELECT origin FROM room_authors WHERE room = ?1 AND introducer = ?2 AND origin != ?3 ORDER BY since LIMIT ${CANDIDATES}
      ) a
      ORDER BY (SELECT count(*) FROM messages m WHERE m.origin = a.origin AND m.room = ?1),
        (SELECT stamp FROM messages m WHERE m.origin = a.origin AND m.room = ?1 ORDER BY seq DESC LIMIT 1)
      LIMIT 1`);
    this.#remove = db.query("DELETE FROM room_authors WHERE room = ? AND origin = ?");
    this.#evictedUpTo = db.query("SELECT seq FROM evicted_authors WHERE room = ? AND origin = ?");
    this.#markEvicted = db.query("INSERT OR REPLACE INTO evicted_authors (room, origin, seq, at) VALUES (?, ?, ?, ?)");
    this.#unmark = db.query("DELETE FROM evicted_authors WHERE room = ? AND origin = ?");
    this.#pruneEvicted = db.query(
      "DELETE FROM evicted_authors WHERE room = ?1 AND at <= (SELECT at FROM evicted_authors WHERE room = ?1 ORDER BY at DESC LIMIT 1 OFFSET ?2)",
    );
  }

  /**
   * Gives `origin` a place in `room` for its message `seq` brought by `introducer`, or passes it over. In a full room
   * the caller drops the evicted author's messages (`evicted.upTo`: the highest sequence it held of it).
   */
  admit(room: string, origin: string, seq: number, introducer: string, heldUpTo: (origin: string) => number): Admission {
    if (origin === this.self) introducer = this.self; // our own, even when a peer brings them back (a restored backup)
    const counts = this.#countsOf(room);
    const known = this.#author.get(room, origin);
    if (known) {
      // An author that writes to us itself proves it is linked to a member: it stands for itself from then on.
      if (introducer === origin && known.introducer !== origin) {
        this.#itself.run(room, origin);
        bump(counts.introducers, known.introducer, -1);
        bump(counts.introducers, origin, 1);
      }
      return { kind: "in" };
    }
    const evictedUpTo = this.#evictedUpTo.get(room, origin)?.seq;
    if (evictedUpTo !== undefined && seq <= evictedUpTo) return { kind: "passed" };
    let evicted: { origin: string; upTo: number } | undefined;
    if (counts.all >= this.maxAuthors) {
      const from = this.#biggest(counts.introducers);
      const victim = from === undefined ? undefined : this.#quietest.get(room, from, this.self)?.origin;
      if (victim !== undefined) {
        evicted = { origin: victim, upTo: heldUpTo(victim) };
        this.#remove.run(room, victim);
        bump(counts.introducers, from!, -1);
        counts.all--;
        this.#markEvicted.run(room, victim, evicted.upTo, Date.now());
        if (++this.#evictions % 64 === 0) this.#pruneEvicted.run(room, this.maxAuthors * EVICTED_KEPT_PER_PLACE);
      }
    }
    this.#add.run(room, origin, introducer, Date.now());
    bump(counts.introducers, introducer, 1);
    counts.all++;
    if (evictedUpTo !== undefined) this.#unmark.run(room, origin); // it came back with something new
    return { kind: "in", evicted };
  }

  /** Forgets what is counted of `room` (its authors went, or a write was rolled back): counted afresh when next used. */
  forget(room: string): void {
    this.#counts.delete(room);
  }

  #countsOf(room: string) {
    let counts = this.#counts.get(room);
    if (!counts) {
      const introducers = new Map(this.#byIntroducer.all(room).map((r) => [r.introducer, r.n]));
      counts = { all: [...introducers.values()].reduce((a, b) => a + b, 0), introducers };
      this.#counts.set(room, counts);
    }
    return counts;
  }

  /** The introducer that brought the most authors of the room (this instance aside), the lowest id among equals. */
  #biggest(introducers: Map<string, number>): string | undefined {
    let best: string | undefined;
    let most = 0;
    for (const [introducer, n] of introducers) {
      if (introducer === this.self || n < most || (n === most && best !== undefined && introducer > best)) continue;
      best = introducer;
      most = n;
    }
    return best;
  }

}

function bump(counts: Map<string, number>, key: string, by: number): void {
  const n = (counts.get(key) ?? 0) + by;
  if (n > 0) counts.set(key, n);
  else counts.delete(key);
}
