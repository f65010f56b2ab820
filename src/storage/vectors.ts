import type { Database, Statement } from "bun:sqlite";
import { createHash } from "node:crypto";

const HASH_BYTES = 32;

/**
 * A message's hash: SHA-256 over its signature. An Ed25519 signature is made deterministically from the message and
 * checked canonical, so one message has one signature, and no one but its author can make another: two messages
 * with different hashes at one (origin, room, seq) are two messages their author signed.
 */
export function messageHash(sig: string): Buffer {
  return createHash("sha256").update(Buffer.from(sig, "base64url")).digest();
}

/** What is held of one origin in a room: the highest sequence with none missing before it, and a digest of those. */
export interface Run {
  top: number;
  /** The XOR of the hashes of sequences 1 to `top`: two members that hold the same messages hold the same digest. */
  digest: Buffer;
}

function xorInto(digest: Buffer, hash: Uint8Array | null): void {
  if (hash) for (let i = 0; i < HASH_BYTES; i++) digest[i]! ^= hash[i]!;
}

/**
 * Version vectors with their digests, per room and origin, loaded from the messages on first use and kept up to date
 * as messages are stored, replaced or dropped. Members compare digests where their sequences agree: different
 * digests mean an author told them different things (src/sync/messages.ts sends its messages again).
 */
export class Vectors {
  readonly #rooms = new Map<string, Map<string, Run>>();
  readonly #scan: Statement<{ origin: string; seq: number; hash: Uint8Array | null }, [string]>;
  readonly #hashAt: Statement<{ hash: Uint8Array | null }, [string, string, number]>;

  constructor(db: Database) {
    this.#scan = db.query("SELECT origin, seq, hash FROM messages WHERE room = ? ORDER BY origin, seq");
    this.#hashAt = db.query("SELECT hash FROM messages WHERE origin = ? AND room = ? AND seq = ?");
  }

  /** Per origin of `room`, what is held with none missing (an origin whose sequence 1 is missing has top 0). */
  of(room: string): Map<string, Run> {
    let runs = this.#rooms.get(room);
    if (runs) return runs;
    runs = new Map();
    let run: Run | undefined;
    let origin = "";
    for (const row of this.#scan.iterate(room)) {
      if (row.origin !== origin) {
        origin = row.origin;
        runs.set(origin, (run = { top: 0, digest: Buffer.alloc(HASH_BYTES) }));
      }
      if (row.seq !== run!.top + 1) continue;
      run!.top = row.seq;
      xorInto(run!.digest, row.hash);
    }
    this.#rooms.set(room, runs);
    return runs;
  }

  /** A message was stored at (origin, room, seq): the run moves on when it closes the gap, past what waited after it. */
  stored(origin: string, room: string, seq: number): void {
    const runs = this.#rooms.get(room);
    if (!runs) return;
    let run = runs.get(origin);
    if (!run) runs.set(origin, (run = { top: 0, digest: Buffer.alloc(HASH_BYTES) }));
    if (seq !== run.top + 1) return;
    for (let next = this.#hashAt.get(origin, room, run.top + 1); next; next = this.#hashAt.get(origin, room, run.top + 1)) {
      run.top++;
      xorInto(run.digest, next.hash);
    }
  }

  /** The message at (origin, room, seq) was replaced by another: the digest follows, if the run covers it. */
  replaced(origin: string, room: string, seq: number, was: Uint8Array, now: Uint8Array): void {
    const run = this.#rooms.get(room)?.get(origin);
    if (!run || seq > run.top) return;
    xorInto(run.digest, was);
    xorInto(run.digest, now);
  }

  /** Every message of `origin` in `room` was dropped. */
  dropped(room: string, origin: string): void {
    this.#rooms.get(room)?.delete(origin);
  }

  forget(room: string): void {
    this.#rooms.delete(room);
  }
}
