/**
 * The checks of a built binary that run it: natively when this machine is its platform, under qemu-user for the
 * other Linux CPU, under Wine for Windows. `--version`, `--self-test` (a WebRTC DataChannel through the embedded
 * addon), then a real start: the ready line and `/healthz`.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Check } from "./inspect.ts";
import type { Target } from "./targets.ts";
import { prepareWine } from "./wine/run.ts";

/** How to start a target's binary here: a command to put before it and its whole environment, or why it cannot run. */
export type Runner = { how: string; prefix: string[]; env: Record<string, string | undefined>; dispose: () => Promise<void> } | { skip: string };

/** Debian's qemu-user with the arm64 C and C++ runtimes of libc6-arm64-cross and libstdc++6-arm64-cross. */
const QEMU_ARM64_ROOT = "/usr/aarch64-linux-gnu";

export async function runnerFor(target: Target): Promise<Runner> {
  const os = process.platform === "win32" ? "windows" : process.platform;
  const none = { env: process.env, dispose: async () => {} };
  if (target.id === `${os}-${process.arch}`) return { how: "natively", prefix: [], ...none };
  if (target.id === "linux-arm64" && os === "linux") {
    const qemu = Bun.which("qemu-aarch64");
    if (!qemu) return { skip: "qemu-aarch64 is not installed (Debian: qemu-user)" };
    if (!existsSync(join(QEMU_ARM64_ROOT, "lib/ld-linux-aarch64.so.1"))) return { skip: `no arm64 C library in ${QEMU_ARM64_ROOT} (Debian: libc6-arm64-cross)` };
    if (!existsSync(join(QEMU_ARM64_ROOT, "lib/libstdc++.so.6"))) return { skip: `no arm64 libstdc++ in ${QEMU_ARM64_ROOT} (Debian: libstdc++6-arm64-cross)` };
    return { how: "under qemu-user", prefix: [qemu, "-L", QEMU_ARM64_ROOT], ...none };
  }
  if (target.id === "windows-x64" && os === "linux" && process.arch === "x64") {
    const wine = await prepareWine();
    if ("skip" in wine) return wine;
    return { how: "under Wine", prefix: wine.prefix, env: wine.env, dispose: wine.dispose };
  }
  return { skip: `a ${target.id} binary cannot run on ${os}-${process.arch}` };
}

const READY = /^e-goat ready http=(\S+) ws=(\S+) node=(\S+)\r?$/m;

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

type Env = Record<string, string | undefined>;

async function runToEnd(command: string[], cwd: string, env: Env, timeoutMs: number): Promise<Ran> {
  const proc = Bun.spawn(command, { cwd, env, stdin: "ignore", stdout: "pipe", stderr: "pipe", timeout: timeoutMs, killSignal: "SIGKILL" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code: proc.signalCode ? null : code, stdout, stderr };
}

const firstLine = (text: string) => text.trim().split("\n")[0]?.trim() ?? "";

/** Starts the binary as a user would (on loopback, no STUN, no broadcast), waits for its ready line, asks /healthz. */
async function startAndProbe(command: string[], cwd: string, env: Env, timeoutMs: number): Promise<{ ok: boolean; detail: string }> {
  const flags = ["--host", "127.0.0.1", "--http-port", "0", "--ws-port", "0", "--stun", "none", "--lan-addr", "127.255.255.255", "--db", "chat.db"];
  const started = performance.now();
  const proc = Bun.spawn([...command, ...flags], { cwd, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  let out = "";
  const ready = Promise.withResolvers<RegExpExecArray>();
  const timer = setTimeout(() => ready.reject(new Error(`no ready line within ${timeoutMs} ms`)), timeoutMs);
  void (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of proc.stdout) {
      out += decoder.decode(chunk, { stream: true });
      const m = READY.exec(out);
      if (m) ready.resolve(m);
    }
  })();
  const stderr = new Response(proc.stderr).text();
  void proc.exited.then(async (code) => ready.reject(new Error(`exited with ${code} before its ready line: ${firstLine(await stderr) || firstLine(out)}`)));
  try {
    const m = await ready.promise;
    const readyMs = performance.now() - started;
    const health = await fetch(`${m[1]}/healthz`, { signal: AbortSignal.timeout(10_000) });
    const body = (await health.json()) as { ok?: boolean; node_id?: string };
    if (health.status !== 200 || body.ok !== true || body.node_id !== m[3]) {
      return { ok: false, detail: `/healthz answered ${health.status} ${JSON.stringify(body)}` };
    }
    // Ctrl-C, which Wine too hands to the program (its SIGTERM is a hard kill): the app must close cleanly.
    proc.kill("SIGINT");
    const code = await Promise.race([proc.exited, Bun.sleep(20_000).then(() => "no exit within 20 s after SIGINT")]);
    if (code !== 0) return { ok: false, detail: `ready and /healthz ok, but on SIGINT: ${typeof code === "number" ? `exit ${code}` : code}` };
    return { ok: true, detail: `ready line in ${readyMs.toFixed(0)} ms, /healthz ok (node ${m[3]}), exit 0 on SIGINT` };
  } catch (error) {
    return { ok: false, detail: (error as Error).message };
  } finally {
    clearTimeout(timer);
    proc.kill("SIGKILL");
    await proc.exited;
  }
}

/** The run checks of one binary, or one skipped check saying why it cannot run here. */
export async function launch(file: string, target: Target, version: string, timeoutMs = 120_000): Promise<Check[]> {
  const runner = await runnerFor(target);
  if ("skip" in runner) return [{ name: "run", ok: true, skipped: true, detail: `not run here: ${runner.skip}` }];
  // A home of its own: the binary writes its addon cache there, nothing lands in the user's.
  const cwd = mkdtempSync(join(tmpdir(), `e-goat-check-${target.id}-`));
  const env = { ...runner.env, XDG_CACHE_HOME: join(cwd, "cache") };
  const command = [...runner.prefix, file];
  const checks: Check[] = [];
  try {
    const v = await runToEnd([...command, "--version"], cwd, env, timeoutMs);
    const vLine = firstLine(v.stdout);
    checks.push({ name: `--version ${runner.how}`, ok: v.code === 0 && vLine === `e-goat ${version}`, detail: vLine || firstLine(v.stderr) || `exit ${v.code}` });
    const s = await runToEnd([...command, "--self-test"], cwd, env, timeoutMs);
    const sLine = firstLine(s.stdout);
    checks.push({ name: `--self-test ${runner.how}`, ok: s.code === 0 && sLine.includes("WebRTC DataChannel over loopback ok"), detail: sLine || firstLine(s.stderr) || `exit ${s.code}` });
    checks.push({ name: `start ${runner.how}`, ...(await startAndProbe(command, cwd, env, timeoutMs)) });
  } finally {
    await runner.dispose();
    rmSync(cwd, { recursive: true, force: true });
  }
  return checks;
}
