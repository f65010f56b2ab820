/**
 * The websocket tier's dial, from a chosen loopback address: a WebSocket client written on a plain TCP socket, so a
 * test can be several sources on one machine (127.0.0.2, 127.0.0.3, ...), as the per-source limits count them.
 */
import { randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";
import { BaseLink } from "../../src/transport/base-link.ts";
import { DialRefusedError } from "../../src/transport/errors.ts";
import { wholeFrame, type FrameData, type Link, type PeerAddress, type Transport } from "../../src/transport/link.ts";

const BINARY = 0x2;
const CLOSE = 0x8;
const PING = 0x9;
const PONG = 0xa;

/** One client frame: FIN, the opcode, a mask (clients always mask) and the payload. */
function clientFrame(opcode: number, payload: Uint8Array): Buffer {
  const length = payload.byteLength;
  const head = length < 126 ? Buffer.from([0x80 | opcode, 0x80 | length]) : length < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
  if (length >= 126 && length < 65536) {
    head[0] = 0x80 | opcode;
    head[1] = 0x80 | 126;
    head.writeUInt16BE(length, 2);
  } else if (length >= 65536) {
    head[0] = 0x80 | opcode;
    head[1] = 0x80 | 127;
    head.writeBigUInt64BE(BigInt(length), 2);
  }
  const mask = randomBytes(4);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i]! ^= mask[i & 3]!;
  return Buffer.concat([head, mask, body]);
}

class TcpWebSocketLink extends BaseLink {
  readonly tier = "websocket" as const;
  #chunks: Buffer[] = [];
  #held = 0;
  #message: Buffer[] = [];

  constructor(
    readonly remote: string,
    readonly remoteIp: string,
    private readonly socket: Socket,
    early: Buffer,
  ) {
    super();
    socket.on("data", (data: Buffer) => this.#read(data));
    socket.on("close", () => this.ended("socket closed"));
    socket.on("error", () => {});
    if (early.length > 0) this.#read(early);
  }

  get bufferedBytes(): number {
    return this.socket.writableLength;
  }

  send(frame: FrameData): void {
    this.checkSend(frame);
    this.socket.write(clientFrame(BINARY, wholeFrame(frame)));
  }

  close(reason = "closed"): void {
    if (this.closed) return;
    this.socket.end(clientFrame(CLOSE, Buffer.from([0x03, 0xe8])));
    this.ended(reason);
  }

  /** Takes in bytes from the server: whole frames are handled, a partial one waits for the rest (joined once whole). */
  #read(data: Buffer): void {
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
        return void this.ended("closed by the server");
      }
      if (opcode === PING) this.socket.write(clientFrame(PONG, payload));
      if (opcode === BINARY || opcode === 0) {
        this.#message.push(payload);
        if (fin) this.deliver(new Uint8Array(this.#message.length === 1 ? this.#message[0]! : Buffer.concat(this.#message.splice(0))));
        if (fin) this.#message = [];
      }
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
  const { hostname, port, pathname, search } = new URL(url);
  const request = [
    `GET ${pathname}${search} HTTP/1.1`,
    `Host: ${hostname}:${port}`,
    "Upgrade: websocket",
    "Connection: Upgrade",
    `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}`,
    "Sec-WebSocket-Version: 13",
    "",
    "",
  ].join("\r\n");
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
      resolve(new TcpWebSocketLink(url, hostname, socket, head.subarray(end + 4)));
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
