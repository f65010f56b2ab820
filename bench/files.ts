// File transfer between two real instances on loopback, per tier (webrtc, websocket, http by default): a random file of
// SIZE MiB is uploaded to A (multipart POST /files, timed), then timed until B's /history shows all of it (have = size),
// while a chat message is sent at A every 50 ms and timed until B's long-polled /history shows it, and both instances'
// peak RSS and the CPU time each used during the transfer are sampled; then the file is downloaded from B (GET /files/<id>, timed) and its SHA-256 checked against the
// source. Beside them, from the same run, one-way throughput of a bare node-datachannel DataChannel and a bare Bun
// WebSocket to a process of their own (bench/raw-peer.ts), 256 MiB in 256 KiB messages; targets are printed, not enforced.
// Usage: bun run bench/files.ts [SIZE in MiB, default 256] [TIERS, comma-separated, default webrtc,websocket,http]
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fetchEverything, randomFile } from "../tests/helpers/files.ts";
import { rawDataChannelTo, rawWebSocketTo } from "./raw-link.ts";
import { startInstance, type Instance } from "../tests/helpers/instance.ts";

const MiB = 1024 * 1024;
const TIERS = ["webrtc", "websocket", "http"];
// Arguments in any order: a number is the size in MiB, anything else a list of tiers.
const args = process.argv.slice(2);
const sizeArg = args.find((a) => /^[\d.]+$/.test(a));
const sizeMiB = Number(sizeArg ?? 256);
const tiers = args
  .filter((a) => a !== sizeArg)
  .flatMap((a) => a.split(","))
  .filter(Boolean);
if (tiers.length === 0) tiers.push(...TIERS);
if (!(sizeMiB > 0)) throw new Error(`SIZE must be a positive number of MiB, not '${sizeArg}'`);
for (const tier of tiers) if (!TIERS.includes(tier)) throw new Error(`no tier '${tier}' here: one of ${TIERS.join(", ")}`);
const SIZE = Math.round(sizeMiB * MiB);
/** The raw baselines: this many bytes in messages of this size. */
const RAW_BYTES = 256 * MiB;
const RAW_MESSAGE = 256 * 1024;
/** Sender-side buffering allowed before waiting (raw baselines). */
const HIGH_WATER = 4 * MiB;
const LOW_WATER = 1 * MiB;
const PING_EVERY_MS = 50;
/** How long chat is timed before the upload, with nothing else on the link. */
const IDLE_CHAT_MS = 2000;
const RSS_EVERY_MS = 50;
const TRANSFER_TIMEOUT_MS = 180_000;
const ROOM = "bench";

const dir = mkdtempSync(join(tmpdir(), "e-goat-bench-files-"));
const mbps = (bytes: number, ms: number) => bytes / 1e6 / (ms / 1000);
const fixed = (n: number | null, digits = 0) => (n === null ? "-" : n.toFixed(digits));
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

/** `promise`, or a rejection once `ms` have passed, so a stuck step fails instead of hanging the bench. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: Timer | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms / 1000} s`)), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** One-way MB/s of RAW_BYTES over a bare DataChannel to a node-datachannel peer in another process, and the CPU it took. */
async function rawDataChannel(): Promise<{ mbps: number; cpu: string }> {
  const { channel, close, pid } = await rawDataChannelTo("dc-sink", [String(RAW_BYTES)]);
  try {
    if (channel.maxMessageSize() < RAW_MESSAGE) throw new Error(`the DataChannel takes messages of at most ${channel.maxMessageSize()} bytes`);
    const done = Promise.withResolvers<void>();
    channel.onMessage((m) => (Number(m) >= RAW_BYTES ? done.resolve() : done.reject(new Error(`the sink counted ${m}`))));
    channel.setBufferedAmountLowThreshold(LOW_WATER);
    let wake = () => {};
    channel.onBufferedAmountLow(() => wake());
    const piece = Buffer.alloc(RAW_MESSAGE, 7);
    const started = performance.now();
    const cpuBefore = cpuSeconds([process.pid, pid]);
    for (let sent = 0; sent < RAW_BYTES; sent += RAW_MESSAGE) {
      if (channel.bufferedAmount() > HIGH_WATER) {
        const drained = new Promise<void>((r) => {
          wake = r;
          if (channel.bufferedAmount() <= LOW_WATER) r();
        });
        await within(drained, 30_000, "raw DataChannel buffer draining");
      }
      channel.sendMessageBinary(piece);
    }
    await within(done.promise, 120_000, "raw DataChannel sink");
    const ms = performance.now() - started;
    return { mbps: mbps(RAW_BYTES, ms), cpu: cpuShares(cpuBefore, cpuSeconds([process.pid, pid]), ms, ["sender", "sink"]) };
  } finally {
    await close();
  }
}

