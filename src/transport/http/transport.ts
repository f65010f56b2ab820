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
 * numbering makes that safe); repeated failure or a 404/410 (the session is gone) ends the link, any other 4xx closes
 * it with a DELETE. The listener closes a session that has not polled for sessionTimeoutMs.
 *
 * Held polls vs idle timeouts: Bun.serve drops connections idle for 10 s by default. Pass the server to `handle` and
 * it extends the timeout of each held poll; otherwise keep pollHoldMs under the server's idleTimeout (the app's HTTP
 * server uses 30 s; the default hold is 20 s).
 */
import type { Server } from "bun";
import { jsonError, methodNotAllowed, readBody } from "../../util/http.ts";
import { DialError, DialRefusedError, messageOf, TransportClosedError } from "../errors.ts";
import { isIP } from "node:net";
import { ipOfUrl, type Link, type PeerAddress, type Transport } from "../link.ts";
import { AcceptedLink } from "./accepted-link.ts";
import { DialedLink } from "./dialed-link.ts";
import { decodeFrames, maxBodyBytes } from "./framing.ts";
import { limitsOf, type Fetch, type HttpLimits, type HttpTransportInit } from "./init.ts";
import { closeQuery, pollQuery, sendQuery } from "./query.ts";
import { NO_REDIRECTS, readLimited, refuseRedirect } from "../../util/outbound.ts";
import { SourceSlots } from "../source-slots.ts";

/** The path prefix the tier answers on. */
export const HTTP_LINK_PREFIX = "/mesh/http/";

const SESSION_ID = /^[A-Za-z0-9_-]{22}$/;
// The most of an answer to `open` read: a session id, or a refusal's sentence.
const MAX_OPEN_ANSWER_BYTES = 4096;
// How long the transport's close waits for its dialed links to say goodbye.
const CLOSE_WAIT_MS = 2000;

/** The HTTP long-polling tier: dials `${http}/mesh/http/`, serves it through `handle`. */
export class HttpTransport implements Transport {
  readonly tier = "http";
  readonly #limits: HttpLimits;
  readonly #fetch: Fetch;
  readonly #sessions = new Map<string, AcceptedLink>();
  readonly #slots: SourceSlots;
  readonly #dialed = new Set<DialedLink>();
  readonly #stopped = new AbortController();
  #onLink: ((link: Link) => void) | undefined;

  constructor(init: HttpTransportInit = {}) {
    this.#limits = limitsOf(init);
    this.#slots = new SourceSlots({ total: this.#limits.maxSessions, perSource: this.#limits.maxSessionsPerSource });
    this.#fetch = init.fetch ?? ((url, req) => fetch(url, req));
  }

  /** Needs the peer's HTTP base URL. */
  canDial(address: PeerAddress): boolean {
    return address.http !== undefined;
  }

