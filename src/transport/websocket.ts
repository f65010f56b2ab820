/**
 * The `websocket` tier: one binary WebSocket message per frame, on the `--ws-port` server at `/link`.
 * The dialer opens a client WebSocket; the listener owns no server, it offers `upgrade` and `websocket`
 * for the app's single WebSocket server (see ws-server.ts), as the signaling hub does.
 */
import type { Server, ServerWebSocket, WebSocketHandler } from "bun";
import { BaseLink } from "./base-link.ts";
import { DialError, type Link, type PeerAddress, type Transport } from "./types.ts";
import type { Routed } from "./ws-server.ts";

export interface WebSocketTransportInit {
  /** Largest frame accepted; a bigger one closes the link. @default 16 MiB */
  maxFrameBytes?: number;
  /** Accepted links held at once; further upgrades get 429. @default 1024 */
  maxLinks?: number;
  /** Bytes a link may hold unsent before it is closed (the far end stopped reading). @default 64 MiB */
  maxQueuedBytes?: number;
}

/** Default largest frame, matching `routedWebSocket.maxPayloadLength`. */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;
/** Default number of accepted links. */
export const DEFAULT_MAX_LINKS = 1024;
/** Default unsent bytes per link before it is given up. */
export const DEFAULT_MAX_QUEUED_BYTES = 64 * 1024 * 1024;

/** The path the tier answers on. */
export const LINK_PATH = "/link";

const NORMAL = 1000;
const UNSUPPORTED_DATA = 1003;
const POLICY = 1008;
const TOO_BIG = 1009;
// Keep Bun's own send buffer under its backpressureLimit (16 MiB by default), past which it drops messages silently.
const HIGH_WATER = 8 * 1024 * 1024;

/** What a link needs from its socket, client or server side. */
interface Wire {
  /** Sends (copying) or queues one frame; returns the bytes now waiting locally. */
  write(frame: Uint8Array): number;
  end(code: number, reason: string): void;
}

/** Socket data of an accepted `/link` WebSocket. */
export interface LinkSocketData extends Routed {
  link?: WebSocketLink;
  /** Frames waiting for Bun's send buffer to drain, and their total size. */
  queue: Uint8Array[];
  queued: number;
}

type LinkSocket = ServerWebSocket<LinkSocketData>;

/** A link over one WebSocket, either end. */
class WebSocketLink extends BaseLink {
  readonly tier = "websocket";

  constructor(
    readonly remote: string,
    private readonly wire: Wire,
    private readonly limits: Required<WebSocketTransportInit>,
  ) {
    super();
  }

  send(frame: Uint8Array): void {
    this.checkSend(frame);
    const waiting = this.wire.write(frame);
    if (waiting > this.limits.maxQueuedBytes) this.fail(POLICY, `over ${this.limits.maxQueuedBytes} bytes unsent; the far end is not reading`);
  }

  close(reason = "closed"): void {
    this.fail(NORMAL, reason);
  }

  /** Closes this end with a close code the far end sees. */
  fail(code: number, reason: string): void {
    if (this.ended(reason)) this.wire.end(code, reason);
  }

  /** A message arrived from the far end. */
  receive(data: string | ArrayBuffer | Uint8Array): void {
    if (this.closed) return;
    if (typeof data === "string") return this.fail(UNSUPPORTED_DATA, "text messages are not frames");
    if (data.byteLength > this.limits.maxFrameBytes) {
      return this.fail(TOO_BIG, `frame of ${data.byteLength} bytes is over the ${this.limits.maxFrameBytes}-byte limit`);
    }
    this.deliver(data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }

  /** The socket closed under the link: the far end closed it, or the connection failed. */
  socketClosed(code: number, reason: string): void {
    if (code === NORMAL) this.ended(`closed by peer: ${reason || "no reason given"}`);
    else this.ended(`connection lost (code ${code}${reason ? `: ${reason}` : ""})`);
  }
}

/** The WebSocket tier: dials `${ws}/link`, accepts links through `upgrade` and `websocket`. */
export class WebSocketTransport implements Transport {
  readonly tier = "websocket";
  readonly #limits: Required<WebSocketTransportInit>;
  readonly #links = new Set<WebSocketLink>();
  readonly #accepted = new Set<LinkSocket>();
  readonly #stopped = new AbortController();
  #onLink: ((link: Link) => void) | undefined;

  constructor(init: WebSocketTransportInit = {}) {
    this.#limits = {
      maxFrameBytes: init.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
      maxLinks: init.maxLinks ?? DEFAULT_MAX_LINKS,
      maxQueuedBytes: init.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES,
    };
  }

  /** Needs the peer's WebSocket base URL. */
  canDial(address: PeerAddress): boolean {
    return address.ws !== undefined;
  }

