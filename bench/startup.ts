// Time from spawn to the `e-goat ready` line, for `bun run src/main.ts` and (when built) dist/e-goat.
// Usage: bun run bench/startup.ts [runs=7]
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const runs = Number(process.argv[2] ?? 7);
const root = join(import.meta.dir, "..");
const flags = ["--host", "127.0.0.1", "--http-port", "0", "--ws-port", "0", "--stun", "none", "--lan-addr", "127.255.255.255"];

async function timeToReady(cmd: string[]): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "e-goat-startup-"));
  const started = performance.now();
  const proc = Bun.spawn([...cmd, ...flags, "--db", join(dir, "chat.db")], { cwd: dir, stdout: "pipe", stderr: "ignore", stdin: "ignore" });
  let out = "";
  try {
    for await (const chunk of proc.stdout) {
      out += new TextDecoder().decode(chunk);
      if (out.includes("e-goat ready ")) return performance.now() - started;
    }
    throw new Error(`exited before ready: ${out}`);
  } finally {
    proc.kill();
    await proc.exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measure(name: string, cmd: string[]) {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await timeToReady(cmd));
  times.sort((a, b) => a - b);
  console.log(`${name.padEnd(22)} median ${times[Math.floor(times.length / 2)]!.toFixed(0)} ms   min ${times[0]!.toFixed(0)} ms   max ${times.at(-1)!.toFixed(0)} ms   (${runs} runs, fresh database each)`);
}

console.log("time from spawn to the ready line\n");
await measure("bun run src/main.ts", [process.execPath, "run", join(root, "src/main.ts")]);
const binary = join(root, "dist/e-goat");
if (existsSync(binary)) await measure("dist/e-goat", [binary]);
else console.log("dist/e-goat            not built (bun run build)");
