/**
 * WebSocket upgrades made by hand on a plain TCP socket, for tests of what a server holds for clients that never read:
 * the socket can come from any loopback address (`localAddress`, so tests have several sources) and be paused once
 * upgraded, so the server's sends pile up.
 */
import { connect, type Socket } from "node:net";

export interface RawUpgrade {
  /** The status code the server answered the upgrade with. */
  status: number;
  socket: Socket;
  /** Whether the server closed the connection (seen only while the socket reads). */
  closed: () => boolean;
  end: () => void;
}

/** The bytes of a WebSocket upgrade request for `url`, with `headers` besides the upgrade's own. */
export function upgradeRequest(url: string, headers: Record<string, string> = {}, key = "dGhlIHNhbXBsZSBub25jZQ=="): string {
  const { hostname, port, pathname, search } = new URL(url);
  return [
    `GET ${pathname}${search} HTTP/1.1`,
    `Host: ${hostname}:${port}`,
    "Upgrade: websocket",
    "Connection: Upgrade",
    `Sec-WebSocket-Key: ${key}`,
    "Sec-WebSocket-Version: 13",
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
    "",
    "",
  ].join("\r\n");
}

/** Sends a WebSocket upgrade for `url` from `localAddress`; resolves with the answer's status (101 when upgraded). */
export function rawUpgrade(url: string, { localAddress = "127.0.0.1", headers = {} }: { localAddress?: string; headers?: Record<string, string> } = {}): Promise<RawUpgrade> {
  const { hostname, port } = new URL(url);
  const request = upgradeRequest(url, headers);
  return new Promise((resolve, reject) => {
    let text = "";
    let closed = false;
    const socket = connect({ host: hostname, port: Number(port), localAddress }, () => socket.write(request));
    const onData = (data: Buffer) => {
      text += data.toString("latin1");
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (!m || !text.includes("\r\n\r\n")) return;
      socket.off("data", onData);
      resolve({ status: Number(m[1]), socket, closed: () => closed, end: () => socket.destroy() });
    };
    socket.on("data", onData);
    socket.on("close", () => {
      closed = true;
      reject(new Error(`closed before an answer: ${text}`));
    });
    socket.on("error", () => {});
  });
}

/** Upgrades, then stops reading for good: whatever the server sends stays with it (and the kernel's buffers). */
export async function pausedMember(url: string, localAddress?: string): Promise<RawUpgrade> {
  const up = await rawUpgrade(url, { localAddress });
  up.socket.pause();
  return up;
}

/** The resident memory of a process, in bytes (Linux). */
export async function rssOf(pid: number): Promise<number> {
  const status = await Bun.file(`/proc/${pid}/status`).text();
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)![1]) * 1024;
}

/** One binary WebSocket message as a client puts it on the wire (masked, with a zero mask: the payload as is). */
export function clientBinaryMessage(payload: Uint8Array): Buffer {
  const n = payload.byteLength;
  const head = n < 126 ? Buffer.from([0x82, 0x80 | n]) : n < 65536 ? Buffer.from([0x82, 0x80 | 126, n >> 8, n & 255]) : Buffer.alloc(10);
  if (n >= 65536) {
    head[0] = 0x82;
    head[1] = 0x80 | 127;
    head.writeBigUInt64BE(BigInt(n), 2);
  }
  return Buffer.concat([head, Buffer.alloc(4), payload]);
}
