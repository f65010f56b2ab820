import { memoryValve } from "../util/memory.ts";
import { Batch } from "./batch.ts";
import type { SyncChannel } from "./channel.ts";
import type { VectorDigests, VectorFrame, VersionVector, WireMessage } from "./frames.ts";
import { diverging, Reconciliations } from "./reconcile.ts";
import type { SendGate } from "./send-gate.ts";

/** What a catch-up reads of this instance: its rooms' histories. */
export interface HistoryReplica {
  vector(room: string): Record<string, number>;
  /** Per origin held from its first message, the digest of what is held of it up to its sequence in `vector`. */
  digests(room: string): Record<string, string>;
  after(origin: string, room: string, seq: number, limit: number): WireMessage[];
}

export interface CatchUpInit {
  channel: Pick<SyncChannel, "send">;
  gate: Pick<SendGate, "room">;
  replica: HistoryReplica;
  /** Rooms both this instance and the peer have joined; undefined before its hello. */
  shared(nodeId: string): string[] | undefined;
  /** How far each origin's messages went to a peer over its current primary link (see SentMarks). */
  marks: { upTo(peer: string, room: string, origin: string): number; sent(peer: string, room: string, origin: string, seq: number): void };
}

/** Messages read from storage at a time for a catch-up. */
const PAGE = 64;

/** Sends each peer what its vector shows it lacks, past what was sent already: one catch-up per peer at a time. */
export class CatchUps {
  readonly #init: CatchUpInit;
  /** Catch-ups under way, and the vector that came meanwhile (only the latest is kept). */
  readonly #catchingUp = new Map<string, VectorFrame | null>();
  /** Authors whose messages were sent again in full to a peer, because their digests differed. */
  readonly #reconciled = new Reconciliations();

  constructor(init: CatchUpInit) {
    this.#init = init;
  }

  /** A vector from `from`: caught up on now, or once the catch-up under way ends. */
  async vector(from: string, frame: VectorFrame): Promise<void> {
    if (this.#catchingUp.has(from)) return void this.#catchingUp.set(from, frame);
    this.#catchingUp.set(from, null);
    try {
      for (let next: VectorFrame | null = frame; next; next = this.#catchingUp.get(from) ?? null) {
        this.#catchingUp.set(from, null);
        if (!(await this.#catchUp(from, next.rooms, next.digests))) return;
      }
    } finally {
      this.#catchingUp.delete(from);
    }
  }

  /** The peer's primary changed: which authors were sent again in full to it is forgotten. */
  forget(nodeId: string): void {
    this.#reconciled.forget(nodeId);
  }

  /**
   * Sends, a frame at a time while the peer's link has room, what `theirs` lacks past what was sent already, and an
   * author's messages in full where our digests of them differ; false once the peer has no live link.
   */
  async #catchUp(from: string, theirs: VersionVector, digests: VectorDigests | undefined): Promise<boolean> {
    const shared = this.#init.shared(from);
    if (!shared) return true;
    const batch = new Batch();
    const flush = async () => {
      const out = batch.messages;
      if (out.length === 0) return true;
      // Only while the peer's link holds little: a peer that does not read gets no more than that.
      if (!(await this.#init.gate.room(from)) || !this.#init.channel.send(from, { type: "messages", messages: out })) return false;
      memoryValve.moved(batch.bytes); // a long history leaves copies of itself behind (read, encoded, sealed), as a file does
      for (const m of out) this.#init.marks.sent(from, m.room, m.origin, m.seq); // in sequence order per origin: the last stays
      batch.clear();
      // Long catch-ups yield between frames, so live traffic and other peers are not starved.
      await Bun.sleep(0);
      return true;
    };
    for (const room of shared) {
      const seen = theirs[room];
      if (!seen) continue;
      const mine = this.#init.replica.vector(room);
      const again = new Set(diverging(mine, this.#init.replica.digests(room), seen, digests?.[room]).filter((o) => this.#reconciled.due(from, room, o)));
      for (const origin of Object.keys(mine)) {
        let after = again.has(origin) ? 0 : Math.max(seen[origin] ?? 0, this.#init.marks.upTo(from, room, origin));
        for (;;) {
          // A page at a time, so a catch-up waiting for the peer's link holds little (500 long texts are 24 MB).
          const page = this.#init.replica.after(origin, room, after, PAGE);
          for (const m of page) {
            if (batch.full(m) && !(await flush())) return false;
            batch.add(m);
          }
          if (page.length < PAGE) break;
          after = page.at(-1)!.seq;
        }
      }
    }
    return flush();
  }
}
