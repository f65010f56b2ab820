// Per tier: time from POST /send at A to the message in B's SSE stream, and messages per second A -> B, between two
// real instances on loopback; beside them raw node-datachannel and raw Bun WebSocket round trips from the same run.
// With --baseline REF, the same for the code at git REF (checked out into a temporary worktree), tier by tier.
// Usage: bun run bench/mesh.ts [messages=300] [burst=3000] [--baseline REF]
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startCoturn, TURNSERVER } from "../tests/helpers/coturn.ts";
import { freeUdpPort } from "../tests/helpers/ports.ts";
import { rawDataChannelTo, rawWebSocketTo } from "./raw-link.ts";
import { LOOPBACK, ROOT, spawnServer } from "./spawn.ts";

const args = process.argv.slice(2);
const baselineAt = args.indexOf("--baseline");
const baselineRef = baselineAt >= 0 ? args.splice(baselineAt, 2)[1] : undefined;
if (baselineAt >= 0 && !baselineRef) throw new Error("--baseline needs a git ref");
const sequential = Number(args[0] ?? 300);
const burst = Number(args[1] ?? 3000);
const dir = mkdtempSync(join(tmpdir(), "e-goat-bench-mesh-"));

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

/** Round trips of 64-byte messages over an already open channel: p50 in ms. */
async function roundTrips(send: (data: Uint8Array) => void, onMessage: (handler: () => void) => void, n = 1000): Promise<number> {
  const times: number[] = [];
  let resolve = () => {};
  onMessage(() => resolve());
  const payload = new Uint8Array(64);
  for (let i = 0; i < n + 100; i++) {
    const t = performance.now();
    const done = new Promise<void>((r) => (resolve = r));
    send(payload);
    await done;
    if (i >= 100) times.push(performance.now() - t);
  }
  return pct(times.sort((a, b) => a - b), 50);
}

async function rawWebSocket(): Promise<number> {
  const { ws, close } = await rawWebSocketTo("ws");
  const p50 = await roundTrips((d) => ws.send(d), (h) => (ws.onmessage = h));
  await close();
  return p50;
}

async function rawDataChannel(): Promise<number> {
  const { channel, close } = await rawDataChannelTo("dc");
  const p50 = await roundTrips((d) => channel.sendMessageBinary(Buffer.from(d)), (h) => channel.onMessage(h));
  await close();
  return p50;
}

/** Follows B's SSE stream of the room and records when each message text first arrives. */
function follow(url: string, room: string) {
  const arrived = new Map<string, number>();
  const waiters = new Map<string, () => void>();
  const ac = new AbortController();
  (async () => {
    const res = await fetch(`${url}/rooms/${room}/events`, { signal: ac.signal });
    const decoder = new TextDecoder();
    let buffer = "";
    for await (const chunk of res.body!) {
      buffer += decoder.decode(chunk, { stream: true });
      for (const m of buffer.matchAll(/<p class="text">([^<]*)<\/p>/g)) {
        if (arrived.has(m[1]!)) continue;
        arrived.set(m[1]!, performance.now());
        waiters.get(m[1]!)?.();
      }
      buffer = buffer.slice(buffer.lastIndexOf("\n\n") + 1);
    }
  })().catch(() => {});
  return {
    arrived,
    until: (text: string) => (arrived.has(text) ? Promise.resolve() : new Promise<void>((r) => waiters.set(text, r))),
    close: () => ac.abort(),
  };
}

async function post(url: string, room: string, text: string) {
  const res = await fetch(`${url}/send`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ room, text }) });
  if (res.status !== 200) throw new Error(`/send answered ${res.status}`);
  await res.arrayBuffer();
}

