import type { ServerWebSocket } from "bun";
import { BaseLink } from "../base-link.ts";
import { wholeFrame, type FrameData } from "../link.ts";
import { MAX_FRAME_BYTES } from "../limits.ts";
import type { Routed } from "./routed-server.ts";

/** WebSocket close codes (RFC 6455) the tier uses. */
export const NORMAL = 1000;
const UNSUPPORTED_DATA = 1003;
const TOO_BIG = 1009;
// Keep Bun's own send buffer under its backpressureLimit (16 MiB by default), past which it drops messages silently.
const HIGH_WATER = 8 * 1024 * 1024;

/** What a link needs from its socket, client or server side. */
interface Wire {
  /** Bytes waiting here for the far end to take them. */
  waiting(): number;
  /** Sends (copying) or queues one frame. */
  write(frame: Uint8Array): void;
  end(code: number, reason: string): void;
}

/** Socket data of an accepted `/link` WebSocket. */
export interface LinkSocketData extends Routed {
  link?: WebSocketLink;
  /** Frames waiting for Bun's send buffer to drain, and their total size. */
  queue: Uint8Array[];
  queued: number;
  /** Gives the connection's slot back (transport.ts). */
  release: () => void;
}

export type LinkSocket = ServerWebSocket<LinkSocketData>;

/** A link over one WebSocket, either end: one binary message per frame. */
export class WebSocketLink extends BaseLink {
  readonly tier = "websocket";
  remoteIp?: string;

  constructor(
    readonly remote: string,
    private readonly wire: Wire,
    maxQueuedBytes?: number,
  ) {
    super(maxQueuedBytes);
  }

  get bufferedBytes(): number {
    return this.closed ? 0 : this.wire.waiting();
  }

  send(frame: FrameData): void {
    this.checkSend(frame);
    const bytes = wholeFrame(frame);
    this.checkQueue(this.wire.waiting() + bytes.byteLength);
    this.wire.write(bytes);
  }

  close(reason = "closed"): void {
    this.#fail(NORMAL, reason);
  }

  /** A message arrived from the far end. */
  receive(data: string | ArrayBuffer | Uint8Array): void {
    if (this.closed) return;
    if (typeof data === "string") return this.#fail(UNSUPPORTED_DATA, "text messages are not frames");
    if (data.byteLength > MAX_FRAME_BYTES) return this.#fail(TOO_BIG, `frame of ${data.byteLength} bytes is over the ${MAX_FRAME_BYTES}-byte limit`);
    this.deliver(data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }

  /** The socket closed under the link: the far end closed it, or the connection failed. */
  socketClosed(code: number, reason: string): void {
    if (code === NORMAL) this.ended(`closed by peer: ${reason || "no reason given"}`);
    else this.ended(`connection lost (code ${code}${reason ? `: ${reason}` : ""})`);
  }

  /** Closes this end with a close code the far end sees. */
  #fail(code: number, reason: string): void {
    if (this.ended(reason)) this.wire.end(code, reason);
  }
}

/** The dialer's side: a client WebSocket, whose own buffer holds what the far end has not taken. */
export function clientWire(socket: WebSocket): Wire {
  return {
    waiting: () => socket.bufferedAmount,
    write: (frame) => socket.send(frame), // copies into the socket's buffer
    end: (code, reason) => socket.close(code, fitCloseReason(reason)),
  };
}

/** The listener's side: Bun's send buffer up to HIGH_WATER, then a queue that `flush` empties as it drains. */
export function serverWire(ws: LinkSocket): Wire {
  return {
    waiting: () => ws.getBufferedAmount() + ws.data.queued,
    write(frame) {
      const { data } = ws;
      if (data.queue.length === 0 && ws.getBufferedAmount() < HIGH_WATER) ws.sendBinary(frame);
      else {
        data.queue.push(frame.slice());
        data.queued += frame.byteLength;
      }
    },
    end: (code, reason) => ws.close(code, fitCloseReason(reason)),
  };
}

/** Moves queued frames into Bun's send buffer as it drains. */
export function flush(ws: LinkSocket): void {
  const { data } = ws;
  while (data.queue.length > 0 && ws.getBufferedAmount() < HIGH_WATER) {
    const frame = data.queue.shift()!;
    data.queued -= frame.byteLength;
    ws.sendBinary(frame);
  }
}

/** A close reason fits in 123 bytes of UTF-8 (RFC 6455). */
function fitCloseReason(reason: string): string {
  let out = reason;
  while (Buffer.byteLength(out) > 123) out = out.slice(0, -1);
  return out;
}
