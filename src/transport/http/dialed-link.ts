import { backoffDelay } from "../../util/backoff.ts";
import { BaseLink } from "../base-link.ts";
import { wholeFrame, type FrameData } from "../link.ts";
import { messageOf } from "../errors.ts";
import { MAX_REASON_CHARS } from "../limits.ts";
import { CLOSE_HEADER, decodeFrames, encodeFrames, maxBodyBytes, SEQ_HEADER } from "./framing.ts";
import type { Fetch, HttpLimits } from "./init.ts";
import { Outbox } from "./outbox.ts";
import { NO_REDIRECTS, readLimited, RedirectRefusedError, refuseRedirect, ResponseTooLargeError } from "../../util/outbound.ts";

// Attempts per request after the first, for network errors and 5xx; the sequence numbers make a retry harmless.
const RETRIES = 3;
const RETRY_BACKOFF = { minMs: 100, maxMs: 1000, jitter: 0.2 };
// What a dialer waits beyond the hold before it gives a poll up as lost.
const REQUEST_GRACE_MS = 10_000;
// How long the goodbye to the listener may take.
const GOODBYE_TIMEOUT_MS = 2000;

/** The dialer's end: sends batches by POST, receives by keeping one poll outstanding. */
export class DialedLink extends BaseLink {
  readonly tier = "http";
  /** Frames not yet taken by the listener; the first is numbered `#nextSeq`. */
  readonly #outbox = new Outbox();
  #nextSeq = 1;
  #received = 0;
  #flushing: Promise<void> | undefined;
  /** Aborted on any close: stops polling. */
  readonly #stopPolling = new AbortController();
  /** Aborted once nothing more is to be sent: the session is over, or the listener stopped taking frames. */
  readonly #stopSending = new AbortController();
  /** True once the listener knows the session is over: it said so, or was told. */
  #sessionOver = false;
  /** Settles once a local close has flushed and told the listener. */
  done: Promise<void> = Promise.resolve();
  remoteIp?: string;

  constructor(
    readonly remote: string,
    /** The session's URL; a secret, so it stays out of `remote` and the logs. */
    private readonly base: string,
    private readonly limits: HttpLimits,
    private readonly fetch: Fetch,
  ) {
    super(limits.maxQueuedBytes, limits.preHandshakeFrameBytes);
    this.#pollLoop().catch((error: unknown) => this.#fail(`polling failed: ${messageOf(error)}`));
  }

  /** Frames not yet acknowledged by the far end. */
  get bufferedBytes(): number {
    return this.#outbox.bytes;
  }