/** Measures one tier between two instances of the code in `root` (this repository, or a baseline's worktree). */
async function measureTier(tier: string, extra: string[] = [], root = ROOT) {
  const lan = tier === "lan" ? ["--lan-port", String(await freeUdpPort())] : [];
  const base = [process.execPath, "run", "src/main.ts", ...LOOPBACK, "--transports", tier, "--room", "bench", ...lan, ...extra];
  const tag = root === ROOT ? "now" : "base";
  const a = await spawnServer([...base, "--db", join(dir, `${tier}-${tag}-a.db`)], root);
  const b = await spawnServer([...base, "--db", join(dir, `${tier}-${tag}-b.db`), ...(tier === "lan" ? [] : ["--peer", a.url])], root);
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const peers = (await (await fetch(`${b.url}/peers`)).json()) as { tier: string | null; rooms: string[] }[];
      if (peers.some((p) => p.tier === tier && p.rooms.includes("bench"))) break;
      if (Date.now() > deadline) throw new Error(`no ${tier} link within 30 s`);
      await Bun.sleep(50);
    }
    const stream = follow(b.url, "bench");
    await post(a.url, "bench", "warm-up");
    await stream.until("warm-up");
    const latencies: number[] = [];
    for (let i = 0; i < sequential; i++) {
      const t = performance.now();
      await post(a.url, "bench", `seq-${i}`);
      await stream.until(`seq-${i}`);
      latencies.push(stream.arrived.get(`seq-${i}`)! - t);
    }
    latencies.sort((x, y) => x - y);
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < burst) await post(a.url, "bench", `burst-${next++}`);
      }),
    );
    await stream.until(`burst-${burst - 1}`);
    for (let i = 0; i < burst; i++) await stream.until(`burst-${i}`);
    const rate = burst / ((performance.now() - started) / 1000);
    stream.close();
    return { p50: pct(latencies, 50), p99: pct(latencies, 99), rate };
  } finally {
    await a.stop();
    await b.stop();
  }
}

/** The code at `ref` in a temporary git worktree, with this repository's node_modules; removed by `remove`. */
function worktree(ref: string): { root: string; remove: () => void } {
  const root = join(dir, "baseline");
  const add = Bun.spawnSync(["git", "worktree", "add", "--detach", root, ref], { cwd: ROOT, stderr: "pipe" });
  if (add.exitCode !== 0) throw new Error(`git worktree add ${ref}: ${add.stderr.toString().trim()}`);
  symlinkSync(join(ROOT, "node_modules"), join(root, "node_modules"));
  return { root, remove: () => void Bun.spawnSync(["git", "worktree", "remove", "--force", root], { cwd: ROOT }) };
}

const baseline = baselineRef ? worktree(baselineRef) : null;
try {
  const rawDc = await rawDataChannel();
  const rawWs = await rawWebSocket();
  console.log(`raw round trips between two processes on loopback (64 B, p50): node-datachannel ${rawDc.toFixed(3)} ms, Bun WebSocket ${rawWs.toFixed(3)} ms\n`);
  console.log(`${sequential} sequential messages (POST /send at A -> B's SSE stream), then ${burst} sent by 16 clients at once\n`);
  if (baseline) console.log(`each tier twice: the code at ${baselineRef} (base), then this checkout (now)\n`);
  console.log(`tier        p50 ms   p99 ms   msg/s    p50 / raw round trip${baseline ? "   base p50   base p99   base msg/s   p50 now/base" : ""}`);
  const tiers: [string, string[]][] = [["webrtc", []], ["websocket", []], ["http", []], ["lan", []]];
  await using coturn = TURNSERVER ? await startCoturn() : null;
  if (coturn) {
    const { username, password, host, port } = coturn.server;
    tiers.splice(1, 0, ["turn", ["--turn", `turn:${username}:${password}@${host}:${port}`]]);
  }
  for (const [tier, extra] of tiers) {
    const base = baseline ? await measureTier(tier, extra, baseline.root) : null;
    const r = await measureTier(tier, extra);
    const raw = tier === "webrtc" || tier === "turn" ? rawDc : rawWs;
    const versus = base
      ? `   ${base.p50.toFixed(2).padStart(8)} ${base.p99.toFixed(2).padStart(10)} ${base.rate.toFixed(0).padStart(12)}   ${(r.p50 / base.p50).toFixed(2).padStart(10)}x`
      : "";
    console.log(`${tier.padEnd(10)} ${r.p50.toFixed(2).padStart(7)} ${r.p99.toFixed(2).padStart(8)} ${r.rate.toFixed(0).padStart(7)}    ${(r.p50 / raw).toFixed(1)}x ${(tier === "webrtc" || tier === "turn" ? "datachannel" : "websocket").padEnd(11)}${versus}`);
  }
  if (!coturn) console.log("turn       skipped: coturn is not installed");
} finally {
  baseline?.remove();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
