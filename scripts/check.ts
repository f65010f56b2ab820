/**
 * `bun run check`: checks every binary `bun run build --target ...` left in dist/ (those dist/SHA256SUMS lists)
 * before it ships: its checksum, headers, embedded addon and code signature, then runs it where this machine can.
 * Prints one line per check and exits 1 if any failed.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import pkg from "../package.json" with { type: "json" };
import { inspect, type Check } from "./release/inspect.ts";
import { launch } from "./release/launch.ts";
import { TARGETS, type Target } from "./release/targets.ts";

const ROOT = join(import.meta.dir, "..");
const DIST = join(ROOT, "dist");

/** The built targets, from dist/SHA256SUMS: file name -> expected hash. */
function builtTargets(): { target: Target; file: string; sha256: string }[] {
  const sums = join(DIST, "SHA256SUMS");
  if (!existsSync(sums)) throw new Error("dist/SHA256SUMS is missing: run `bun run build --target all` first");
  return readFileSync(sums, "utf8")
    .trim()
    .split("\n")
    .map((line) => {
      const [sha256, name] = line.split(/\s+\*?/);
      const target = TARGETS.find((t) => t.fileName === name);
      if (!sha256 || !target) throw new Error(`dist/SHA256SUMS names ${JSON.stringify(name)}, which is no release target`);
      return { target, file: join(DIST, name!), sha256 };
    });
}

function checksum(file: string, expected: string): Check {
  if (!existsSync(file)) return { name: "checksum", ok: false, detail: "file missing" };
  const actual = createHash("sha256").update(readFileSync(file)).digest("hex");
  return { name: "checksum", ok: actual === expected, detail: actual === expected ? `sha256 ${actual.slice(0, 16)}…` : `sha256 ${actual}, SHA256SUMS says ${expected}` };
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { target: { type: "string" } }, strict: true });
  const only = values.target?.split(",");
  const built = builtTargets().filter(({ target }) => !only || only.includes(target.id));
  if (built.length === 0) throw new Error(`no built target matches ${values.target}`);
  let failed = 0;
  for (const { target, file, sha256 } of built) {
    const started = performance.now();
    const sum = checksum(file, sha256);
    const checks = sum.ok ? [sum, ...inspect(file, target, ROOT), ...(await launch(file, target, pkg.version))] : [sum];
    for (const c of checks) {
      console.log(`check: ${target.id.padEnd(12)} ${c.skipped ? "skip" : c.ok ? "ok  " : "FAIL"} ${c.name}: ${c.detail}`);
      if (!c.ok) failed++;
    }
    console.log(`check: ${target.id.padEnd(12)} done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  console.log(failed === 0 ? `check: all ${built.length} binaries passed` : `check: ${failed} checks failed`);
  return failed === 0 ? 0 : 1;
}

try {
  process.exit(await main(process.argv.slice(2)));
} catch (error) {
  console.error(`check failed: ${(error as Error).message}`);
  process.exit(1);
}
