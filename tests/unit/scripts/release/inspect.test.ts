/**
 * The release check's static part fails where it should: a binary for the wrong CPU, one without its addon, one
 * that carries another platform's addon too. The "binary" is the running Bun with addons appended, as a build embeds them.
 */
import { afterAll, describe, expect, it } from "bun:test";
import { appendFileSync, copyFileSync, existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { inspect } from "../../../../scripts/release/inspect.ts";
import { targetById } from "../../../../scripts/release/targets.ts";
import { tempDir } from "../../../helpers/instance.ts";

const ROOT = join(import.meta.dir, "../../../..");
const addon = (pkg: string) => join(ROOT, "node_modules", pkg, "node_datachannel.node");
const linux = targetById("linux-x64");
const missing = [linux.addonPackage, "@node-datachannel/darwin-x64"].filter((p) => !existsSync(addon(p)));
const skip = process.platform !== "linux" || process.arch !== "x64" ? "needs a linux-x64 Bun to stand in for a binary" : missing.length > 0 ? `${missing.join(", ")} not installed (bun install --os='*' --cpu='*' --libc='*')` : null;
if (skip) console.log(`inspect: skipping: ${skip}`);

const dir = tempDir("e-goat-inspect-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const byName = (checks: ReturnType<typeof inspect>) => Object.fromEntries(checks.map((c) => [c.name, c]));

describe.skipIf(skip !== null)("release check of one binary", () => {
  const file = join(dir, "e-goat-linux-x64");

  it("refuses a binary without its platform's addon, and one checked as another CPU's", () => {
    copyFileSync(process.execPath, file);
    const checks = byName(inspect(file, linux, ROOT));
    expect(checks.headers).toMatchObject({ ok: true });
    expect(checks.addon).toMatchObject({ ok: false, detail: expect.stringContaining("is not inside byte for byte") });
    const arm = byName(inspect(file, targetById("linux-arm64"), ROOT));
    expect(arm.headers).toMatchObject({ ok: false, detail: expect.stringContaining("expected elf arm64 glibc") });
    expect(byName(inspect(file, targetById("windows-x64"), ROOT)).headers).toMatchObject({ ok: false, detail: "not a PE file (no MZ)" });
  });

  it("passes with exactly its own addon inside, and fails once another platform's is there too", () => {
    appendFileSync(file, readFileSync(addon(linux.addonPackage)));
    expect(byName(inspect(file, linux, ROOT)).addon).toMatchObject({ ok: true, detail: expect.stringContaining(linux.addonPackage) });
    appendFileSync(file, readFileSync(addon("@node-datachannel/darwin-x64")));
    expect(byName(inspect(file, linux, ROOT)).addon).toMatchObject({ ok: false, detail: "also carries @node-datachannel/darwin-x64" });
  });
});
