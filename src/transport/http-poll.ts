/**
 * The `http` tier: long polling over plain HTTP, for networks where only HTTP gets through.
 *
 * Protocol, under /mesh/http/ on the listener's `--http-port`. A body of frames is each frame as a u32 big-endian
 * length then its bytes, repeated (application/octet-stream). Each side numbers the frames it sends 1, 2, 3, …
 * Every refusal is a 4xx JSON `{"error": "…"}`.
 *
 *   POST   /mesh/http/open              → 200 {"session": id} (128 random bits); the listener's Link exists from here.
 *                                          503 before listen, 429 past maxSessions.
 *   POST   /mesh/http/<id>/send?seq=N   dialer → listener: a body of frames, the first numbered N → 200 {"received": M}.
 *                                          Frames numbered ≤ those already received are skipped, so a retried send never
 *                                          duplicates. 413 over the body limit, 400 bad framing, 409 a gap in numbering.
 *   GET    /mesh/http/<id>/poll?ack=N   listener → dialer: N is the last frame the dialer received. The listener drops
 *                                          frames ≤ N and answers at once with those after N, or holds the request until
 *                                          one is sent (at most pollHoldMs). 200, a body of frames, header x-mesh-seq: the
 *                                          number of the last frame in it (N when empty). Frames stay queued until acked,
 *                                          so a lost response loses nothing: the next poll carries them again.
 *                                          A listener that closed the link adds x-mesh-close: <reason, URI-encoded>.
 *   DELETE /mesh/http/<id>?reason=R     dialer closes → 204.
 *
 * The dialer keeps one poll outstanding and at most one send in flight; frames sent meanwhile (or in the same tick)
 * go together in the next send. A request that fails on the network or with a 5xx is retried a few times (the
 * numbering makes that safe); a 4xx (404: the session is gone) or repeated failure closes the link. The listener
 * closes a session that has not polled for sessionTimeoutMs.
 *
 * Held polls vs idle timeouts: Bun.serve drops connections idle for 10 s by default. Pass the server to `handle` and
 * it extends the timeout of each held poll; otherwise keep pollHoldMs under the server's idleTimeout (the app's HTTP
 * server uses 30 s; the default hold is 20 s).
 */
import type { Server } from "bun";
import { BaseLink } from "./base-link.ts";
import { DialError, type Link, type PeerAddress, type Transport } from "./types.ts";

export interface HttpTransportInit {
  /** Largest frame carried; a send body may be one such frame plus its 4-byte length. @default 16 MiB */
  maxFrameBytes?: number;
  /** Sessions the listener holds at once; further opens get 429. @default 1024 */
  maxSessions?: number;
  /** Bytes one side may hold unsent or unacked before it closes the link (the far end stopped taking them). @default 64 MiB */
  maxQueuedBytes?: number;
  /** How long the listener holds a poll with nothing to send. @default 20000 */
  pollHoldMs?: number;
  /** The listener closes a session whose dialer has not polled for this long. @default 30000 */
  sessionTimeoutMs?: number;
  /** The dialer's HTTP client; tests pass one that loses responses. @default globalThis.fetch */
  fetch?: (url: string, init: RequestInit) => Promise<Response>;
}

/** Default largest frame, the same on every tier. */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;
/** Default number of sessions a listener holds. */
export const DEFAULT_MAX_SESSIONS = 1024;
/** Default unsent or unacked bytes per link before it is given up. */
export const DEFAULT_MAX_QUEUED_BYTES = 64 * 1024 * 1024;
/** Default longest hold of a poll. */
export const DEFAULT_POLL_HOLD_MS = 20_000;
/** Default time without a poll after which a session is closed. */
export const DEFAULT_SESSION_TIMEOUT_MS = 30_000;

/** The path prefix the tier answers on. */
export const HTTP_LINK_PREFIX = "/mesh/http/";

const SEQ_HEADER = "x-mesh-seq";
const CLOSE_HEADER = "x-mesh-close";
const SESSION_ID = /^[A-Za-z0-9_-]{22}$/;
// Attempts per request after the first, for network errors and 5xx; the sequence numbers make a retry harmless.
const RETRIES = 3;
// What a dialer waits beyond the hold before it gives a poll up as lost.
const REQUEST_GRACE_MS = 10_000;

type Limits = Required<Omit<HttpTransportInit, "fetch">>;

/** The listener's end of a session: frames in from sends, frames out through polls. */
class AcceptedLink extends BaseLink {
  readonly tier = "http";
  /** Frames sent and not yet acked; the first is numbered `#acked + 1`. */
  readonly #outbox: Uint8Array[] = [];
  #outboxBytes = 0;
  #acked = 0;
  #received = 0;
  #closeReason: string | undefined;
  /** Wakes the held poll, if any. */
  #wake: (() => void) | undefined;
  #wakeScheduled = false;
  #expiry: Timer | undefined;
  #forgotten = false;

