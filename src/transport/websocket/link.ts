import type { ServerWebSocket } from "bun";
import { BaseLink } from "../base-link.ts";
import { frameSize, type FrameData } from "../link.ts";
import type { Routed } from "./routed-server.ts";

/** WebSocket close codes (RFC 6455) the tier uses. */
export const NORMAL = 1000;
const UNSUPPORTED_DATA = 1003;
const TOO_BIG = 1009;
// Keep Bun's own send buffer under its backpressureLimit (16 MiB by default), past which it drops messages silently.
const HIGH_WATER = 8 * 1024 * 1024;

/**
 * On the wire a frame goes as one or more binary messages of at most PIECE_BYTES each, every one led by a byte that
 * says whether the frame ends with it. The server then takes no message over a piece (routed-server.ts), so what a far
 * end can make this process buffer is bounded by what the link allows, checked piece by piece: before the secure
 * handshake only a small frame (BaseLink.incomingFrameLimit), where Bun alone would have held 16 MiB per connection.
 */
export const PIECE_BYTES = 64 * 1024;
const MORE = 0;
const LAST = 1;
/** The largest message a link sends: a piece and its lead byte. */
export const MAX_MESSAGE_BYTES = PIECE_BYTES + 1;

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

  /** Pieces of the frame arriving now, and their size. */
  #pieces: Uint8Array[] = [];
  #assembled = 0;

  constructor(
    readonly remote: string,
    private readonly wire: Wire,
    maxQueuedBytes?: number,
    preHandshakeFrameBytes?: number,
  ) {
    super(maxQueuedBytes, preHandshakeFrameBytes);
  }

  get bufferedBytes(): number {
    return this.closed ? 0 : this.wire.waiting();
  }

  send(frame: FrameData): void {
    this.checkSend(frame);
    const size = frameSize(frame);
    this.checkQueue(this.wire.waiting() + size + Math.ceil(size / PIECE_BYTES));
    for (const message of pieces(frame, size)) this.wire.write(message);
  }

  close(reason = "closed"): void {
    this.#fail(NORMAL, reason);
  }

  /** A message arrived from the far end: a piece of a frame, delivered once the frame is whole. */
  receive(data: string | ArrayBuffer | Uint8Array): void {
    if (this.closed) return;
    if (typeof data === "string") return this.#fail(UNSUPPORTED_DATA, "text messages are not frames");
    const message = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const lead = message[0];
    if (message.byteLength > MAX_MESSAGE_BYTES || (lead !== MORE && lead !== LAST)) {
      return this.#fail(UNSUPPORTED_DATA, `a message of ${message.byteLength} bytes led by ${lead ?? "nothing"} is no piece of a frame`);
    }
    const limit = this.incomingFrameLimit;
    if (this.#assembled + message.byteLength - 1 > limit) return this.#fail(TOO_BIG, `a frame over the ${limit}-byte limit arrived`);
    this.#pieces.push(message.subarray(1));
    this.#assembled += message.byteLength - 1;
    if (lead === MORE) return;
    const frame = this.#pieces.length === 1 ? this.#pieces[0]! : Buffer.concat(this.#pieces, this.#assembled);
    this.#pieces = [];
    this.#assembled = 0;
    this.deliver(frame);
  }

  protected override release(): void {
    this.#pieces = [];
    this.#assembled = 0;
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

/** A frame as the messages that carry it: pieces of up to PIECE_BYTES, each led by MORE or LAST (an empty frame: LAST alone). */
function* pieces(frame: FrameData, size: number): Generator<Uint8Array> {
  const parts = frame instanceof Uint8Array ? [frame] : frame;
  let part = 0;
  let at = 0;
  let left = size;
  do {
    const length = Math.min(PIECE_BYTES, left);
    const message = new Uint8Array(1 + length);
    left -= length;
    message[0] = left > 0 ? MORE : LAST;
    for (let filled = 0; filled < length; ) {
      const from = parts[part]!;
      const take = Math.min(length - filled, from.byteLength - at);
      message.set(from.subarray(at, at + take), 1 + filled);
      filled += take;
      at += take;
      if (at === from.byteLength) {
        part++;
        at = 0;
      }
    }
    yield message;
  } while (left > 0);
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
        data.queue.push(frame);
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
