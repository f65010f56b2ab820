/**
 * The windows-x64 binary under Wine (scripts/release/wine/): Debian 12's Wine 8 in a throwaway prefix with the
 * bcryptprimitives.dll stub. Bun's runtime starts, the app prints --version and --help, serves /healthz to Linux,
 * shuts down on Ctrl-C, passes --self-test (node-datachannel's win32 addon), and no Wine process is left after.
 * Skips, saying why, without wine, the MinGW compiler or the pinned Windows Bun runtime.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import pkg from "../../../package.json" with { type: "json" };
import { buildStub, MINGW_GCC } from "../../../scripts/release/wine/stub.ts";
import { disposeWine, prepareWine, runUnderWine, startUnderWine, windowsPath, WINE_PACKAGES, type WinePrefix } from "../../../scripts/release/wine/run.ts";
import { targetById } from "../../../scripts/release/targets.ts";
import { ensureBuilt } from "../../helpers/build.ts";
import { downloadHash, randomFile, upload, waitForWhole } from "../../helpers/files.ts";
import { startInstance, tempDir } from "../../helpers/instance.ts";

const ROOT = join(import.meta.dir, "../../..");
const TARGET = targetById("windows-x64");
const EXE = join(ROOT, "dist", TARGET.fileName);
const RUNTIME = join(ROOT, "scripts/runtimes/node_modules", TARGET.runtimePackage, TARGET.runtimeFile);
const SETUP_TIMEOUT_MS = 300_000;

async function run(cmd: string[], cwd = ROOT) {
  const proc = Bun.spawn(cmd, { cwd, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`${cmd.join(" ")} exited with ${code}:\n${out}${err}`);
  return out;
}

/** Linux processes whose environment names this prefix: what must be gone after each run. */
function processesOf(prefix: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, "latin1").split("\0").includes(`WINEPREFIX=${prefix}`)) pids.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return pids;
}

const missing = !Bun.which("wine") ? `wine (${WINE_PACKAGES.join(" ")})` : !Bun.which(MINGW_GCC) ? MINGW_GCC : !existsSync(RUNTIME) ? `the Windows Bun runtime ${RUNTIME} (cd scripts/runtimes && bun install --frozen-lockfile --os='*' --cpu='*' --libc='*')` : "";
if (missing) console.log(`wine test skipped: ${missing} is not installed`);