  constructor(
    readonly id: string,
    readonly remote: string,
    private readonly limits: Limits,
    private readonly forget: (link: AcceptedLink) => void,
  ) {
    super();
    this.#idle();
  }

  send(frame: Uint8Array): void {
    this.checkSend(frame);
    this.#outbox.push(frame.slice());
    this.#outboxBytes += frame.byteLength;
    if (this.#outboxBytes > this.limits.maxQueuedBytes) {
      return this.close(`over ${this.limits.maxQueuedBytes} bytes queued; the dialer stopped polling`);
    }
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
    this.#outboxBytes -= this.#outbox.splice(0, ack - this.#acked).reduce((sum, f) => sum + f.byteLength, 0);
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
    const frames: Uint8Array[] = [];
    let size = 0;
    for (const frame of this.#outbox) {
      if (frames.length > 0 && size + 4 + frame.byteLength > this.limits.maxFrameBytes + 4) break;
      frames.push(frame);
      size += 4 + frame.byteLength;
    }
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

/** The dialer's end: sends batches by POST, receives by keeping one poll outstanding. */
class DialedLink extends BaseLink {
  readonly tier = "http";
  readonly #outbox: Uint8Array[] = [];
  #outboxBytes = 0;
  /** Number of the first frame in the outbox. */
  #nextSeq = 1;
  #received = 0;
  #flushing: Promise<void> | undefined;
  /** Aborted on any close: stops polling. */
  readonly #stopPolling = new AbortController();
  /** Aborted when the session is dead: stops sending too. */
  readonly #dead = new AbortController();
  /** Settles once a local close has flushed and told the listener. */
  done: Promise<void> = Promise.resolve();

  constructor(
    readonly remote: string,
    /** The session's URL; a secret, so it stays out of `remote` and the logs. */
    private readonly base: string,
    private readonly limits: Limits,
    private readonly fetch: (url: string, init: RequestInit) => Promise<Response>,
  ) {
    super();
    void this.#pollLoop();
  }

  send(frame: Uint8Array): void {
    this.checkSend(frame);
    this.#outbox.push(frame.slice());
    this.#outboxBytes += frame.byteLength;
    if (this.#outboxBytes > this.limits.maxQueuedBytes) {
      const reason = `over ${this.limits.maxQueuedBytes} bytes unsent; the listener is not taking them`;
      this.ended(reason);
      this.#stopPolling.abort();
      this.done = this.#goodbye(reason);
      return;
    }
    // Started a microtask later, so frames sent in the same tick share one request.
    this.#flushing ??= Promise.resolve().then(() => this.#flush());
  }

  close(reason = "closed"): void {
    if (!this.ended(reason)) return;
    this.#stopPolling.abort();
    // What was sent before close still goes out, then the listener hears of the close.
    this.done = (this.#flushing ?? Promise.resolve()).then(() => this.#goodbye(reason));
  }

  /** Stops sending and tells the listener the link is closed. */
  async #goodbye(reason: string): Promise<void> {
    if (this.#dead.signal.aborted) return;
    this.#dead.abort();
    await this.fetch(`${this.base}?reason=${encodeURIComponent(reason.slice(0, 200))}`, {
      method: "DELETE",
      signal: AbortSignal.timeout(2000),
    }).catch(() => {});
  }

  /** Stops whatever traffic is left. */
  abandon(): void {
    this.#fail("transport closed");
  }

  /** Gives the link up without telling the listener (it is gone, or already knows). */
  #fail(reason: string): void {
    this.ended(reason);
    this.#stopPolling.abort();
    this.#dead.abort();
  }

  async #flush(): Promise<void> {
    try {
      while (this.#outbox.length > 0 && !this.#dead.signal.aborted) {
        let count = 0;
        let size = 0;
        for (const frame of this.#outbox) {
          if (count > 0 && size + 4 + frame.byteLength > this.limits.maxFrameBytes + 4) break;
          count++;
          size += 4 + frame.byteLength;
        }
        const body = encodeFrames(this.#outbox.slice(0, count));
        const reply = await this.#request("send", `/send?seq=${this.#nextSeq}`, this.#dead.signal, {
          method: "POST",
          body,
          headers: { "content-type": "application/octet-stream" },
        });
        if (!reply) return;
        this.#outboxBytes -= this.#outbox.splice(0, count).reduce((sum, f) => sum + f.byteLength, 0);
        this.#nextSeq += count;
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
        frames = decodeFrames(reply.body, this.limits.maxFrameBytes);
      } catch (err) {
        return this.#fail(`bad poll response: ${(err as Error).message}`);
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
   * One request with retries on network errors and 5xx; on a 4xx or when retries run out the link fails and this
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
        const res = await this.fetch(`${this.base}${path}`, { ...init, signal: attemptAbort.signal });
        const body = new Uint8Array(await res.arrayBuffer());
        if (res.ok) return { headers: res.headers, body };
        const error = errorOf(body);
        if (res.status === 410) return void this.#fail(`closed by peer: ${error}`);
        if (res.status === 404) return void this.#fail(`the peer no longer knows this link (${error})`);
        if (res.status < 500) return void this.#fail(`the peer refused a ${what}: ${res.status} ${error}`);
        failure = `${res.status} ${error}`;
      } catch (err) {
        if (signal.aborted) return undefined;
        failure = (err as Error).message;
      } finally {
        clearTimeout(timer);
        signal.removeEventListener("abort", stop);
      }
      if (attempt >= RETRIES) return void this.#fail(`${what} failed ${RETRIES + 1} times: ${failure}`);
      await Bun.sleep(100 * (attempt + 1));
    }
  }
}

