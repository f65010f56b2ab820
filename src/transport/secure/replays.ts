/**
 * First handshake messages seen lately, so one sent again is refused before any key work. A dialler's first message
 * is its ephemeral key (fresh for every handshake) and the protocol version: the same key twice is a replay, whoever
 * sends it, and answering it would cost a key pair, two DHs and a hash chain for nothing the sender paid.
 */

/** How long a first message is remembered, and how many at most (the oldest go first). */
const REMEMBER_MS = 10 * 60_000;
const REMEMBER_AT_MOST = 16_384;

export class FirstMessages {
  /** Ephemeral key (base64) → when it was first seen, oldest first. */
  readonly #seen = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Notes the ephemeral key `key`; false when it was seen within REMEMBER_MS (a replay). */
  fresh(key: Uint8Array): boolean {
    const now = this.now();
    for (const [old, at] of this.#seen) {
      if (now - at < REMEMBER_MS && this.#seen.size < REMEMBER_AT_MOST) break;
      this.#seen.delete(old);
    }
    const id = Buffer.from(key).toString("base64");
    if (this.#seen.has(id)) return false;
    this.#seen.set(id, now);
    return true;
  }
}