describe.skipIf(missing !== "")("windows-x64 under Wine", () => {
  let w: WinePrefix;
  let hello = "";
  let sleeper = "";

  beforeAll(async () => {
    await ensureBuilt(EXE, ["--target", TARGET.id]);
    const setup = await prepareWine();
    if ("skip" in setup) throw new Error(setup.skip);
    w = setup;
    console.log(`wine: prefix ready in ${w.setupMs} ms${w.stub ? " with the bcryptprimitives.dll stub" : ""}`);
    // Two tiny programs on the same runtime: one prints random bytes (ProcessPrng), one never ends.
    const src = join(w.root, "src");
    await Bun.write(join(src, "hello.ts"), `import { randomBytes } from "node:crypto";\nconsole.log("hello " + randomBytes(16).toString("hex"));\n`);
    await Bun.write(join(src, "sleep.ts"), `await Bun.sleep(600_000);\n`);
    for (const name of ["hello", "sleep"]) {
      await run([process.execPath, "build", "--compile", `--target=${TARGET.bunTarget}`, `--compile-executable-path=${RUNTIME}`, join(src, `${name}.ts`), "--outfile", join(w.root, `${name}.exe`)]);
    }
    hello = join(w.root, "hello.exe");
    sleeper = join(w.root, "sleep.exe");
  }, SETUP_TIMEOUT_MS);

  afterAll(async () => {
    if (!w) return;
    await disposeWine(w);
    expect(processesOf(w.winePrefix)).toEqual([]);
    expect(existsSync(w.root)).toBe(false);
  }, 60_000);

  test("the stub DLL builds to the same bytes twice", async () => {
    const a = await buildStub(Bun.which(MINGW_GCC)!, join(w.root, "stub-a"));
    const b = await buildStub(Bun.which(MINGW_GCC)!, join(w.root, "stub-b"));
    const bytes = readFileSync(a);
    expect(bytes.subarray(0, 2).toString("latin1")).toBe("MZ");
    expect(bytes.includes("ProcessPrng")).toBe(true);
    expect(Buffer.compare(bytes, readFileSync(b))).toBe(0);
  });

  test("a compiled hello prints, with random bytes that differ each run", async () => {
    const first = await runUnderWine(w, hello, []);
    const second = await runUnderWine(w, hello, []);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^hello [0-9a-f]{32}\r?\n$/);
    expect(second.stdout).toMatch(/^hello [0-9a-f]{32}\r?\n$/);
    expect(second.stdout).not.toBe(first.stdout);
    expect(processesOf(w.winePrefix)).toEqual([]);
  }, 60_000);

  test("--version and --help", async () => {
    const version = await runUnderWine(w, EXE, ["--version"]);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toBe(`e-goat ${pkg.version}`);
    const help = await runUnderWine(w, EXE, ["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("--self-test");
  }, 60_000);

  test("serves /healthz to Linux and shuts down cleanly on Ctrl-C", async () => {
    const db = join(w.root, "chat.db");
    const app = startUnderWine(w, EXE, ["--host", "127.0.0.1", "--http-port", "0", "--ws-port", "0", "--stun", "none", "--transports", "websocket,http", "--db", windowsPath(db)]);
    try {
      const [, http] = await app.waitFor(/^e-goat ready http=(\S+) ws=\S+ node=\S+/m, 30_000);
      const health = await fetch(`${http}/healthz`, { signal: AbortSignal.timeout(5_000) });
      expect(health.status).toBe(200);
      expect(((await health.json()) as { ok: boolean }).ok).toBe(true);
    } finally {
      const stopped = await app.stop();
      expect(stopped.graceful).toBe(true);
      expect(stopped.code).toBe(0);
    }
    expect(existsSync(db)).toBe(true);
    expect(existsSync(`${db}-wal`)).toBe(false);
    expect(processesOf(w.winePrefix)).toEqual([]);
  }, 60_000);

  test("--self-test: WebRTC over loopback through the win32 addon", async () => {
    const result = await runUnderWine(w, EXE, ["--self-test"]);
    expect(result.stderr + result.stdout).toContain("ok");
    expect(result.code).toBe(0);
  }, 60_000);

  test("links to a Linux instance over WebRTC and fetches a file from it (stored by its chunk thread)", async () => {
    const win = startUnderWine(w, EXE, ["--host", "127.0.0.1", "--http-port", "0", "--ws-port", "0", "--stun", "none", "--transports", "webrtc,websocket", "--room", "wine", "--name", "windows", "--db", windowsPath(join(w.root, "link.db"))]);
    try {
      const [, http] = await win.waitFor(/^e-goat ready http=(\S+) /m, 30_000);
      await using linux = await startInstance({ args: ["--transports", "webrtc,websocket", "--room", "wine", "--name", "linux", "--peer", http!] });
      let tier: string | null = null;
      for (let i = 0; i < 100 && tier !== "webrtc"; i++) {
        if (i > 0) await Bun.sleep(200);
        const peers = (await (await fetch(`${http}/peers`)).json()) as { node_id: string; tier: string | null }[];
        tier = peers.find((p) => p.node_id === linux.nodeId)?.tier ?? null;
      }
      expect(tier).toBe("webrtc");
      const source = await randomFile(tempDir(), 600_000);
      const { file } = await upload(linux, "wine", source.path);
      const atWindows = { http, nodeId: "the windows instance" } as Parameters<typeof waitForWhole>[0];
      await waitForWhole(atWindows, "wine", file.id);
      expect(await downloadHash(atWindows, file.id)).toBe(source.sha256);
    } finally {
      expect((await win.stop()).code).toBe(0);
    }
  }, 60_000);

  test("a run past its time limit is killed, and nothing is left", async () => {
    const result = await runUnderWine(w, sleeper, [], { timeoutMs: 3_000 });
    expect(result.timedOut).toBe(true);
    expect(result.code).toBeNull();
    expect(processesOf(w.winePrefix)).toEqual([]);
  }, 60_000);
});
