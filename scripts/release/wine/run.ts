/**
 * Runs a Windows exe under Wine in a prefix from prefix.ts, with a time limit, and leaves no process behind: after
 * each run the prefix's wineserver and everything it started are killed. One run at a time per prefix.
 *
 *   bun scripts/release/wine/run.ts dist/e-goat-windows-x64.exe --version
 *
 * Under Wine, SIGINT reaches the program as a console Ctrl-C (the app shuts down cleanly); SIGTERM kills it at once.
 */
import { resolve } from "node:path";
import { disposeWine, prepareWine, stopWineserver, type WinePrefix } from "./prefix.ts";

export { disposeWine, prepareWine, stopWineserver, WINE_PACKAGES, type WinePrefix, type WineSetup } from "./prefix.ts";

export interface RunOptions {
  /** Working directory (a Linux path; Wine shows it as Z:\...). */
  cwd?: string;
  /** Killed (SIGKILL) after this long. */
  timeoutMs?: number;
}

export interface RunResult {
  /** The program's exit code; null when it was killed. */
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  ms: number;
}

/** The argv that runs `exe` with `args` under Wine (in the prefix's env). */
export function wineCommand(w: WinePrefix, exe: string, args: readonly string[]): string[] {
  return [...w.prefix, resolve(exe), ...args];
}

/** The Windows path of a Linux path, through the Z: drive every prefix maps to `/`. */
export function windowsPath(linuxPath: string): string {
  return `Z:${resolve(linuxPath).replaceAll("/", "\\")}`;
}

/** Runs `exe args` to completion (or its time limit), then kills the prefix's wineserver and whatever is left. */
export async function runUnderWine(w: WinePrefix, exe: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const started = performance.now();
  const proc = Bun.spawn(wineCommand(w, exe, args), {
    cwd: options.cwd ?? w.root,
    env: w.env,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    timeout: options.timeoutMs ?? 120_000,
    killSignal: "SIGKILL",
  });
  try {
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    const timedOut = proc.signalCode === "SIGKILL";
    return { code: timedOut ? null : code, stdout, stderr, timedOut, ms: Math.round(performance.now() - started) };
  } finally {
    proc.kill("SIGKILL");
    await stopWineserver(w);
  }
}

/** A program left running under Wine (a server): read its output as it comes, then stop it. */
export interface WineProcess {
  readonly pid: number;
  /** Everything it printed so far, stdout and stderr together. */
  output(): string;
  /** Resolves with the first match of `pattern` in the output; rejects if it exits or `timeoutMs` passes first. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  /**
   * Ctrl-C (SIGINT), up to `graceMs` for it to exit, then SIGKILL; then the prefix's wineserver is killed.
   * `graceful` says whether it exited on its own after the Ctrl-C.
   */
  stop(graceMs?: number): Promise<{ code: number | null; graceful: boolean; output: string }>;
}

/** Starts `exe args` under Wine and returns at once; the caller must `stop()` it. */
export function startUnderWine(w: WinePrefix, exe: string, args: readonly string[], options: Pick<RunOptions, "cwd"> = {}): WineProcess {
  const proc = Bun.spawn(wineCommand(w, exe, args), { cwd: options.cwd ?? w.root, env: w.env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  let text = "";
  const decoder = new TextDecoder();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
  };
  const drained = Promise.all([pump(proc.stdout), pump(proc.stderr)]);
  let exited = false;
  void proc.exited.then(() => (exited = true));

  return {
    pid: proc.pid,
    output: () => text,
    async waitFor(pattern, timeoutMs) {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const match = text.match(pattern);
        if (match) return match;
        if (exited) {
          await drained;
          const late = text.match(pattern);
          if (late) return late;
          throw new Error(`exited with ${proc.exitCode ?? proc.signalCode} before printing ${pattern}; output: ${text.trim() || "(none)"}`);
        }
        if (performance.now() > deadline) throw new Error(`no ${pattern} within ${timeoutMs} ms; output: ${text.trim() || "(none)"}`);
        await Bun.sleep(50);
      }
    },
    async stop(graceMs = 10_000) {
      let graceful = false;
      if (!exited) {
        proc.kill("SIGINT");
        graceful = await Promise.race([proc.exited.then(() => true), Bun.sleep(graceMs).then(() => false)]);
        if (!graceful) proc.kill("SIGKILL");
      }
      await proc.exited;
      await stopWineserver(w);
      await drained;
      return { code: proc.signalCode ? null : proc.exitCode, graceful, output: text };
    },
  };
}

if (import.meta.main) {
  const [exe, ...args] = process.argv.slice(2);
  if (!exe) {
    console.error("usage: bun scripts/release/wine/run.ts <program.exe> [args...]");
    process.exit(2);
  }
  const setup = await prepareWine();
  if ("skip" in setup) {
    console.error(`wine: skipped: ${setup.skip}`);
    process.exit(0);
  }
  console.error(`wine: prefix ready in ${setup.setupMs} ms at ${setup.winePrefix}`);
  try {
    const result = await runUnderWine(setup, exe, args, { cwd: process.cwd() });
    process.stdout.write(result.stdout);
    process.stderr.write(result.stderr);
    console.error(`wine: ${result.timedOut ? "killed after the time limit" : `exit ${result.code}`} in ${result.ms} ms`);
    process.exitCode = result.code ?? 1;
  } finally {
    await disposeWine(setup);
  }
}
