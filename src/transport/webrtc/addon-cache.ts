/**
 * The compiled binary's way to load node-datachannel's native addon: the build embeds the addon as a plain file,
 * and this writes it once into a private per-user cache directory, named by its content hash, and loads it from
 * there. So the temporary directory (maybe `noexec`, maybe shared) plays no part, and a later start reuses the file.
 */
import { createHash } from "node:crypto";
import { lstatSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

/** The OS's per-user cache directory for E-Goat; XDG_CACHE_HOME (or LOCALAPPDATA on Windows) moves it. */
export function addonCacheDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (platform === "win32") return join(env.LOCALAPPDATA || join(homedir(), "AppData", "Local"), "e-goat", "cache");
  if (platform === "darwin") return join(homedir(), "Library", "Caches", "e-goat");
  return join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "e-goat");
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

function sameContent(path: string, hash: string): boolean {
  try {
    return sha256(readFileSync(path)) === hash;
  } catch {
    return false;
  }
}

/** Makes `dir` if missing and refuses one that others could write into (the loaded file runs as our code). */
function privateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (process.platform === "win32") return;
  const stat = lstatSync(dir);
  if (!stat.isDirectory()) throw new Error("it is not a directory");
  if (stat.uid !== process.getuid?.()) throw new Error("it belongs to another user");
  if ((stat.mode & 0o022) !== 0) throw new Error(`it is writable by other users (mode ${(stat.mode & 0o777).toString(8)})`);
}

/**
 * Copies the embedded addon at `embedded` into the cache (unless a file with the same content is there) and returns
 * the path to load. Throws with the path and reason when that cannot be done.
 */
export function cachedAddonPath(embedded: string, dir = addonCacheDir()): string {
  const bytes = readFileSync(embedded);
  const hash = sha256(bytes);
  const target = join(dir, `node_datachannel-${hash.slice(0, 32)}.node`);
  try {
    privateDir(dir);
    // The name says what the content should be; a damaged or altered file is replaced.
    if (sameContent(target, hash)) return target;
    const temporary = `${target}.${process.pid}.tmp`;
    try {
      writeFileSync(temporary, bytes, { mode: 0o600 });
      renameSync(temporary, target);
    } catch (error) {
      // Another instance starting at the same moment may have put it there first (Windows refuses the rename then).
      if (!sameContent(target, hash)) throw error;
    } finally {
      rmSync(temporary, { force: true });
    }
  } catch (error) {
    throw new Error(`cannot write the WebRTC addon into ${dir}: ${(error as Error).message}`);
  }
  return target;
}

/** Loads the embedded addon through the cache; what node-datachannel's own loader would have returned. */
export function loadEmbeddedAddon(embedded: string): unknown {
  const path = cachedAddonPath(embedded);
  const module = { exports: {} };
  try {
    process.dlopen(module, path);
  } catch (error) {
    throw new Error(`cannot load the WebRTC addon ${path}: ${(error as Error).message.split("\n")[0]}`);
  }
  return module.exports;
}
