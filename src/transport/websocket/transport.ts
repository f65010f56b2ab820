/**
 * The `websocket` tier: one binary WebSocket message per frame, on the `--ws-port` server at `/link`.
 * The dialer opens a client WebSocket; the listener owns no server, it offers `upgrade` and `websocket`
 * for the app's single WebSocket server (see routed-server.ts), as the signaling hub does.
 */
import type { Server, WebSocketHandler } from "bun";
import { jsonError } from "../../util/http.ts";
import { DialError, DialRefusedError, messageOf, TransportClosedError } from "../errors.ts";
import { ipOfUrl, type Link, type PeerAddress, type Transport } from "../link.ts";
import { clientWire, flush, NORMAL, serverWire, WebSocketLink, type LinkSocket, type LinkSocketData } from "./link.ts";
import type { Routed } from "./routed-server.ts";
import { SourceSlots } from "../source-slots.ts";

export interface WebSocketTransportInit {
  /** Accepted links held at once; further upgrades get 429. @default DEFAULT_MAX_LINKS */
  maxLinks?: number;
  /** Accepted links one source (an IPv4 address, or an IPv6 /64) may hold. @default DEFAULT_MAX_LINKS_PER_SOURCE */
  maxLinksPerSource?: number;
  /** Bytes a link may hold for a far end that stopped reading before it closes (see link.ts). @default MAX_QUEUED_BYTES */
  maxQueuedBytes?: number;
  /** The largest frame taken before the secure handshake (see limits.ts); raw links in tests take more. @default PRE_HANDSHAKE_FRAME_BYTES */
  preHandshakeFrameBytes?: number;
}

/** Default number of accepted links. */
export const DEFAULT_MAX_LINKS = 1024;
/** Default number of accepted links per source: instances behind one NAT share an address. */
export const DEFAULT_MAX_LINKS_PER_SOURCE = 16;

/** The path the tier answers on. */
export const LINK_PATH = "/link";

/** The WebSocket tier: dials `${ws}/link`, accepts links through `upgrade` and `websocket`. */
export class WebSocketTransport implements Transport {
  readonly tier = "websocket";
  readonly #slots: SourceSlots;
  readonly #maxQueuedBytes: number | undefined;
  readonly #preHandshakeFrameBytes: number | undefined;
  readonly #links = new Set<WebSocketLink>();
  readonly #accepted = new Set<LinkSocket>();
  readonly #stopped = new AbortController();
  #onLink: ((link: Link) => void) | undefined;

  constructor(init: WebSocketTransportInit = {}) {
    this.#slots = new SourceSlots({ total: init.maxLinks ?? DEFAULT_MAX_LINKS, perSource: init.maxLinksPerSource ?? DEFAULT_MAX_LINKS_PER_SOURCE });
    this.#maxQueuedBytes = init.maxQueuedBytes;
    this.#preHandshakeFrameBytes = init.preHandshakeFrameBytes;
  }

  /** Needs the peer's WebSocket base URL. */
  canDial(address: PeerAddress): boolean {
    return address.ws !== undefined;
  }

  /** Opens a client WebSocket to the peer's `/link`; resolves once it is open. */
  async dial(address: PeerAddress, signal?: AbortSignal): Promise<Link> {
    signal?.throwIfAborted();
    if (this.#stopped.signal.aborted) throw new TransportClosedError("the websocket transport is closed");
    if (address.ws === undefined) throw new DialError("the address has no ws URL");
    const url = `${address.ws.replace(/\/+$/, "")}${LINK_PATH}`;
    let socket: WebSocket;
    try {
      socket = new WebSocket(url);
    } catch (error) {
      throw new DialError(`cannot dial ${url}: ${messageOf(error)}`);
    }
    socket.binaryType = "arraybuffer";
    const opened = Promise.withResolvers<void>();
    const stop = () => {
      opened.reject(signal?.aborted ? signal.reason : new TransportClosedError("the websocket transport closed while dialing"));
      socket.close(NORMAL, "dial abandoned");
    };
    signal?.addEventListener("abort", stop, { once: true });
    this.#stopped.signal.addEventListener("abort", stop, { once: true });
    socket.onopen = () => opened.resolve();
    // A refused connection and a refused upgrade (429, 503) both end here, before the socket opens.
    socket.onerror = (event) => opened.reject(new DialRefusedError(`cannot dial ${url}: ${(event as ErrorEvent).message ?? "connection failed"}`));
    socket.onclose = (event) => opened.reject(new DialRefusedError(`cannot dial ${url}: closed with code ${event.code} ${event.reason}`.trim()));
    try {
      await opened.promise;
    } finally {
      signal?.removeEventListener("abort", stop);
      this.#stopped.signal.removeEventListener("abort", stop);
    }

    const link = new WebSocketLink(url, clientWire(socket), this.#maxQueuedBytes, this.#preHandshakeFrameBytes);
    link.remoteIp = ipOfUrl(url);
    socket.onmessage = (event) => link.receive(event.data);
    socket.onclose = (event) => link.socketClosed(event.code, event.reason);
    socket.onerror = null;
    return this.#track(link);
  }

  /** Starts accepting upgrades; each new link goes to `onLink`. */
  async listen(onLink: (link: Link) => void): Promise<void> {
    if (this.#stopped.signal.aborted) throw new TransportClosedError("the websocket transport is closed");
    this.#onLink = onLink;
  }

  /** Stops accepting and closes every link made or accepted. */
  async close(): Promise<void> {
    this.#onLink = undefined;
    this.#stopped.abort();
    // Sockets upgraded but not yet open are refused in `#accept`.
    for (const link of [...this.#links]) link.close("transport closed");
  }

  /**
   * Upgrades a request for `/link`, or answers why not (503 before `listen`, 429 when full or when its source holds its
   * share, 426 without WebSocket).
   */
  upgrade(req: Request, server: Server<Routed>): Response | undefined {
    if (!this.#onLink) return jsonError(503, "this instance is not accepting WebSocket links");
    if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") return jsonError(426, "this endpoint speaks WebSocket only");
    const release = this.#slots.take(server.requestIP(req)?.address);
    if (typeof release === "string") return jsonError(429, `this instance takes no more WebSocket links for now (${release}); try again later`);
    const data: LinkSocketData = { handler: this.websocket, queue: [], queued: 0, release };
    if (server.upgrade(req, { data })) return undefined;
    release();
    return jsonError(400, "WebSocket upgrade failed");
  }

  /** The tier's WebSocket events; the `--ws-port` server passes them on (see routed-server.ts). */
  readonly websocket: WebSocketHandler<LinkSocketData> = {
    open: (ws) => this.#accept(ws),
    message: (ws, message) => ws.data.link?.receive(message),
    drain: (ws) => flush(ws),
    close: (ws, code, reason) => {
      ws.data.release();
      this.#accepted.delete(ws);
      ws.data.queue = [];
      ws.data.queued = 0;
      ws.data.link?.socketClosed(code, reason);
    },
  };

  #accept(ws: LinkSocket): void {
    const onLink = this.#onLink;
    if (!onLink) return ws.close(NORMAL, "this instance stopped accepting links");
    this.#accepted.add(ws);
    const link = new WebSocketLink(ws.remoteAddress, serverWire(ws), this.#maxQueuedBytes, this.#preHandshakeFrameBytes);
    link.remoteIp = ws.remoteAddress;
    ws.data.link = link;
    onLink(this.#track(link));
  }

  #track(link: WebSocketLink): WebSocketLink {
    this.#links.add(link);
    link.onClose(() => this.#links.delete(link));
    return link;
  }
}
