/**
 * What all links of the process together hold for far ends that do not take it (limits.ts MAX_QUEUED_TOTAL_BYTES).
 * Each link's queue has its own cap (BaseLink.checkQueue); this one bounds their sum, so many slow readers cannot add
 * up to more than the process can hold: past it, the link holding the most is closed, never the instance.
 */
import { MAX_QUEUED_TOTAL_BYTES } from "./limits.ts";

/** A link as the budget sees it: what it holds now, and how to close it. */
export interface QueueHolder {
  readonly bufferedBytes: number;
  readonly closed: boolean;
  close(reason: string): void;
}

export class QueueBudget {
  /** Bytes each link held when it last queued a frame; refreshed from the links themselves before anyone is closed. */
  readonly #held = new Map<QueueHolder, number>();
  #total = 0;

  constructor(readonly limit = MAX_QUEUED_TOTAL_BYTES) {}

  /**
   * `link` is about to hold `bytes` in all; answers the link to close when that takes the total past the limit (the one
   * holding the most, which may be `link` itself), or undefined.
   */
  note(link: QueueHolder, bytes: number): QueueHolder | undefined {
    this.#set(link, bytes);
    if (this.#total <= this.limit) return undefined;
    // What others held may have drained since they last sent: count again before closing anyone.
    let most: QueueHolder = link;
    for (const other of [...this.#held.keys()]) {
      if (other === link) continue;
      if (other.closed) this.forget(other);
      else this.#set(other, other.bufferedBytes);
      if ((this.#held.get(other) ?? 0) > (this.#held.get(most) ?? 0)) most = other;
    }
    return this.#total > this.limit ? most : undefined;
  }

  /** The link closed: it holds nothing any more. */
  forget(link: QueueHolder): void {
    this.#total -= this.#held.get(link) ?? 0;
    this.#held.delete(link);
  }

  /** Bytes held by all links, as last counted. */
  get total(): number {
    return this.#total;
  }

  #set(link: QueueHolder, bytes: number): void {
    this.#total += bytes - (this.#held.get(link) ?? 0);
    if (bytes > 0) this.#held.set(link, bytes);
    else this.#held.delete(link);
  }
}

/** The process's one budget, which every link's queue counts against. */
export const QUEUED = new QueueBudget();
