/** What went to a peer and is still missing from its vector this long after goes again. */
const RESEND_AFTER_MS = 60_000;

/**
 * Per peer, per room and origin: the sequence up to which everything held here has been sent over the peer's current
 * primary link, and when. Catch-ups start past it, so a peer that asks again with the same vector gets nothing twice
 * (a vector is a few bytes; the history it calls for may be megabytes), until RESEND_AFTER_MS have passed with its
 * vector still short of it: it did not take them (a crowded room's rate of new authors), and they go again. Forgotten
 * on every change of primary.
 */
export class SentMarks {
  readonly #marks = new Map<string, Map<string, Map<string, { seq: number; at: number }>>>();

  /** How far `origin`'s messages in `room` went to `peer`, which holds them up to `held` by its last vector. */
  upTo(peer: string, room: string, origin: string, held: number, now = Date.now()): number {
    const mark = this.#marks.get(peer)?.get(room)?.get(origin);
    if (!mark) return 0;
    return held < mark.seq && now - mark.at > RESEND_AFTER_MS ? 0 : mark.seq;
  }

  sent(peer: string, room: string, origin: string, seq: number, now = Date.now()): void {
    let rooms = this.#marks.get(peer);
    if (!rooms) this.#marks.set(peer, (rooms = new Map()));
    let origins = rooms.get(room);
    if (!origins) rooms.set(room, (origins = new Map()));
    origins.set(origin, { seq, at: now });
  }

  forget(peer: string): void {
    this.#marks.delete(peer);
  }
}
