import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { freeUdpPort } from "./ports.ts";

const ROOT = join(import.meta.dir, "..", "..");

/** Flags every test instance gets: nothing leaves this machine. */
export const SAFE_FLAGS = ["--host", "127.0.0.1", "--http-port", "0", "--ws-port", "0", "--stun", "none", "--lan-addr", "127.255.255.255"];

export interface Instance {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  http: string;
  ws: string;
  nodeId: string;
  db: string;
  /** Everything the process printed on stdout so far. */
  output: () => string;
  /** Everything the process printed on stderr so far. */
  errors: () => string;
  /** SIGTERM (or the given signal) and wait for exit; returns the exit code. */
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
  [Symbol.asyncDispose]: () => Promise<void>;
}

export function tempDir(prefix = "e-goat-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

const READY = /^e-goat ready http=(\S+) ws=(\S+) node=(\S+)$/m;

/** Starts a real instance (`bun run src/main.ts`, or `cmd` such as the compiled binary) and waits for its ready line. */
export async function startInstance(
  opts: { args?: string[]; db?: string; cmd?: string[]; cwd?: string; timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<Instance> {
  const dir = opts.db ? null : tempDir();
  const db = opts.db ?? join(dir!, "chat.db");
  const cmd = opts.cmd ?? [process.execPath, "run", join(ROOT, "src/main.ts")];
  // A LAN port of its own, so instances of unrelated tests never discover each other; mesh tests pass one to share.
  const lan = opts.args?.includes("--lan-port") ? [] : ["--lan-port", String(await freeUdpPort())];
  const proc = Bun.spawn([...cmd, ...SAFE_FLAGS, ...lan, "--db", db, ...(opts.args ?? [])], {
    cwd: opts.cwd ?? ROOT,
    env: opts.env ? { ...process.env, ...opts.env } : undefined,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let out = "";
  let err = "";
  const decoder = new TextDecoder();
  const ready = Promise.withResolvers<RegExpExecArray>();
  (async () => {
    for await (const chunk of proc.stdout) {
      out += decoder.decode(chunk, { stream: true });
      const m = READY.exec(out);
      if (m) ready.resolve(m);
    }
  })();
  (async () => {
    for await (const chunk of proc.stderr) err += decoder.decode(chunk, { stream: true });
  })();
  proc.exited.then((code) => ready.reject(new Error(`instance exited with ${code} before ready:\n${out}\n${err}`)));
  const timer = setTimeout(() => ready.reject(new Error(`no ready line within ${opts.timeoutMs ?? 20000} ms:\n${out}\n${err}`)), opts.timeoutMs ?? 20000);
  let m: RegExpExecArray;
  try {
    m = await ready.promise;
  } catch (e) {
    proc.kill("SIGKILL");
    throw e;
  } finally {
    clearTimeout(timer);
  }
  const stop = async (signal: NodeJS.Signals = "SIGTERM") => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    // An instance that does not stop in time is killed, so a hung one never outlives its test.
    const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
    try {
      return await proc.exited;
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    proc,
    http: m[1]!,
    ws: m[2]!,
    nodeId: m[3]!,
    db,
    output: () => out,
    errors: () => err,
    stop,
    async [Symbol.asyncDispose]() {
      await stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(check: () => T | Promise<T>, timeoutMs = 10000, what = "condition"): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(25);
  }
}
