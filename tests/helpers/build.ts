/** Builds a binary for a test with `bun run build`, unless the one in dist/ is newer than everything it is made of. */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "../..");
/** What a binary is built from: a change to any of these makes it stale. */
const SOURCES = ["src", "public", "scripts/build.ts", "scripts/release", "package.json"];

function newestMtime(path: string): number {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return 0;
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

/** Runs `bun run build ...args` when `outfile` is missing or stale; says how long it took. */
export async function ensureBuilt(outfile: string, args: string[] = []): Promise<void> {
  const built = statSync(outfile, { throwIfNoEntry: false });
  if (built && !SOURCES.some((s) => newestMtime(join(ROOT, s)) > built.mtimeMs)) return;
  const started = performance.now();
  const build = Bun.spawn([process.execPath, "run", "build", ...args], { cwd: ROOT, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(build.stdout).text(), new Response(build.stderr).text(), build.exited]);
  if (code !== 0) throw new Error(`bun run build ${args.join(" ")} exited with ${code}:\n${out}${err}`);
  console.log(`built ${outfile} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}