/** One-way MB/s of RAW_BYTES over a bare WebSocket to a Bun.serve sink in another process. */
async function rawWebSocket(): Promise<number> {
  const { ws, close } = await within(rawWebSocketTo("ws-sink", [String(RAW_BYTES)]), 10_000, "raw WebSocket open");
  try {
    const done = Promise.withResolvers<void>();
    ws.onmessage = (e) => (Number(e.data) >= RAW_BYTES ? done.resolve() : done.reject(new Error(`the sink counted ${e.data}`)));
    const piece = new Uint8Array(RAW_MESSAGE).fill(7);
    const started = performance.now();
    for (let sent = 0; sent < RAW_BYTES; sent += RAW_MESSAGE) {
      while (ws.bufferedAmount > HIGH_WATER) await Bun.sleep(1);
      ws.send(piece);
    }
    await within(done.promise, 120_000, "raw WebSocket sink");
    return mbps(RAW_BYTES, performance.now() - started);
  } finally {
    await close();
  }
}

interface FileRow {
  id: string;
  name: string;
  size: number;
  type: string;
  have: number;
}
interface Message {
  text: string;
  timestamp: number;
  sent_at: number;
  files?: FileRow[];
}

async function json<T>(res: Response | Promise<Response>): Promise<T> {
  const r = await res;
  if (!r.ok) throw new Error(`${r.url} answered ${r.status}: ${await r.text()}`);
  return (await r.json()) as T;
}

const history = (at: Instance, query = "") => json<Message[]>(fetch(`${at.http}/history?room=${ROOM}${query}`));

function send(at: Instance, text: string) {
  return json<{ id: string; timestamp: number }>(
    fetch(`${at.http}/send`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ room: ROOM, text }) }),
  );
}

/** Long-polls B's history of the room and records when each message text first shows there, and each message's stamp. */
function follow(at: Instance, since: number) {
  const seen = new Map<string, { at: number; message: Message }>();
  const ac = new AbortController();
  const state = { seen, failure: null as Error | null, stop: () => ac.abort() };
  (async () => {
    while (!ac.signal.aborted) {
      const messages = await json<Message[]>(fetch(`${at.http}/history?room=${ROOM}&since=${since}&wait=5`, { signal: ac.signal }));
      const now = performance.now();
      for (const m of messages) {
        since = Math.max(since, m.timestamp);
        if (!seen.has(m.text)) seen.set(m.text, { at: now, message: m });
      }
    }
  })().catch((error) => {
    if (!ac.signal.aborted) state.failure = new Error(`long-polling B's /history failed: ${(error as Error).message}`);
  });
  return state;
}

/** Samples the peak VmRSS (bytes) of processes every RSS_EVERY_MS until stopped. */
function rssPeaks(pids: number[]) {
  const peaks = pids.map(() => 0);
  const sample = () =>
    pids.forEach((pid, i) => {
      try {
        const kb = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
        peaks[i] = Math.max(peaks[i]!, kb * 1024);
      } catch {} // the process has gone
    });
  sample();
  const timer = setInterval(sample, RSS_EVERY_MS);
  return () => (clearInterval(timer), sample(), peaks);
}