  /** Opens a client WebSocket to the peer's `/link`; resolves once it is open. */
  async dial(address: PeerAddress, signal?: AbortSignal): Promise<Link> {
    signal?.throwIfAborted();
    if (this.#stopped.signal.aborted) throw new DialError("the websocket transport is closed");
    if (address.ws === undefined) throw new DialError("the address has no ws URL");
    const url = `${address.ws.replace(/\/+$/, "")}${LINK_PATH}`;
    let socket: WebSocket;
    try {
      socket = new WebSocket(url);
    } catch (err) {
      throw new DialError(`cannot dial ${url}: ${(err as Error).message}`);
    }
    socket.binaryType = "arraybuffer";
    const opened = Promise.withResolvers<void>();
    const stop = () => {
      opened.reject(signal?.aborted ? signal.reason : new DialError("the websocket transport closed while dialing"));
      socket.close(NORMAL, "dial abandoned");
    };
    signal?.addEventListener("abort", stop, { once: true });
    this.#stopped.signal.addEventListener("abort", stop, { once: true });
    socket.onopen = () => opened.resolve();
    socket.onerror = (event) => opened.reject(new DialError(`cannot dial ${url}: ${(event as ErrorEvent).message ?? "connection failed"}`));
    socket.onclose = (event) => opened.reject(new DialError(`cannot dial ${url}: closed with code ${event.code} ${event.reason}`.trim()));
    try {
      await opened.promise;
    } finally {
      signal?.removeEventListener("abort", stop);
      this.#stopped.signal.removeEventListener("abort", stop);
    }

    const link = new WebSocketLink(url, clientWire(socket), this.#limits);
    socket.onmessage = (event) => link.receive(event.data);
    socket.onclose = (event) => link.socketClosed(event.code, event.reason);
    socket.onerror = null;
    return this.#track(link);
  }

  /** Starts accepting upgrades; each new link goes to `onLink`. */
  async listen(onLink: (link: Link) => void): Promise<void> {
    if (this.#stopped.signal.aborted) throw new Error("the websocket transport is closed");
    this.#onLink = onLink;
  }

  /** Stops accepting and closes every link made or accepted. */
  async close(): Promise<void> {
    this.#onLink = undefined;
    this.#stopped.abort();
    // Sockets upgraded but not yet open are refused in `#accept`.
    for (const link of [...this.#links]) link.close("transport closed");
  }

  /** Upgrades a request for `/link`, or answers why not (503 before `listen`, 429 when full, 426 without WebSocket). */
  upgrade(req: Request, server: Server<Routed>): Response | undefined {
    if (!this.#onLink) return jsonError(503, "this instance is not accepting WebSocket links");
    if (this.#accepted.size >= this.#limits.maxLinks) return jsonError(429, "this instance holds the most WebSocket links it allows; try again later");
    if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") return jsonError(426, "this endpoint speaks WebSocket only");
    const data: LinkSocketData = { handler: this.websocket, queue: [], queued: 0 };
    if (server.upgrade(req, { data })) return undefined;
    return jsonError(400, "WebSocket upgrade failed");
  }

  /** The tier's WebSocket events; the `--ws-port` server passes them on (see ws-server.ts). */
  readonly websocket: WebSocketHandler<LinkSocketData> = {
    open: (ws) => this.#accept(ws),
    message: (ws, message) => ws.data.link?.receive(message),
    drain: (ws) => flush(ws),
    close: (ws, code, reason) => {
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
    const link = new WebSocketLink(ws.remoteAddress, serverWire(ws), this.#limits);
    ws.data.link = link;
    onLink(this.#track(link));
  }

  #track(link: WebSocketLink): WebSocketLink {
    this.#links.add(link);
    link.onClose(() => this.#links.delete(link));
    return link;
  }
}

/** Creates the WebSocket tier. */
export function websocketTransport(init?: WebSocketTransportInit): WebSocketTransport {
  return new WebSocketTransport(init);
}

function clientWire(socket: WebSocket): Wire {
  return {
    write(frame) {
      socket.send(frame); // copies into the socket's buffer
      return socket.bufferedAmount;
    },
    end: (code, reason) => socket.close(code, closeReason(reason)),
  };
}

function serverWire(ws: LinkSocket): Wire {
  return {
    write(frame) {
      const { data } = ws;
      if (data.queue.length === 0 && ws.getBufferedAmount() < HIGH_WATER) ws.sendBinary(frame);
      else {
        data.queue.push(frame.slice());
        data.queued += frame.byteLength;
      }
      return ws.getBufferedAmount() + data.queued;
    },
    end: (code, reason) => ws.close(code, closeReason(reason)),
  };
}

/** Moves queued frames into Bun's send buffer as it drains. */
function flush(ws: LinkSocket): void {
  const { data } = ws;
  while (data.queue.length > 0 && ws.getBufferedAmount() < HIGH_WATER) {
    const frame = data.queue.shift()!;
    data.queued -= frame.byteLength;
    ws.sendBinary(frame);
  }
}

/** A close reason fits in 123 bytes of UTF-8 (RFC 6455). */
function closeReason(reason: string): string {
  let out = reason;
  while (Buffer.byteLength(out) > 123) out = out.slice(0, -1);
  return out;
}

function jsonError(status: number, error: string): Response {
  return Response.json({ error }, { status });
}
