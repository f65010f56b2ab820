/** The compiled binary's addon cache: one private copy per content, reused, replaced when damaged, never in a dir others can write. */
import { afterEach, beforeEach, describe, expect, it } from "bun:test";
import { createHash } from "node:crypto";
import { chmodSync, chownSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { addonCacheDir, cachedAddonPath } from "../../../src/transport/webrtc/addon-cache.ts";
import { tempDir } from "../../helpers/instance.ts";

let dir = "";
let embedded = "";
const content = new TextEncoder().encode("not really an addon, but bytes with a hash");
const hash = createHash("sha256").update(content).digest("hex");

beforeEach(() => {
  dir = tempDir("e-goat-addon-");
  embedded = join(dir, "embedded.node");
  writeFileSync(embedded, content);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("addon cache", () => {
  it("writes the addon once, named by its hash, into a directory only its user can enter", () => {
    const cache = join(dir, "cache", "e-goat");
    const path = cachedAddonPath(embedded, cache);
    expect(path).toBe(join(cache, `node_datachannel-${hash.slice(0, 32)}.node`));
    expect(readFileSync(path)).toEqual(Buffer.from(content));
    expect(statSync(cache).mode & 0o777).toBe(0o700);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const { ino, mtimeMs } = statSync(path);
    expect(cachedAddonPath(embedded, cache)).toBe(path);
    // Reused, not written again.
    expect(statSync(path).ino).toBe(ino);
    expect(statSync(path).mtimeMs).toBe(mtimeMs);
    expect(readdirSync(cache)).toEqual([`node_datachannel-${hash.slice(0, 32)}.node`]);
  });

  it("replaces a damaged copy", () => {
    const cache = join(dir, "cache");
    const path = cachedAddonPath(embedded, cache);
    writeFileSync(path, "damaged");
    expect(cachedAddonPath(embedded, cache)).toBe(path);
    expect(readFileSync(path)).toEqual(Buffer.from(content));
    expect(readdirSync(cache)).toHaveLength(1);
  });

  it("refuses a directory that other users can write into", () => {
    const cache = join(dir, "shared");
    mkdirSync(cache);
    chmodSync(cache, 0o777);
    expect(() => cachedAddonPath(embedded, cache)).toThrow(/cannot write the WebRTC addon into .*shared: .*writable by other users/);
    expect(readdirSync(cache)).toEqual([]);
  });

  it.skipIf(process.getuid?.() !== 0)("refuses a directory of another user", () => {
    const cache = join(dir, "theirs");
    mkdirSync(cache, { mode: 0o700 });
    chownSync(cache, 65534, 65534);
    expect(() => cachedAddonPath(embedded, cache)).toThrow(/belongs to another user/);
  });

  it("says which path failed when the cache cannot be made", () => {
    const blocker = join(dir, "file");
    writeFileSync(blocker, "");
    expect(() => cachedAddonPath(embedded, join(blocker, "e-goat"))).toThrow(/cannot write the WebRTC addon into .*file[\\/]e-goat: /);
  });

  it("lives in each OS's per-user cache directory", () => {
    expect(addonCacheDir({ XDG_CACHE_HOME: "/x/cache" }, "linux")).toBe("/x/cache/e-goat");
    expect(addonCacheDir({}, "linux")).toMatch(/[\\/]\.cache[\\/]e-goat$/);
    expect(addonCacheDir({}, "darwin")).toMatch(/[\\/]Library[\\/]Caches[\\/]e-goat$/);
    expect(addonCacheDir({ LOCALAPPDATA: "C:\\Users\\a\\AppData\\Local" }, "win32")).toMatch(/AppData.Local.e-goat.cache$/);
  });
});