  send(frame: FrameData): void {
    this.checkSend(frame);
    this.#outbox.push(wholeFrame(frame));
    this.checkQueue(this.#outbox.bytes);
    // Started a microtask later, so frames sent in the same tick share one request.
    this.#flushing ??= Promise.resolve().then(() => this.#flush());
  }

  close(reason = "closed"): void {
    if (!this.ended(reason)) return;
    this.#stopPolling.abort();
    // A backlog past the queue limit is not going out (the listener stopped taking it): say goodbye at once.
    if (this.#outbox.bytes > this.maxQueuedBytes) this.#stopSending.abort();
    // What was sent before close still goes out, then the listener hears of the close.
    this.done = (this.#flushing ?? Promise.resolve()).then(() => this.#goodbye(reason));
  }

  /** The largest frame a poll answer may carry now: small until the secure handshake is done. */
  #frameLimit(): number {
    return Math.min(this.incomingFrameLimit, this.limits.maxFrameBytes);
  }

  /** Stops whatever traffic is left. */
  abandon(): void {
    this.#fail("transport closed");
  }

  /** Stops sending and tells the listener the link is closed. */
  async #goodbye(reason: string): Promise<void> {
    if (this.#sessionOver) return;
    this.#sessionOver = true;
    this.#stopSending.abort();
    await this.fetch(`${this.base}?reason=${encodeURIComponent(reason.slice(0, MAX_REASON_CHARS))}`, {
      method: "DELETE",
      signal: AbortSignal.timeout(GOODBYE_TIMEOUT_MS),
      ...NO_REDIRECTS,
    }).then((res) => res.body?.cancel(), () => {}).catch(() => {});
  }

  /** Gives the link up without telling the listener (it is gone, or already knows). */
  #fail(reason: string): void {
    this.ended(reason);
    this.#sessionOver = true;
    this.#stopPolling.abort();
    this.#stopSending.abort();
  }

  async #flush(): Promise<void> {
    try {
      while (this.#outbox.length > 0 && !this.#stopSending.signal.aborted) {
        const frames = this.#outbox.nextBody(this.limits.maxFrameBytes);
        const reply = await this.#request("send", `/send?seq=${this.#nextSeq}`, this.#stopSending.signal, {
          method: "POST",
          body: encodeFrames(frames),
          headers: { "content-type": "application/octet-stream" },
        });
        if (!reply) return;
        this.#outbox.drop(frames.length);
        this.#nextSeq += frames.length;
      }
    } finally {
      this.#flushing = undefined;
    }
  }

  async #pollLoop(): Promise<void> {
    while (!this.closed) {
      const reply = await this.#request("poll", `/poll?ack=${this.#received}`, this.#stopPolling.signal, { method: "GET" });
      if (!reply || this.closed) return;
      let frames: Uint8Array[];
      const last = Number(reply.headers.get(SEQ_HEADER));
      try {
        frames = decodeFrames(reply.body, this.#frameLimit());
      } catch (err) {
        return this.#fail(`bad poll response: ${messageOf(err)}`);
      }
      if (!Number.isSafeInteger(last) || last - frames.length < 0) return this.#fail(`bad poll response: ${SEQ_HEADER} is '${last}'`);
      let seq = last - frames.length;
      for (const frame of frames) {
        if (++seq <= this.#received) continue;
        this.#received = seq;
        this.deliver(frame);
      }
      const close = reply.headers.get(CLOSE_HEADER);
      if (close !== null) return this.#fail(`closed by peer: ${safeDecode(close)}`);
    }
  }

  /**
   * One request with retries on network errors and 5xx; on a 4xx or when retries run out the link closes and this
   * returns undefined, as it does when `signal` aborts.
   */
  async #request(what: string, path: string, signal: AbortSignal, init: RequestInit): Promise<{ headers: Headers; body: Uint8Array } | undefined> {
    for (let attempt = 0; ; attempt++) {
      let failure: string;
      const attemptAbort = new AbortController();
      const stop = () => attemptAbort.abort(signal.reason);
      signal.addEventListener("abort", stop);
      const timer = setTimeout(() => attemptAbort.abort(new Error("no answer in time")), this.limits.pollHoldMs + REQUEST_GRACE_MS);
      try {
        const url = `${this.base}${path}`;
        const res = await this.fetch(url, { ...init, signal: attemptAbort.signal, ...NO_REDIRECTS });
        await refuseRedirect(this.remote, res);
        const body = await readLimited(this.remote, res, maxBodyBytes(this.#frameLimit()));
        if (res.ok) return { headers: res.headers, body };
        const error = errorOf(body);
        if (res.status === 410) return void this.#fail(`closed by peer: ${error}`);
        if (res.status === 404) return void this.#fail(`the peer no longer knows this link (${error})`);
        // The session is still there: the listener hears of the close.
        if (res.status < 500) return void this.close(`the peer refused a ${what}: ${res.status} ${error}`);
        failure = `${res.status} ${error}`;
      } catch (err) {
        if (signal.aborted) return undefined;
        // The listener chose to redirect us or to answer past any frame: nothing to retry.
        if (err instanceof RedirectRefusedError || err instanceof ResponseTooLargeError) return void this.#fail(`the peer's ${what} answer was refused: ${messageOf(err)}`);
        failure = messageOf(err);
      } finally {
        clearTimeout(timer);
        signal.removeEventListener("abort", stop);
      }
      if (attempt >= RETRIES) return void this.#fail(`${what} failed ${RETRIES + 1} times: ${failure}`);
      await Bun.sleep(backoffDelay(attempt + 1, RETRY_BACKOFF));
    }
  }
}

/** The `error` of a JSON refusal. */
function errorOf(body: Uint8Array): string {
  try {
    const { error } = JSON.parse(new TextDecoder().decode(body)) as { error?: unknown };
    return typeof error === "string" ? error : "no reason given";
  } catch {
    return "no reason given";
  }
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
