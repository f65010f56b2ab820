import { LinkClosedError, type Link, type Tier } from "./types.ts";

/**
 * What every tier's Link keeps the same way: the closed flag, one frame handler with the frames that came before it,
 * close handlers run once. A tier writes `send` and `close`, and calls `deliver` and `ended` as its wire reports.
 */
export abstract class BaseLink implements Link {
  abstract readonly tier: Tier;
  abstract readonly remote: string;
  #closed = false;
  #onFrame: ((frame: Uint8Array) => void) | undefined;
  /** Frames that arrived before a handler was registered, as a socket's receive buffer would hold them. */
  #early: Uint8Array[] = [];
  #earlyBytes = 0;
  readonly #onClose: ((reason: string) => void)[] = [];

  /** `maxEarlyBytes`: bytes of early frames past which the link closes, for tiers whose far end could fill memory. */
  constructor(private readonly maxEarlyBytes = Infinity) {}

  /** True once either side closed the link or it failed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Sends one frame; throws LinkClosedError once the link is closed. */
  abstract send(frame: Uint8Array): void;
  /** Closes the link; the far end sees it close too. Idempotent. */
  abstract close(reason?: string): void;

  /** Registers the frame handler and hands it the early frames. */
  onFrame(handler: (frame: Uint8Array) => void): void {
    this.#onFrame = handler;
    this.#earlyBytes = 0;
    for (const frame of this.#early.splice(0)) this.deliver(frame);
  }

  /** Registers a handler called once when the link closes, with the reason. */
  onClose(handler: (reason: string) => void): void {
    this.#onClose.push(handler);
  }

  /** Throws LinkClosedError once the link is closed. */
  protected checkOpen(): void {
    if (this.#closed) throw new LinkClosedError(`link to ${this.remote} is closed`);
  }

  /** Hands a frame from the far end to the handler, or holds it until one is registered; drops it once closed. */
  protected deliver(frame: Uint8Array): void {
    if (this.#closed) return;
    if (this.#onFrame) return this.#onFrame(frame);
    this.#early.push(frame);
    this.#earlyBytes += frame.byteLength;
    if (this.#earlyBytes > this.maxEarlyBytes) this.close(`over ${this.maxEarlyBytes} bytes arrived with no one reading`);
  }

  /** Marks the link closed, lets the tier `release` what it holds, then runs the close handlers; false when it already was. */
  protected ended(reason: string): boolean {
    if (this.#closed) return false;
    this.#closed = true;
    this.#early = [];
    this.#earlyBytes = 0;
    this.release();
    for (const handler of this.#onClose) handler(reason);
    return true;
  }

  /** Frees the tier's resources; runs once, after the link is marked closed (so callbacks it sets off see it closed). */
  protected release(): void {}
}
