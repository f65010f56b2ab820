import { jsonError } from "../../util/http.ts";
import { BaseLink } from "../base-link.ts";
import { wholeFrame, type FrameData } from "../link.ts";
import { CLOSE_HEADER, encodeFrames, SEQ_HEADER } from "./framing.ts";
import type { HttpLimits } from "./init.ts";
import { Outbox } from "./outbox.ts";

/** The listener's end of a session: frames in from sends, frames out through polls. */
export class AcceptedLink extends BaseLink {
  readonly tier = "http";
  /** Frames sent and not yet acked; the first is numbered `#acked + 1`. */
  readonly #outbox = new Outbox();
  #acked = 0;
  #received = 0;
  #closeReason: string | undefined;
  /** Wakes the held poll, if any. */
  #wake: (() => void) | undefined;
  #wakeScheduled = false;
  #expiry: Timer | undefined;
  #forgotten = false;
  remoteIp?: string;

  constructor(
    readonly id: string,
    readonly remote: string,
    private readonly limits: HttpLimits,
    private readonly forget: (link: AcceptedLink) => void,
  ) {
    super(limits.maxQueuedBytes, limits.preHandshakeFrameBytes);
    this.#idle();
  }

  /** The largest frame a send may carry now: small until the secure handshake is done. */
  get frameLimit(): number {
    return Math.min(this.incomingFrameLimit, this.limits.maxFrameBytes);
  }

  /** Frames not yet acknowledged by the far end. */
  get bufferedBytes(): number {
    return this.#outbox.bytes;
  }

  send(frame: FrameData): void {
    this.checkSend(frame);
    this.#outbox.push(wholeFrame(frame));
    this.checkQueue(this.#outbox.bytes);
    // Frames sent in one tick leave in one poll response.
    if (this.#wakeScheduled) return;
    this.#wakeScheduled = true;
    queueMicrotask(() => {
      this.#wakeScheduled = false;
      this.#wake?.();
    });
  }

  close(reason = "closed"): void {
    if (!this.ended(reason)) return;
    this.#closeReason = reason;
    // The next poll (the held one, if any) carries what is queued and the close; an idle session just expires.
    if (this.#wake) this.#wake();
  }

  /** The dialer sent DELETE, or the transport is going away: closes without waiting for a poll to carry it. */
  drop(reason: string): void {
    this.close(reason);
    this.#forgetNow();
  }

  /** A send request: skips frames already received, delivers the rest in order. */
  receive(first: number, frames: Uint8Array[]): Response {
    if (this.#closeReason !== undefined) return this.#gone();
    if (first > this.#received + 1) return jsonError(409, `frame ${this.#received + 1} is missing; this send starts at ${first}`);
    for (let seq = first; seq < first + frames.length; seq++) {
      if (seq <= this.#received) continue;
      this.#received = seq;
      this.deliver(frames[seq - first]!);
    }
    return Response.json({ received: this.#received });
  }

  /** A poll request: answers with frames after `ack`, holding the request while there are none. */
  async poll(ack: number, hold: number, signal: AbortSignal): Promise<Response> {
    const sent = this.#acked + this.#outbox.length;
    if (ack < this.#acked || ack > sent) return jsonError(400, `ack must be from ${this.#acked} to ${sent}`);
    this.#outbox.drop(ack - this.#acked);
    this.#acked = ack;
    clearTimeout(this.#expiry);
    this.#wake?.(); // A newer poll answers an older one: the dialer has given that one up.
    if (this.#outbox.length === 0 && this.#closeReason === undefined) await this.#hold(hold, signal);
    if (!this.#wake) this.#idle();
    return this.#respond();
  }

  #hold(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        if (this.#wake === done) this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      if (signal.aborted) return done();
      signal.addEventListener("abort", done);
      this.#wake = done;
    });
  }

  #respond(): Response {
    // Unacked frames from the start of the outbox: a lost response is resent whole.
    const frames = this.#outbox.nextBody(this.limits.maxFrameBytes);
    const headers: Record<string, string> = {
      "content-type": "application/octet-stream",
      "cache-control": "no-store",
      [SEQ_HEADER]: String(this.#acked + frames.length),
    };
    const all = frames.length === this.#outbox.length;
    if (this.#closeReason !== undefined && all) {
      headers[CLOSE_HEADER] = encodeURIComponent(this.#closeReason);
      this.#forgetNow();
    }
    return new Response(encodeFrames(frames), { headers });
  }

  #gone(): Response {
    const response = jsonError(410, this.#closeReason ?? "closed");
    this.#forgetNow();
    return response;
  }

  /** No poll is held: expire unless one comes within the timeout. */
  #idle(): void {
    clearTimeout(this.#expiry);
    if (this.#forgotten) return;
    this.#expiry = setTimeout(() => {
      this.close(`the dialer has not polled for ${this.limits.sessionTimeoutMs} ms`);
      this.#forgetNow();
    }, this.limits.sessionTimeoutMs);
  }

  #forgetNow(): void {
    this.#forgotten = true;
    clearTimeout(this.#expiry);
    this.forget(this);
  }
}
