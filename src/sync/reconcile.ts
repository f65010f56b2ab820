/**
 * When two members' vectors agree on an author's sequence but not on the digest of its messages, that author told
 * them different things (it signed two messages with one sequence number): each sends the other its messages of that
 * author, and the rule every member keeps (the lower hash stays, src/storage/messages.ts) makes them agree. Once a
 * minute at most per peer, room and author, so an author that keeps doing it costs a bounded amount.
 */
const AGAIN_AFTER_MS = 60_000;
/** Reconciliations remembered per peer: the oldest are forgotten past it. */
const MAX_REMEMBERED = 10_000;

export class Reconciliations {
  readonly #done = new Map<string, Map<string, number>>();

  /** Whether `origin`'s messages in `room` are to be sent to `peer` again in full now (and notes that they are). */
  due(peer: string, room: string, origin: string, now = Date.now()): boolean {
    let done = this.#done.get(peer);
    if (!done) this.#done.set(peer, (done = new Map()));
    const key = `${room}/${origin}`;
    const last = done.get(key);
    if (last !== undefined && now - last < AGAIN_AFTER_MS) return false;
    done.delete(key);
    done.set(key, now);
    if (done.size > MAX_REMEMBERED) done.delete(done.keys().next().value!);
    return true;
  }

  /** The peer's link changed or went: it starts afresh. */
  forget(peer: string): void {
    this.#done.delete(peer);
  }
}

/** The origins of a room whose sequences agree between `mine` and `theirs`, and whose digests do not. */
export function diverging(
  mine: Record<string, number>,
  myDigests: Record<string, string>,
  theirs: Record<string, number>,
  theirDigests: Record<string, string> | undefined,
): string[] {
  if (!theirDigests) return [];
  return Object.keys(theirDigests).filter((origin) => {
    const top = mine[origin];
    return top !== undefined && top > 0 && top === theirs[origin] && myDigests[origin] !== undefined && myDigests[origin] !== theirDigests[origin];
  });
}