/** The HTTP long-polling tier: dials `${http}/mesh/http/`, serves it through `handle`. */
export class HttpTransport implements Transport {
  readonly tier = "http";
  readonly #limits: Limits;
  readonly #fetch: (url: string, init: RequestInit) => Promise<Response>;
  readonly #sessions = new Map<string, AcceptedLink>();
  readonly #dialed = new Set<DialedLink>();
  readonly #stopped = new AbortController();
  #onLink: ((link: Link) => void) | undefined;

  constructor(init: HttpTransportInit = {}) {
    this.#limits = {
      maxFrameBytes: init.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
      maxSessions: init.maxSessions ?? DEFAULT_MAX_SESSIONS,
      maxQueuedBytes: init.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES,
      pollHoldMs: init.pollHoldMs ?? DEFAULT_POLL_HOLD_MS,
      sessionTimeoutMs: init.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS,
    };
    this.#fetch = init.fetch ?? ((url, req) => fetch(url, req));
  }

  /** Needs the peer's HTTP base URL. */
  canDial(address: PeerAddress): boolean {
    return address.http !== undefined;
  }

  /** Opens a session on the peer; resolves once it exists (polling starts at once). */
  async dial(address: PeerAddress, signal?: AbortSignal): Promise<Link> {
    signal?.throwIfAborted();
    if (this.#stopped.signal.aborted) throw new DialError("the http transport is closed");
    if (address.http === undefined) throw new DialError("the address has no http URL");
    const base = `${address.http.replace(/\/+$/, "")}${HTTP_LINK_PREFIX}`;
    let session: unknown;
    try {
      const abort = signal ? AbortSignal.any([signal, this.#stopped.signal]) : this.#stopped.signal;
      const res = await this.#fetch(`${base}open`, { method: "POST", signal: abort });
      const body = (await res.json().catch(() => ({}))) as { session?: unknown; error?: unknown };
      if (!res.ok) throw new DialError(`${address.http} refused the link: ${res.status} ${String(body.error ?? "")}`.trim());
      session = body.session;
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if (err instanceof DialError) throw err;
      if (this.#stopped.signal.aborted) throw new DialError("the http transport closed while dialing");
      throw new DialError(`cannot reach ${base}open: ${(err as Error).message}`);
    }
    if (typeof session !== "string" || !SESSION_ID.test(session)) throw new DialError(`${address.http} answered without a valid session`);
    if (signal?.aborted) {
      void this.#fetch(`${base}${session}`, { method: "DELETE" }).catch(() => {});
      throw signal.reason;
    }
    const link = new DialedLink(address.http, `${base}${session}`, this.#limits, this.#fetch);
    this.#dialed.add(link);
    link.onClose(() => this.#dialed.delete(link));
    return link;
  }

  /** Starts accepting sessions; each new link goes to `onLink`. */
  async listen(onLink: (link: Link) => void): Promise<void> {
    if (this.#stopped.signal.aborted) throw new Error("the http transport is closed");
    this.#onLink = onLink;
  }

  /** Stops accepting and closes every link made or accepted (dialed links flush and say goodbye first). */
  async close(): Promise<void> {
    this.#onLink = undefined;
    this.#stopped.abort();
    for (const link of [...this.#sessions.values()]) link.drop("transport closed");
    const dialed = [...this.#dialed];
    for (const link of dialed) link.close("transport closed");
    // A dialed link says goodbye to its listener, but a stuck one must not hold the close up.
    await Promise.race([Promise.allSettled(dialed.map((link) => link.done)), Bun.sleep(2000)]);
    for (const link of dialed) link.abandon();
  }

  /**
   * Serves a request under `/mesh/http/`. Never throws: every refusal is a 4xx JSON error. Pass `server` so held
   * polls outlive the server's idle timeout.
   */
  async handle(request: Request, server?: Server<any> | null): Promise<Response> {
    try {
      return await this.#route(request, server);
    } catch {
      return jsonError(400, "the request could not be read");
    }
  }

  async #route(request: Request, server?: Server<any> | null): Promise<Response> {
    const url = new URL(request.url);
    if (!url.pathname.startsWith(HTTP_LINK_PREFIX)) return jsonError(404, `no route for ${url.pathname}`);
    const [id, action, ...rest] = url.pathname.slice(HTTP_LINK_PREFIX.length).split("/");
    if (rest.length > 0) return jsonError(404, `no route for ${url.pathname}`);
    if (id === "open" && action === undefined) return request.method === "POST" ? this.#open(server?.requestIP(request)?.address) : notAllowed("POST");
    const link = id === undefined ? undefined : this.#sessions.get(id);
    if (!link) return jsonError(404, "no such session; open a new one");
    switch (action) {
      case undefined:
        if (request.method !== "DELETE") return notAllowed("DELETE");
        link.drop(`closed by peer: ${url.searchParams.get("reason")?.slice(0, 200) || "no reason given"}`);
        return new Response(null, { status: 204 });
      case "send": {
        if (request.method !== "POST") return notAllowed("POST");
        const first = wholeNumber(url.searchParams.get("seq"));
        if (first === undefined || first < 1) return jsonError(400, "seq must be a whole number from 1");
        const body = await readBody(request, this.#limits.maxFrameBytes + 4);
        if (!body) return jsonError(413, `a send body may be at most ${this.#limits.maxFrameBytes + 4} bytes`);
        let frames: Uint8Array[];
        try {
          frames = decodeFrames(body, this.#limits.maxFrameBytes);
        } catch (err) {
          return jsonError(400, (err as Error).message);
        }
        return link.receive(first, frames);
      }
      case "poll": {
        if (request.method !== "GET") return notAllowed("GET");
        const ack = wholeNumber(url.searchParams.get("ack"));
        if (ack === undefined) return jsonError(400, "ack must be a whole number");
        server?.timeout(request, Math.ceil(this.#limits.pollHoldMs / 1000) + 10);
        return link.poll(ack, this.#limits.pollHoldMs, request.signal);
      }
      default:
        return jsonError(404, `no route for ${url.pathname}`);
    }
  }

  #open(remote = "an unknown address"): Response {
    const onLink = this.#onLink;
    if (!onLink) return jsonError(503, "this instance is not accepting HTTP links");
    if (this.#sessions.size >= this.#limits.maxSessions) return jsonError(429, "this instance holds the most HTTP links it allows; try again later");
    const id = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64url");
    const link = new AcceptedLink(id, remote, this.#limits, (l) => {
      if (this.#sessions.get(l.id) === l) this.#sessions.delete(l.id);
    });
    this.#sessions.set(id, link);
    onLink(link);
    return Response.json({ session: id });
  }
}

/** Creates the HTTP long-polling tier. */
export function httpTransport(init?: HttpTransportInit): HttpTransport {
  return new HttpTransport(init);
}

/** Frames as one body: each a u32 big-endian length, then its bytes. */
export function encodeFrames(frames: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(frames.reduce((sum, f) => sum + 4 + f.byteLength, 0));
  const view = new DataView(out.buffer);
  let at = 0;
  for (const frame of frames) {
    view.setUint32(at, frame.byteLength);
    out.set(frame, at + 4);
    at += 4 + frame.byteLength;
  }
  return out;
}

/** Splits a body made by `encodeFrames`; throws on a truncated body or a frame over `maxFrameBytes`. */
export function decodeFrames(body: Uint8Array, maxFrameBytes: number): Uint8Array[] {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const frames: Uint8Array[] = [];
  let at = 0;
  while (at < body.byteLength) {
    if (at + 4 > body.byteLength) throw new Error(`the body ends inside a frame length at byte ${at}`);
    const length = view.getUint32(at);
    if (length > maxFrameBytes) throw new Error(`a frame of ${length} bytes is over the ${maxFrameBytes}-byte limit`);
    if (at + 4 + length > body.byteLength) throw new Error(`the body ends inside a frame of ${length} bytes at byte ${at}`);
    frames.push(body.slice(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return frames;
}

/** The body, or undefined once it passes `maxBytes` (whatever Content-Length claims). */
async function readBody(request: Request, maxBytes: number): Promise<Uint8Array | undefined> {
  if (Number(request.headers.get("content-length") ?? 0) > maxBytes) return undefined;
  if (!request.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of request.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > maxBytes) return undefined;
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

function wholeNumber(raw: string | null): number | undefined {
  return raw !== null && /^\d{1,15}$/.test(raw) ? Number(raw) : undefined;
}

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

function notAllowed(method: string): Response {
  return Response.json({ error: `use ${method} here` }, { status: 405, headers: { allow: method } });
}

function jsonError(status: number, error: string): Response {
  return Response.json({ error }, { status });
}