/** CPU seconds (user + system, all threads) each process has used so far; null where /proc cannot tell. */
function cpuSeconds(pids: number[]): (number | null)[] {
  return pids.map((pid) => {
    try {
      // The fields after the command name (which may hold spaces): utime and stime are the 12th and 13th, in ticks of 10 ms.
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ").at(-1)!.split(" ");
      return (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      return null;
    }
  });
}

/** "name 0.52 s (45% of a core), ..." for the CPU seconds each process used between two readings over `ms`. */
function cpuShares(before: (number | null)[], after: (number | null)[], ms: number, names: string[]): string {
  return names
    .map((name, i) => {
      if (before[i] == null || after[i] == null) return `${name} -`;
      const used = after[i]! - before[i]!;
      return `${name} ${used.toFixed(2)} s (${((100 * used) / (ms / 1000)).toFixed(0)}% of a core)`;
    })
    .join(", ");
}

/** Chat latencies: p50 and p99 in ms of those that arrived, how many were sent and how many never arrived. */
interface ChatLatency {
  p50: number | null;
  p99: number | null;
  pings: number;
  lost: number;
  errors: number;
}

/** Sends a chat message at A every PING_EVERY_MS while `during` runs, each timed until B's long poll shows it. */
async function chatLatency(a: Instance, chat: ReturnType<typeof follow>, tag: string, during: () => Promise<unknown>): Promise<ChatLatency> {
  const sent = new Map<string, number>();
  let errors = 0;
  let n = 0;
  const pinger = setInterval(() => {
    const text = `${tag} ${n++}`;
    sent.set(text, performance.now());
    send(a, text).catch(() => errors++);
  }, PING_EVERY_MS);
  try {
    await during();
  } finally {
    clearInterval(pinger);
  }
  // Pings still on their way get a little longer; those that never show are counted as lost.
  for (const until = performance.now() + 3000; performance.now() < until && [...sent.keys()].some((t) => !chat.seen.has(t));) await Bun.sleep(20);
  // Where the time went, by the message's own stamps (one clock): the POST at A, A's stamp to B's, B's to the poll.
  const parts = [...sent].flatMap(([text, t]) => {
    const seen = chat.seen.get(text);
    if (!seen) return [];
    const wall = Date.now() - performance.now();
    return [[seen.message.sent_at - (t + wall), seen.message.timestamp - seen.message.sent_at, seen.at + wall - seen.message.timestamp]];
  });
  const split = (i: number) => {
    const sorted = parts.map((p) => p[i]!).sort((x, y) => x - y);
    return sorted.length ? `${pct(sorted, 50).toFixed(1)}/${pct(sorted, 99).toFixed(1)}` : "-";
  };
  console.log(`  chat ${tag}, p50/p99 ms: taken at A ${split(0)}, A to B ${split(1)}, B to its long poll ${split(2)}`);
  const latencies = [...sent].flatMap(([text, t]) => (chat.seen.has(text) ? [chat.seen.get(text)!.at - t] : [])).sort((x, y) => x - y);
  return {
    p50: latencies.length ? pct(latencies, 50) : null,
    p99: latencies.length ? pct(latencies, 99) : null,
    pings: sent.size,
    lost: sent.size - latencies.length,
    errors,
  };
}

interface TierResult {
  upload: number;
  transfer: number | null;
  download: number | null;
  /** Chat with no file on its way (the baseline), and while the file moves. */
  idle: ChatLatency;
  busy: ChatLatency;
  rssA: number;
  rssB: number;
  note: string;
  hashOk: boolean | null;
}

async function measureTier(tier: string, source: { path: string; sha256: string }): Promise<TierResult> {
  const args = (name: string) => ["--transports", tier, "--room", ROOM, "--name", name, "--max-file-size", String(Math.max(SIZE, 1024 * MiB))];
  const a = await startInstance({ db: join(dir, `${tier}-a.db`), args: args("a") });
  let b: Instance | undefined;
  let stream: ReturnType<typeof follow> | undefined;
  let stopRss: (() => number[]) | undefined;
  try {
    b = await startInstance({ db: join(dir, `${tier}-b.db`), args: [...args("b"), "--peer", a.http] });
    const B = b;
    // B fetches the file by itself, whatever its size (by default only up to 25 MB).
    await fetchEverything(B);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const peers = await json<{ node_id: string; tier: string | null; state: string; rooms: string[] }[]>(fetch(`${B.http}/peers`));
      if (peers.some((p) => p.node_id === a.nodeId && p.state === "connected" && p.tier === tier && p.rooms.includes(ROOM))) break;
      if (Date.now() > deadline) throw new Error(`no connected ${tier} link from B to A within 30 s: ${JSON.stringify(peers)}`);
      await Bun.sleep(50);
    }
    // A message through the link first, so the chat path is warm and B's stamps have a starting point.
    await send(a, "warm-up");
    const start = await (async () => {
      for (const until = Date.now() + 10_000; Date.now() < until; await Bun.sleep(20)) {
        const m = (await history(B)).find((m) => m.text === "warm-up");
        if (m) return m.timestamp;
      }
      throw new Error("the warm-up message never reached B");
    })();
    const chat = (stream = follow(B, start));
    const idle = await chatLatency(a, chat, `${tier} idle`, () => Bun.sleep(IDLE_CHAT_MS));
    stopRss = rssPeaks([a.proc.pid, B.proc.pid]);

    const form = new FormData();
    form.append("room", ROOM); // before the file, as the API needs
    form.append("file", Bun.file(source.path), "bench.bin");
    const uploadStarted = performance.now();
    const posted = await json<{ id: string; files: FileRow[] }>(
      fetch(`${a.http}/files`, { method: "POST", body: form, signal: AbortSignal.timeout(TRANSFER_TIMEOUT_MS) }),
    );
    const uploaded = performance.now();
    const cpuBefore = cpuSeconds([a.proc.pid, B.proc.pid]);
    const file = posted.files[0]!;
    if (file.size !== SIZE) throw new Error(`A stored ${file.size} bytes of ${SIZE}`);

    // Chat during the transfer: a message at A every PING_EVERY_MS, timed until B shows it.
    let transferred: number | null = null;
    let last: FileRow | undefined;
    let rss: number[] = [];
    let cpu = "";
    const busy = await chatLatency(a, chat, `${tier} in transfer`, async () => {
      for (const until = uploaded + TRANSFER_TIMEOUT_MS; performance.now() < until; await Bun.sleep(20)) {
        if (chat.failure) throw chat.failure;
        const stamp = [...chat.seen.values()].find((s) => s.message.files?.some((f) => f.id === file.id))?.message.timestamp;
        if (stamp === undefined) continue; // the message with the file has not reached B yet
        last = (await history(B, `&since=${stamp - 1}&limit=1`))[0]?.files?.find((f) => f.id === file.id);
        if (last && last.have === last.size) {
          transferred = performance.now();
          cpu = cpuShares(cpuBefore, cpuSeconds([a.proc.pid, B.proc.pid]), transferred - uploaded, ["A", "B"]);
          break;
        }
      }
      rss = stopRss!();
      stopRss = undefined;
    });
    chat.stop();
    if (transferred !== null) console.log(`  cpu ${tier} in transfer of ${((transferred - uploaded) / 1000).toFixed(2)} s: ${cpu}`);
    const [rssA, rssB] = rss;
    const result: TierResult = {
      upload: mbps(SIZE, uploaded - uploadStarted),
      transfer: transferred === null ? null : mbps(SIZE, transferred - uploaded),
      download: null,
      idle,
      busy,
      rssA: rssA!,
      rssB: rssB!,
      note: busy.errors + idle.errors ? `${busy.errors + idle.errors} POST /send failed` : "",
      hashOk: null,
    };
    if (transferred === null) {
      result.note = `B had ${last?.have ?? 0} of ${SIZE} bytes after ${TRANSFER_TIMEOUT_MS / 1000} s`;
      return result;
    }

    const downloadStarted = performance.now();
    const res = await fetch(`${B.http}/files/${file.id}`, { signal: AbortSignal.timeout(TRANSFER_TIMEOUT_MS) });
    if (res.status !== 200) throw new Error(`GET /files/${file.id} at B answered ${res.status}: ${await res.text()}`);
    const hash = createHash("sha256");
    let bytes = 0;
    for await (const piece of res.body as unknown as AsyncIterable<Uint8Array>) {
      hash.update(piece);
      bytes += piece.byteLength;
    }
    result.download = mbps(bytes, performance.now() - downloadStarted);
    result.hashOk = bytes === SIZE && hash.digest("hex") === source.sha256;
    if (!result.hashOk) result.note = `DOWNLOAD FROM B DOES NOT MATCH THE SOURCE (${bytes} bytes)`;
    return result;
  } finally {
    stream?.stop();
    stopRss?.();
    await b?.stop();
    await a.stop();
    // Both instances' databases (with the file in each), before the next tier writes its own.
    for (const name of readdirSync(dir)) if (name.startsWith(`${tier}-`)) rmSync(join(dir, name), { recursive: true, force: true });
  }
}

