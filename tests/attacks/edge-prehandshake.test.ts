/**
 * Issue 22, high: what an outsider could make the instance buffer before any handshake. A tier took whole frames of
 * up to 16 MiB before anything checked them, so a few dozen connections that never handshake added up to hundreds of
 * MiB (32 such frames: 770 MiB). Now a far end that has not finished the secure handshake may send only a small frame
 * (64 KiB), checked as the bytes come: the WebSocket server takes no message over 128 KiB, a frame's pieces are counted
 * as they arrive, and the HTTP tier refuses a send body past the limit before reading it. Memory is the instance's own
 * RSS, its peak while 32 connections from two addresses each send 16 MiB.
 */
import { describe, expect, it } from "bun:test";
import { request } from "node:http";
import { startInstance, type Instance } from "../helpers/instance.ts";
import { clientBinaryMessage, rawUpgrade, rssOf } from "../helpers/raw-upgrade.ts";

const MiB = 1024 * 1024;
const FRAME = new Uint8Array(16 * MiB - 16).fill(7);
const SOURCES = ["127.0.0.2", "127.0.0.3"];

/** Samples the instance's RSS every 50 ms while `attack` runs; resolves with its growth at the peak. */
async function peakGrowth(a: Instance, attack: () => Promise<unknown>): Promise<number> {
  const before = await rssOf(a.proc.pid);
  let peak = before;
  let running = true;
  const sampling = (async () => {
    while (running) {
      peak = Math.max(peak, await rssOf(a.proc.pid));
      await Bun.sleep(50);
    }
  })();
  await attack();
  await Bun.sleep(1000);
  running = false;
  await sampling;
  return peak - before;
}

/** POST a body of `bytes` to `path` from `localAddress`; resolves with the status (0: the connection was cut). */
function post(http: string, path: string, body: Uint8Array, localAddress: string): Promise<number> {
  const { hostname, port } = new URL(http);
  return new Promise((resolve) => {
    const req = request({ host: hostname, port, path, method: "POST", localAddress, agent: false, headers: { "content-type": "application/octet-stream", "content-length": body.byteLength } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", () => resolve(0));
    req.end(body);
  });
}

describe("before the handshake, an outsider makes the instance hold little", () => {
  it("32 /link connections each sending a 16 MiB frame", async () => {
    await using a = await startInstance({ args: ["--transports", "websocket"] });
    const growth = await peakGrowth(a, async () => {
      const sockets = await Promise.all(Array.from({ length: 32 }, (_, i) => rawUpgrade(`${a.ws}/link`, { localAddress: SOURCES[i % 2] })));
      expect(sockets.every((s) => s.status === 101)).toBe(true);
      const message = clientBinaryMessage(FRAME);
      await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.socket.write(message, () => resolve()))));
      for (const s of sockets) s.end();
    });
    console.log(`/link: 32 pre-handshake frames of 16 MiB grew the instance by ${(growth / MiB).toFixed(0)} MiB`);
    expect(growth).toBeLessThan(96 * MiB);
    expect((await fetch(`${a.http}/healthz`)).status).toBe(200);
  }, 60_000);

  it("32 HTTP-tier sessions each sending a 16 MiB body", async () => {
    await using a = await startInstance({ args: ["--transports", "http"] });
    const sessions = await Promise.all(
      Array.from({ length: 32 }, async (_, i) => {
        const res = await fetch(`${a.http}/mesh/http/open`, { method: "POST" });
        return { id: ((await res.json()) as { session: string }).session, from: SOURCES[i % 2]! };
      }),
    );
    const body = new Uint8Array(4 + FRAME.byteLength);
    new DataView(body.buffer).setUint32(0, FRAME.byteLength);
    body.set(FRAME, 4);
    let statuses: number[] = [];
    const growth = await peakGrowth(a, async () => {
      statuses = await Promise.all(sessions.map((s) => post(a.http, `/mesh/http/${s.id}/send?seq=1`, body, s.from)));
    });
    console.log(`HTTP tier: 32 pre-handshake bodies of 16 MiB grew the instance by ${(growth / MiB).toFixed(0)} MiB; answers ${JSON.stringify([...new Set(statuses)])}`);
    expect(growth).toBeLessThan(96 * MiB);
    // Refused before the body is read (413), or the session was already gone (404: the handshake budget closed it).
    expect(statuses.every((s) => s === 413 || s === 404 || s === 0)).toBe(true);
  }, 60_000);
});
