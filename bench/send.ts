// POST /send throughput of a real instance against bare Bun.serve + bun:sqlite, measured in the same run.
// Usage: bun run bench/send.ts [seconds=5] [concurrency=32]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadPost, type LoadResult } from "./load.ts";
import { LOOPBACK, spawnServer } from "./spawn.ts";

const seconds = Number(process.argv[2] ?? 5);
const concurrency = Number(process.argv[3] ?? 32);
const dir = mkdtempSync(join(tmpdir(), "e-goat-bench-"));

function row(name: string, r: LoadResult): string {
  return `${name.padEnd(28)} ${r.perSecond.toFixed(0).padStart(8)} req/s   p50 ${r.p50.toFixed(2).padStart(6)} ms   p99 ${r.p99.toFixed(2).padStart(6)} ms   ${r.requests} requests, ${r.errors} errors`;
}

const body = (i: number) => ({ room: "bench", peer_id: "bench", text: `message number ${i} with a little text in it` });

console.log(`/send load: ${concurrency} concurrent clients for ${seconds} s each, on loopback\n`);
try {
  const baseline = await spawnServer([process.execPath, "run", "bench/baseline-server.ts", join(dir, "baseline.db")]);
  await loadPost(`${baseline.url}/`, body, concurrency, 1); // warm-up
  const base = await loadPost(`${baseline.url}/`, body, concurrency, seconds);
  await baseline.stop();

  const egoat = await spawnServer([process.execPath, "run", "src/main.ts", ...LOOPBACK, "--transports", "websocket", "--db", join(dir, "chat.db")]);
  await loadPost(`${egoat.url}/send`, body, concurrency, 1);
  const ours = await loadPost(`${egoat.url}/send`, body, concurrency, seconds);
  await egoat.stop();

  console.log(row("bare Bun.serve + bun:sqlite", base));
  console.log(row("e-goat POST /send", ours));
  console.log(`\nratio e-goat / baseline: ${(ours.perSecond / base.perSecond).toFixed(2)} (throughput), ${(ours.p50 / base.p50).toFixed(2)} (p50 latency)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
