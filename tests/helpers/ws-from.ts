/**
 * The websocket tier's dial, from a chosen loopback address: a WebSocket client written on a plain TCP socket (Bun's
 * own cannot choose its source address), carrying the tier's own link (WebSocketLink), so a test can be several
 * sources on one machine (127.0.0.2, 127.0.0.3, ...), as the per-source limits count them.
 */
import { randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";
import { DialRefusedError } from "../../src/transport/errors.ts";
import type { Link, PeerAddress, Transport } from "../../src/transport/link.ts";
import { WebSocketLink } from "../../src/transport/websocket/link.ts";
import { upgradeRequest } from "./raw-upgrade.ts";

const CONTINUATION = 0x0;
const BINARY = 0x2;
const CLOSE = 0x8;
const PING = 0x9;
const PONG = 0xa;

/** One client frame (RFC 6455): FIN, the opcode, a mask (clients always mask) and the payload. */
function clientFrame(opcode: number, payload: Uint8Array): Buffer {
  const length = payload.byteLength;
  const size = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const head = Buffer.alloc(size);
  head[0] = 0x80 | opcode;
  if (length < 126) head[1] = 0x80 | length;
  else if (length < 65536) {
    head[1] = 0x80 | 126;
    head.writeUInt16BE(length, 2);
  } else {
    head[1] = 0x80 | 127;
    head.writeBigUInt64BE(BigInt(length), 2);
  }
  const mask = randomBytes(4);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i]! ^= mask[i & 3]!;
  return Buffer.concat([head, mask, body]);
}

/** Reads server frames off the socket: whole messages go to `message`, a close to `closed`; pings are answered. */
class FrameReader {
  #chunks: Buffer[] = [];
  #held = 0;
  #message: Buffer[] = [];

  constructor(
    private readonly socket: Socket,
    private readonly message: (data: Uint8Array) => void,
    private readonly closed: (code: number, reason: string) => void,
  ) {}

  read(data: Buffer): void {
    this.#chunks.push(data);
    this.#held += data.length;
    for (;;) {
      if (this.#held < 2) return;
      const head = this.#peek(Math.min(this.#held, 10));
      let length = head[1]! & 0x7f;
      let at = 2;
      if (length === 126) {
        if (head.length < 4) return;
        length = head.readUInt16BE(2);
        at = 4;
      } else if (length === 127) {
        if (head.length < 10) return;
        length = Number(head.readBigUInt64BE(2));
        at = 10;
      }
      if (this.#held < at + length) return;
      const whole = this.#take(at + length);
      const fin = (whole[0]! & 0x80) !== 0;
      const opcode = whole[0]! & 0x0f;
      const payload = whole.subarray(at);
      if (opcode === CLOSE) {
        this.socket.destroy();
        return this.closed(payload.length >= 2 ? payload.readUInt16BE(0) : 1005, payload.subarray(2).toString());
      }
      if (opcode === PING) this.socket.write(clientFrame(PONG, payload));
      if (opcode !== BINARY && opcode !== CONTINUATION) continue;
      this.#message.push(payload);
      if (!fin) continue;
      const message = this.#message.length === 1 ? this.#message[0]! : Buffer.concat(this.#message);
      this.#message = [];
      this.message(new Uint8Array(message));
    }
  }

  /** The first `n` bytes held, without taking them. */
  #peek(n: number): Buffer {
    if (this.#chunks[0]!.length >= n) return this.#chunks[0]!;
    return Buffer.concat(this.#chunks).subarray(0, n);
  }

  /** Takes the first `n` bytes held. */
  #take(n: number): Buffer {
    const all = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
    const rest = all.subarray(n);
    this.#chunks = rest.length > 0 ? [rest] : [];
    this.#held = rest.length;
    return all.subarray(0, n);
  }
}

/** Opens a WebSocket to `url` from `localAddress`; rejects unless the server upgrades it. */
export function dialFrom(url: string, localAddress: string, signal?: AbortSignal): Promise<Link> {
  const { hostname, port } = new URL(url);
  const request = upgradeRequest(url, {}, randomBytes(16).toString("base64"));
  return new Promise((resolve, reject) => {
    let head = Buffer.alloc(0);
    const socket = connect({ host: hostname, port: Number(port), localAddress }, () => socket.write(request));
    const fail = (why: string) => {
      socket.destroy();
      reject(new DialRefusedError(`cannot dial ${url} from ${localAddress}: ${why}`));
    };
    signal?.addEventListener("abort", () => fail("aborted"), { once: true });
    const onData = (data: Buffer) => {
      head = Buffer.concat([head, data]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      socket.off("data", onData);
      socket.off("close", onClose);
      const status = /^HTTP\/1\.1 (\d{3})/.exec(head.toString("latin1"))?.[1];
      if (status !== "101") return fail(`answered ${status}`);
      const link = new WebSocketLink(url, {
        waiting: () => socket.writableLength,
        write: (message) => void socket.write(clientFrame(BINARY, message)),
        end: (code, reason) => {
          const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
          payload.writeUInt16BE(code, 0);
          payload.write(reason, 2);
          socket.end(clientFrame(CLOSE, payload));
        },
      });
      link.remoteIp = hostname;
      const reader = new FrameReader(socket, (message) => link.receive(message), (code, reason) => link.socketClosed(code, reason));
      socket.on("data", (data: Buffer) => reader.read(data));
      socket.on("close", () => link.socketClosed(1006, "connection lost"));
      const early = head.subarray(end + 4);
      if (early.length > 0) reader.read(early);
      resolve(link);
    };
    const onClose = () => fail("closed before an answer");
    socket.on("data", onData);
    socket.on("close", onClose);
    socket.on("error", () => {});
  });
}

/** The websocket tier as seen from `localAddress`: dials only (an attacker's or a peer's side of a link). */
export function websocketFrom(localAddress: string): Transport {
  return {
    tier: "websocket",
    canDial: (address: PeerAddress) => address.ws !== undefined,
    dial: (address: PeerAddress, signal?: AbortSignal) => dialFrom(`${address.ws!.replace(/\/+$/, "")}/link`, localAddress, signal),
    listen: async () => {},
    close: async () => {},
  };
}
