import { Handlers } from "../util/handlers.ts";
import { FrameTooLargeError, LinkClosedError, messageOf } from "./errors.ts";
import { frameSize, type FrameData, type Link, type LinkKeys, type Tier } from "./link.ts";
import { MAX_FRAME_BYTES, MAX_QUEUED_BYTES, PRE_HANDSHAKE_FRAME_BYTES } from "./limits.ts";
import { QUEUED } from "./queue-budget.ts";

/**
 * What every tier's Link does the same way (the rules in link.ts): the closed flag, frame handlers with the frames
 * that came before them, close handlers run once, the frame-size and queue limits. A tier writes `send` and `close`,
 * and calls `deliver` and `ended` as its wire reports.
 */
export abstract class BaseLink implements Link {
  abstract readonly tier: Tier;
  abstract readonly remote: string;
  #closeReason: string | undefined;
  readonly #onFrame = new Handlers<[Uint8Array]>();
  readonly #onClose = new Handlers<[string]>();
  /** Frames that arrived before a handler was registered, as a socket's receive buffer would hold them. */
  #early: Uint8Array[] = [];
  #earlyBytes = 0;
  /** True while held frames wait to be handed to a new handler: later frames queue behind them, so order holds. */
  #draining = false;
  /** True once the secure handshake is done over this link (`authenticate`): frames may be of any size from then on. */
  #authenticated = false;

  /**
   * `maxQueuedBytes`: bytes the link may hold for a far end that stopped reading, or for a reader not there yet.
   * `preHandshakeFrameBytes`: the largest frame taken before the secure handshake is done (limits.ts).
   */
  constructor(
    readonly maxQueuedBytes = MAX_QUEUED_BYTES,
    readonly preHandshakeFrameBytes = PRE_HANDSHAKE_FRAME_BYTES,
  ) {}

  /** The secure handshake over this link is done: the far end proved its node id. A tier that tags its packets overrides this (and calls it). */
  authenticate(_keys: LinkKeys): void {
    this.#authenticated = true;
  }

  /** The largest frame the far end may send now: small until the handshake is done, then MAX_FRAME_BYTES. */
  protected get incomingFrameLimit(): number {
    return this.#authenticated ? MAX_FRAME_BYTES : Math.min(this.preHandshakeFrameBytes, MAX_FRAME_BYTES);
  }

  /** True once either side closed the link or it failed. */
  get closed(): boolean {
    return this.#closeReason !== undefined;
  }

  /** Bytes sent that have not left for the far end yet. */
  abstract get bufferedBytes(): number;
  /** Sends one frame (copied); throws FrameTooLargeError, or LinkClosedError when closed or the far end stopped reading. */
  abstract send(frame: FrameData): void;
  /** Closes the link; the far end sees it close too. Idempotent. */
  abstract close(reason?: string): void;

  onFrame(handler: (frame: Uint8Array) => void): () => void {
    const remove = this.#onFrame.add(handler);
    // Held frames go out on the next microtask, once the caller holds the removal function it may need.
    if (this.#early.length > 0 && !this.#draining) {
      this.#draining = true;
      queueMicrotask(() => this.#drain());
    }
    return remove;
  }

  onClose(handler: (reason: string) => void): () => void {
    const reason = this.#closeReason;
    if (reason === undefined) return this.#onClose.add(handler);
    let removed = false;
    queueMicrotask(() => removed || handler(reason));
    return () => void (removed = true);
  }

  /** The checks every `send` starts with: the link is open and the frame within `limit` (a lower one names itself in `what`). */
  protected checkSend(frame: FrameData, limit = MAX_FRAME_BYTES, what = ""): void {
    if (this.closed) throw new LinkClosedError(`link to ${this.remote} is closed`);
    const size = frameSize(frame);
    if (size > limit) throw new FrameTooLargeError(`frame of ${size} bytes is over the ${limit}-byte limit${what}`);
  }

  /**
   * Closes the link and throws LinkClosedError when `queuedBytes` waiting for the far end pass the queue limit. When all
   * links together hold more than the process's budget (queue-budget.ts), the link holding the most is closed.
   */
  protected checkQueue(queuedBytes: number): void {
    if (queuedBytes > this.maxQueuedBytes) return this.#notReading(`over ${this.maxQueuedBytes} bytes waiting to be sent`);
    const slowest = QUEUED.note(this, queuedBytes);
    if (!slowest) return;
    const reason = `over ${QUEUED.limit} bytes wait for far ends that are not reading, this one's the most`;
    if (slowest === this) return this.#notReading(reason);
    slowest.close(`the far end is not reading: ${reason}`);
  }

  #notReading(why: string): never {
    const reason = `the far end is not reading: ${why}`;
    this.close(reason);
    throw new LinkClosedError(reason);
  }

  /** Hands a frame from the far end to the handlers, or holds it until one is registered; drops it once closed. */
  protected deliver(frame: Uint8Array): void {
    if (this.closed) return;
    if (this.#onFrame.size > 0 && !this.#draining) return this.#emit(frame);
    this.#early.push(frame);
    this.#earlyBytes += frame.byteLength;
    if (this.#earlyBytes > this.maxQueuedBytes) this.close(`over ${this.maxQueuedBytes} bytes arrived with no one reading`);
  }

  /** Hands held frames to the handlers, in order, for as long as there are handlers (one may remove itself). */
  #drain(): void {
    this.#draining = false;
    while (this.#early.length > 0 && this.#onFrame.size > 0 && !this.closed) {
      const frame = this.#early.shift()!;
      this.#earlyBytes -= frame.byteLength;
      this.#emit(frame);
    }
  }

  #emit(frame: Uint8Array): void {
    try {
      this.#onFrame.emit(frame);
    } catch (error) {
      this.close(`a frame handler failed: ${messageOf(error)}`);
    }
  }

  /** Marks the link closed, lets the tier `release` what it holds, then runs the close handlers; false when it already was. */
  protected ended(reason: string): boolean {
    if (this.closed) return false;
    this.#closeReason = reason;
    this.#early = [];
    this.#earlyBytes = 0;
    this.#onFrame.clear();
    QUEUED.forget(this);
    this.release();
    try {
      this.#onClose.emit(reason);
    } catch (error) {
      console.error(`e-goat: a close handler of the ${this.tier} link to ${this.remote} failed:`, error);
    }
    this.#onClose.clear();
    return true;
  }

  /** Frees the tier's resources; runs once, after the link is marked closed (so callbacks it sets off see it closed). */
  protected release(): void {}
}