let failed = false;
try {
  console.log(`raw one-way throughput between two processes on loopback: ${RAW_BYTES / MiB} MiB in ${RAW_MESSAGE / 1024} KiB messages`);
  const rawDc = await rawDataChannel();
  const rawWs = await rawWebSocket();
  console.log(`  node-datachannel DataChannel ${rawDc.mbps.toFixed(0)} MB/s, Bun WebSocket ${rawWs.toFixed(0)} MB/s (MB = 10^6 bytes)`);
  console.log(`  cpu DataChannel: ${rawDc.cpu}\n`);

  const source = await randomFile(dir, SIZE, "source.bin");
  console.log(`a ${sizeMiB} MiB random file, uploaded to A, moved to B, downloaded from B; a chat message A -> B every ${PING_EVERY_MS} ms while it moves\n`);
  const header = `tier        upload MB/s   transfer MB/s   vs raw             chat p50/p99 ms: idle   in transfer   lost   peak RSS A/B MB   download MB/s   hash`;
  console.log(header);
  const rows: [string, TierResult][] = [];
  for (const tier of tiers) {
    const raw = tier === "webrtc" ? rawDc.mbps : rawWs;
    let r: TierResult;
    try {
      r = await measureTier(tier, source);
    } catch (error) {
      console.log(`${tier.padEnd(10)} FAILED: ${(error as Error).message}`);
      failed = true;
      continue;
    }
    rows.push([tier, r]);
    const versus = r.transfer === null ? "-" : `${((r.transfer / raw) * 100).toFixed(0)}% of raw ${tier === "webrtc" ? "DC" : "WS"}`;
    console.log(
      `${tier.padEnd(10)} ${fixed(r.upload).padStart(12)} ${fixed(r.transfer).padStart(15)}   ${versus.padEnd(17)} ${`${fixed(r.idle.p50, 1)} / ${fixed(r.idle.p99, 1)}`.padStart(22)} ${`${fixed(r.busy.p50, 1)} / ${fixed(r.busy.p99, 1)}`.padStart(13)} ${`${r.busy.lost}/${r.busy.pings}`.padStart(6)} ${`${(r.rssA / 1e6).toFixed(0)} / ${(r.rssB / 1e6).toFixed(0)}`.padStart(17)} ${fixed(r.download).padStart(15)}   ${r.hashOk === null ? "-" : r.hashOk ? "ok" : "MISMATCH"}${r.note ? `   ${r.note}` : ""}`,
    );
    if (r.hashOk === false) failed = true;
  }

  console.log("\ntargets (printed, not enforced):");
  const mark = (ok: boolean) => (ok ? "met" : "MISSED");
  for (const [tier, r] of rows) {
    if (tier === "webrtc") {
      const need = 0.8 * rawDc.mbps;
      console.log(
        `  webrtc transfer >= 80% of raw DataChannel (${need.toFixed(0)} MB/s): ${fixed(r.transfer)} MB/s, ${mark(r.transfer !== null && r.transfer >= need)}`,
      );
    }
    if (tier === "websocket") console.log(`  websocket transfer >= 300 MB/s: ${fixed(r.transfer)} MB/s, ${mark(r.transfer !== null && r.transfer >= 300)}`);
  }
  for (const [tier, r] of rows) {
    console.log(
      `  ${tier} chat p99 during transfer < 50 ms: ${fixed(r.busy.p99, 1)} ms, ${mark(r.busy.p99 !== null && r.busy.p99 < 50 && r.busy.lost === 0)}${r.busy.lost ? ` (${r.busy.lost} of ${r.busy.pings} never arrived)` : ""}`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
if (failed) {
  console.error("\nFAILED: a tier could not be measured, or what B served did not match the source (see above)");
  process.exit(1);
}
process.exit(0);
