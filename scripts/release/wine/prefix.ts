/**
 * A throwaway Wine prefix for checking the windows-x64 binary on Linux: Debian 12's Wine 8, 64-bit only, headless
 * (no display, no stdin), everything it writes (prefix, HOME, the wineserver's socket directory) under one temporary
 * directory, and bcryptprimitives.dll (stub.ts) installed when this Wine lacks it (Wine 8.0 does; Bun's Windows
 * runtime needs its ProcessPrng).
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildStub, MINGW_GCC, STUB_DLL } from "./stub.ts";

/** Debian 12 packages that provide what this needs; `wine` is the /usr/bin/wine wrapper, `wine64` the loader. */
export const WINE_PACKAGES = ["wine", "wine64", "gcc-mingw-w64-x86-64-win32"] as const;

export interface WinePrefix {
  /** The `wine` command. */
  wine: string;
  /** The `wineserver` command. */
  wineserver: string;
  /** What to put before the exe and its arguments: `[wine]`. */
  prefix: string[];
  /** The whole environment for every process run in this prefix (includes HOME and TMPDIR of its own). */
  env: Record<string, string>;
  /** The temporary directory that holds everything; removed by dispose. */
  root: string;
  /** WINEPREFIX. */
  winePrefix: string;
  /** Whether our bcryptprimitives.dll stub is installed (Wine before 8.13 has none of its own). */
  stub: boolean;
  /** How long wineboot and the stub took, in ms. */
  setupMs: number;
  /** Kills every process of the prefix and removes the temporary directory (disposeWine). */
  dispose(): Promise<void>;
}

export type WineSetup = WinePrefix | { skip: string };

const INSTALL_HINT = `apt-get install --no-install-recommends ${WINE_PACKAGES.join(" ")}`;
const BOOT_TIMEOUT_MS = 180_000;

/** Prefixes not yet disposed: their wineservers are killed if this process exits first. */
const live = new Set<WinePrefix>();
process.on("exit", () => {
  for (const w of live) spawnSync(w.wineserver, ["-k"], { env: w.env, stdio: "ignore", timeout: 10_000 });
});

/** The environment for a prefix under `root`: the caller's, less anything that points Wine at a display or elsewhere. */
function wineEnv(root: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k.startsWith("WINE") || k === "DISPLAY" || k === "WAYLAND_DISPLAY" || k.startsWith("XDG_")) continue;
    env[k] = v;
  }
  return {
    ...env,
    WINEPREFIX: join(root, "prefix"),
    WINEARCH: "win64",
    WINEDEBUG: "-all",
    // No Mono or Gecko installer prompts, no desktop menu entries.
    WINEDLLOVERRIDES: "mscoree,mshtml=;winemenubuilder.exe=d",
    // Wine writes menus and caches under HOME, and Debian's wineserver makes its socket directory in TMPDIR.
    HOME: join(root, "home"),
    TMPDIR: join(root, "tmp"),
  };
}

/** Runs a Wine tool to completion with a time limit; returns its exit code and output. */
async function runTool(cmd: string[], env: Record<string, string>, timeoutMs: number) {
  const proc = Bun.spawn(cmd, { env, stdin: "ignore", stdout: "pipe", stderr: "pipe", timeout: timeoutMs, killSignal: "SIGKILL" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, output: (stdout + stderr).trim(), timedOut: proc.signalCode === "SIGKILL" };
}

/**
 * Makes a fresh prefix under a new temporary directory (or `parent`), ready to run a Windows exe. Skips (with the
 * reason and the packages to install) when Wine, or the MinGW compiler that a Wine without ProcessPrng needs, is
 * missing; throws when Wine is there but fails.
 */
export async function prepareWine(parent = tmpdir()): Promise<WineSetup> {
  const wine = Bun.which("wine");
  const wineserver = Bun.which("wineserver");
  if (!wine || !wineserver) return { skip: `wine is not installed (${INSTALL_HINT})` };
  if (!existsSync("/usr/lib/wine/wine64") && !Bun.which("wine64")) return { skip: `64-bit wine is not installed (${INSTALL_HINT})` };

  const started = performance.now();
  const root = mkdtempSync(join(parent, "e-goat-wine-"));
  const env = wineEnv(root);
  for (const dir of ["home", "tmp"]) mkdirSync(join(root, dir));
  const w: WinePrefix = { wine, wineserver, prefix: [wine], env, root, winePrefix: env.WINEPREFIX!, stub: false, setupMs: 0, dispose: () => disposeWine(w) };
  live.add(w);
  try {
    const boot = await runTool([wine, "wineboot", "--init"], env, BOOT_TIMEOUT_MS);
    // Also makes wineserver save the registry; the first run starts a new one.
    await stopWineserver(w);
    const system32 = join(w.winePrefix, "drive_c/windows/system32");
    if (boot.code !== 0 || !existsSync(system32)) {
      const why = boot.timedOut ? `did not finish in ${BOOT_TIMEOUT_MS / 1000} s` : `exited with ${boot.code}`;
      throw new Error(`wineboot --init ${why}: ${boot.output.split("\n").slice(-5).join(" | ")}`);
    }
    // wineboot copies every DLL Wine has into system32: Wine 8.13 and later bring their own ProcessPrng.
    if (!existsSync(join(system32, STUB_DLL))) {
      const gcc = Bun.which(MINGW_GCC);
      if (!gcc) {
        await disposeWine(w);
        return { skip: `this Wine has no ${STUB_DLL} and ${MINGW_GCC} is not installed to build a stub (${INSTALL_HINT})` };
      }
      copyFileSync(await buildStub(gcc, join(root, "stub")), join(system32, STUB_DLL));
      // Native: ours, whatever Wine would choose on its own.
      env.WINEDLLOVERRIDES += `;${STUB_DLL.replace(/\.dll$/, "")}=n`;
      w.stub = true;
    }
  } catch (error) {
    await disposeWine(w);
    throw error;
  }
  w.setupMs = Math.round(performance.now() - started);
  return w;
}

/** Kills every process of the prefix and its wineserver (`wineserver -k`), and waits until it is gone. */
export async function stopWineserver(w: WinePrefix): Promise<void> {
  // Exit 1 means no wineserver was running: nothing to do.
  await runTool([w.wineserver, "-k"], w.env, 30_000);
  await runTool([w.wineserver, "-w"], w.env, 30_000);
}

/** Stops the prefix's processes and removes its temporary directory. */
export async function disposeWine(w: WinePrefix): Promise<void> {
  await stopWineserver(w);
  live.delete(w);
  rmSync(w.root, { recursive: true, force: true });
}