  /** Opens a session on the peer; resolves once it exists (polling starts at once). */
  async dial(address: PeerAddress, signal?: AbortSignal): Promise<Link> {
    this.#throwIfStopped(signal);
    const sessions = sessionsUrl(address);
    const session = await this.#openSession(address.http!, sessions, signal);
    const link = new DialedLink(address.http!, `${sessions}${session}`, this.#limits, this.#fetch);
    link.remoteIp = ipOfUrl(address.http!);
    this.#dialed.add(link);
    link.onClose(() => this.#dialed.delete(link));
    return link;
  }

  /** POSTs `open`: resolves with the new session's id, or rejects with the DialError that says why there is none. */
  async #openSession(remote: string, sessions: string, signal?: AbortSignal): Promise<string> {
    let session: unknown;
    try {
      const url = `${sessions}open`;
      const res = await this.#fetch(url, { method: "POST", signal: signal ? AbortSignal.any([signal, this.#stopped.signal]) : this.#stopped.signal, ...NO_REDIRECTS });
      await refuseRedirect(url, res);
      const body = parseJson(await readLimited(url, res, MAX_OPEN_ANSWER_BYTES)) as { session?: unknown; error?: unknown };
      if (!res.ok) throw new DialRefusedError(`${remote} refused the link: ${res.status} ${String(body.error ?? "")}`.trim());
      session = body.session;
    } catch (err) {
      this.#throwIfStopped(signal);
      throw err instanceof DialError ? err : new DialRefusedError(`cannot reach ${sessions}open: ${messageOf(err)}`);
    }
    if (signal?.aborted || this.#stopped.signal.aborted) {
      if (typeof session === "string") void this.#fetch(`${sessions}${session}`, { method: "DELETE", ...NO_REDIRECTS }).then((res) => res.body?.cancel(), () => {}).catch(() => {});
      this.#throwIfStopped(signal);
    }
    if (typeof session !== "string" || !SESSION_ID.test(session)) throw new DialError(`${remote} answered without a valid session`);
    return session;
  }

  /** Throws why nothing may go on: the caller aborted (its reason), or the transport is closed (TransportClosedError). */
  #throwIfStopped(signal?: AbortSignal): void {
    signal?.throwIfAborted();
    if (this.#stopped.signal.aborted) throw new TransportClosedError("the http transport is closed");
  }

  /** Starts accepting sessions; each new link goes to `onLink`. */
  async listen(onLink: (link: Link) => void): Promise<void> {
    this.#throwIfStopped();
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
    await Promise.race([Promise.allSettled(dialed.map((link) => link.done)), Bun.sleep(CLOSE_WAIT_MS)]);
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
    if (id === "open" && action === undefined) return request.method === "POST" ? this.#open(server?.requestIP(request)?.address) : methodNotAllowed("POST");
    const link = id === undefined ? undefined : this.#sessions.get(id);
    if (!link) return jsonError(404, "no such session; open a new one");
    switch (action) {
      case undefined: {
        if (request.method !== "DELETE") return methodNotAllowed("DELETE");
        const query = closeQuery.read(url);
        if (!query) return jsonError(400, closeQuery.rule);
        link.drop(`closed by peer: ${query.reason || "no reason given"}`);
        return new Response(null, { status: 204 });
      }
      case "send": {
        if (request.method !== "POST") return methodNotAllowed("POST");
        const query = sendQuery.read(url);
        if (!query) return jsonError(400, sendQuery.rule);
        // Before the secure handshake is done, a body may carry only a small frame (limits.ts).
        const limit = maxBodyBytes(link.frameLimit);
        const body = await readBody(request, limit);
        if (!body) return jsonError(413, `a send body may be at most ${limit} bytes now`);
        let frames: Uint8Array[];
        try {
          frames = decodeFrames(body, link.frameLimit);
        } catch (err) {
          return jsonError(400, messageOf(err));
        }
        return link.receive(query.seq, frames);
      }
      case "poll": {
        if (request.method !== "GET") return methodNotAllowed("GET");
        const query = pollQuery.read(url);
        if (!query) return jsonError(400, pollQuery.rule);
        server?.timeout(request, Math.ceil(this.#limits.pollHoldMs / 1000) + 10);
        return link.poll(query.ack, this.#limits.pollHoldMs, request.signal);
      }
      default:
        return jsonError(404, `no route for ${url.pathname}`);
    }
  }

  #open(remote = "an unknown address"): Response {
    const onLink = this.#onLink;
    if (!onLink) return jsonError(503, "this instance is not accepting HTTP links");
    const release = this.#slots.take(isIP(remote) ? remote : undefined);
    if (typeof release === "string") return jsonError(429, `this instance takes no more HTTP links for now (${release}); try again later`);
    const id = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64url");
    const link = new AcceptedLink(id, remote, this.#limits, (l) => {
      if (this.#sessions.get(l.id) === l) this.#sessions.delete(l.id);
      release();
    });
    if (isIP(remote)) link.remoteIp = remote;
    this.#sessions.set(id, link);
    onLink(link);
    return Response.json({ session: id });
  }
}

/** Where the peer's sessions are, `${http}/mesh/http/`; a DialError for an address without a usable http URL. */
function sessionsUrl(address: PeerAddress): string {
  if (address.http === undefined) throw new DialError("the address has no http URL");
  if (!URL.canParse(address.http)) throw new DialError(`'${address.http}' is not a URL`);
  return `${address.http.replace(/\/+$/, "")}${HTTP_LINK_PREFIX}`;
}

/** A body as JSON, or an empty object when it is none. */
function parseJson(body: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(body));
  } catch {
    return {};
  }
}

/** Creates the HTTP long-polling tier. */
export function httpTransport(init?: HttpTransportInit): HttpTransport {
  return new HttpTransport(init);
}
