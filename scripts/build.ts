/**
 * `bun run build`: compiles src/main.ts into the single binary dist/e-goat for this machine.
 * `bun run build --target all` (or `--target linux-arm64,windows-x64`): one binary per release target, named for
 * its platform (dist/e-goat-linux-x64, dist/e-goat-windows-x64.exe, ...), and dist/SHA256SUMS of those in dist/.
 *
 * The binary runs from any directory with no Bun and no node_modules. The one part the bundler cannot see on its own
 * is node-datachannel's native addon: the library picks it at run time with `require(packageName)`. The plugin below
 * replaces that loader module with one that embeds the target's `.node` file as a plain file and loads it through
 * the app's own per-user cache (src/transport/webrtc/addon-cache.ts), on first use.
 */
import type { BunPlugin } from "bun";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, join, relative } from "node:path";
import { parseArgs } from "node:util";
import { adhocSign } from "./release/codesign.ts";
import { hostTarget, isTargetId, TARGETS, type Target } from "./release/targets.ts";

const ROOT = join(import.meta.dir, "..");
const ENTRY = join(ROOT, "src/main.ts");
/** Started as a worker thread (new Worker), so the bundler needs it as an entrypoint of its own. */
const WORKERS = [join(ROOT, "src/storage/chunk-worker.ts")];
const DIST = join(ROOT, "dist");
const RUNTIMES = join(ROOT, "scripts/runtimes");
const ADDON_LOADER = join(ROOT, "src/transport/webrtc/addon-cache.ts");

class BuildError extends Error {}

/** One compile: where the runtime, the addon and the output are. */
interface Job {
  label: string;
  outfile: string;
  addon: string;
  bunTarget?: Target["bunTarget"];
  /** The target's Bun runtime; none for this machine's own build, which uses the running Bun. */
  runtime?: string;
}

/** The `@node-datachannel/*` package that carries the addon for the platform this build runs on. */
function hostAddonPackage(): string {
  const { platform, arch } = process;
  if (platform === "linux" && (arch === "x64" || arch === "arm64")) {
    // Node and Bun report the glibc version they run on; a musl build reports none.
    const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
    return `@node-datachannel/linux-${arch}-${header?.glibcVersionRuntime ? "gnu" : "musl"}`;
  }
  const host = hostTarget();
  if (host) return host.addonPackage;
  throw new BuildError(`node-datachannel has no prebuilt addon for ${platform}-${arch}`);
}

/** Absolute path of an addon package's node_datachannel.node, or undefined when that package is not installed. */
function addonOf(pkg: string): string | undefined {
  const dir = join(ROOT, "node_modules", pkg);
  if (!existsSync(join(dir, "package.json"))) return undefined;
  const main = (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { main?: string }).main ?? "node_datachannel.node";
  const addon = join(dir, main);
  if (!addon.endsWith(".node") || !existsSync(addon)) throw new BuildError(`${pkg} has no native addon at ${addon}`);
  return addon;
}

/** A target's Bun runtime, checked to be this Bun's version (the embedded bytecode is tied to it). */
function runtimeOf(target: Target): string | undefined {
  const dir = join(RUNTIMES, "node_modules", target.runtimePackage);
  if (!existsSync(join(dir, "package.json"))) return undefined;
  const { version } = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { version: string };
  if (version !== Bun.version) {
    throw new BuildError(`scripts/runtimes pins Bun ${version} but this is Bun ${Bun.version}; build with Bun ${version}`);
  }
  return join(dir, target.runtimeFile);
}

/** Installs every platform's addon and runtime from the lockfiles (they are skipped by a plain `bun install`). */
function installAllPlatforms(where: string): void {
  const args = ["install", "--frozen-lockfile", "--os=*", "--cpu=*", "--libc=*"];
  console.log(`build: installing every platform's packages in ${relative(ROOT, where) || "."} (bun ${args.join(" ")})`);
  const run = spawnSync(process.execPath, args, { cwd: where, stdio: ["ignore", "inherit", "inherit"] });
  if (run.status !== 0) throw new BuildError(`bun install in ${relative(ROOT, where) || "."} failed (exit ${run.status ?? run.signal})`);
}

function jobFor(target: Target): Job {
  let addon = addonOf(target.addonPackage);
  if (!addon) {
    installAllPlatforms(ROOT);
    addon = addonOf(target.addonPackage);
  }
  let runtime = runtimeOf(target);
  if (!runtime) {
    installAllPlatforms(RUNTIMES);
    runtime = runtimeOf(target);
  }
  if (!addon || !runtime) throw new BuildError(`${target.id}: ${!addon ? target.addonPackage : target.runtimePackage} is still missing after install`);
  return { label: target.id, outfile: join(DIST, target.fileName), addon, bunTarget: target.bunTarget, runtime };
}

function hostJob(): Job {
  const pkg = hostAddonPackage();
  const addon = addonOf(pkg);
  if (!addon) throw new BuildError(`${pkg} (node-datachannel's native addon for this platform) is not installed; run \`bun install\` without --omit=optional`);
  return { label: `${process.platform}-${process.arch}`, outfile: join(DIST, process.platform === "win32" ? "e-goat.exe" : "e-goat"), addon };
}

/** Replaces node-datachannel's addon loader with one that loads `addon`, embedded as a file, through the cache. */
function embeddedAddon(addon: string, hits: Set<string>): BunPlugin {
  return {
    name: "node-datachannel-addon",
    setup(build) {
      build.onLoad({ filter: /[\\/]node-datachannel[\\/]dist[\\/]esm[\\/]lib[\\/]node-datachannel\.mjs$/ }, (args) => {
        hits.add(args.path);
        // The original module's only export is `default` (the addon's exports).
        return {
          loader: "js",
          contents: [
            `import addon from ${JSON.stringify(addon)} with { type: "file" };`,
            `import { loadEmbeddedAddon } from ${JSON.stringify(ADDON_LOADER)};`,
            `export default loadEmbeddedAddon(addon);`,
          ].join("\n"),
        };
      });
      build.onLoad({ filter: /[\\/]node-datachannel[\\/]dist[\\/]cjs[\\/]lib[\\/]node-datachannel\.cjs$/ }, (args) => {
        throw new BuildError(`${relative(ROOT, args.path)} was bundled; only node-datachannel's ESM build is handled`);
      });
    },
  };
}

const mb = (bytes: number) => (bytes / (1024 * 1024)).toFixed(1);

async function compile(job: Job): Promise<void> {
  const started = performance.now();
  console.log(
    `build: ${job.label}: ${relative(ROOT, ENTRY)} + ${relative(ROOT, job.addon)} (${mb(statSync(job.addon).size)} MB) -> ${relative(ROOT, job.outfile)}`,
  );
  const hits = new Set<string>();
  const result = await Bun.build({
    entrypoints: [ENTRY, ...WORKERS],
    target: "bun",
    // JSX goes through @kitajs/html as tsconfig.json says, whatever directory the build runs from.
    tsconfig: join(ROOT, "tsconfig.json"),
    format: "esm",
    // Whitespace and syntax only: Elysia reads handler sources to see which context fields they use, and renamed
    // identifiers would defeat that.
    minify: { whitespace: true, syntax: true, identifiers: false },
    // Precompiled bytecode rides along with the source: about 3 MB more, and the ready line comes in half the time.
    bytecode: true,
    define: { "process.env.NODE_ENV": JSON.stringify("production") },
    plugins: [embeddedAddon(job.addon, hits)],
    metafile: true,
    throw: false,
    compile: {
      outfile: job.outfile,
      ...(job.bunTarget ? { target: job.bunTarget as Bun.Build.CompileTarget } : {}),
      ...(job.runtime ? { executablePath: job.runtime } : {}),
      // The binary behaves the same from any directory: no .env or bunfig.toml from the cwd changes it.
      autoloadDotenv: false,
      autoloadBunfig: false,
    },
  });
  if (!result.success) {
    // One line per error, with its place in the source.
    const errors = result.logs.filter((l) => l.level === "error");
    if (errors.length === 0) throw new BuildError(`${job.label}: Bun.build failed without a message`);
    const lines = errors.map(({ message, position }) => {
      const where = position ? `${relative(ROOT, position.file)}:${position.line}:${position.column}: ` : "";
      return `${job.label}: ${where}${message.split("\n")[0]}`;
    });
    throw new BuildError(lines.join("\nbuild failed: "));
  }
  if (hits.size === 0) {
    throw new BuildError("node-datachannel's addon loader was not bundled; the plugin's path filter no longer matches it");
  }
  const inputs = Object.keys(result.metafile?.inputs ?? {});
  if (!inputs.some((p) => p.endsWith(".node"))) throw new BuildError(`${job.label}: the native addon was not embedded in the binary`);
  if (!inputs.some((p) => p.includes("webrtc/self-check"))) throw new BuildError("src/transport/webrtc/self-check.ts (for --self-test) was not bundled");
  if (job.bunTarget?.startsWith("bun-darwin")) {
    // Bun 1.4.5 leaves darwin-x64 output with the runtime's stale signature, which macOS refuses; its arm64 one is
    // right, and signing it again gives the same bytes.
    writeFileSync(job.outfile, adhocSign(readFileSync(job.outfile)));
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`build: ${job.label}: wrote ${relative(ROOT, job.outfile)}: ${mb(statSync(job.outfile).size)} MB in ${seconds} s (${inputs.length} modules)`);
}

/** `sha256sum -c` reads this: one line per release binary in dist/ (built now or before), `<hex>  <name>`. */
function writeChecksums(): string {
  const files = TARGETS.map((t) => join(DIST, t.fileName)).filter((f) => existsSync(f));
  const lines = files.map((f) => `${createHash("sha256").update(readFileSync(f)).digest("hex")}  ${basename(f)}\n`);
  const out = join(DIST, "SHA256SUMS");
  writeFileSync(out, lines.join(""));
  return out;
}

/** The targets `--target` names: `all`, or ids separated by commas. */
function parseTargets(value: string): Target[] {
  if (value === "all") return [...TARGETS];
  const ids = value.split(",").map((s) => s.trim()).filter(Boolean);
  const unknown = ids.filter((id) => !isTargetId(id));
  if (ids.length === 0 || unknown.length > 0) {
    throw new BuildError(`unknown target ${JSON.stringify(unknown[0] ?? value)}; use all or any of ${TARGETS.map((t) => t.id).join(", ")}`);
  }
  return TARGETS.filter((t) => ids.includes(t.id));
}

const USAGE = `Usage: bun run build [--target all | --target ID[,ID...]]

Without --target: this machine's binary, dist/e-goat.
With --target: one binary per target under dist/, and dist/SHA256SUMS. Targets: ${TARGETS.map((t) => t.id).join(", ")}.`;

async function main(argv: string[]) {
  const { values } = parseArgs({ args: argv, options: { target: { type: "string" }, help: { type: "boolean" } }, strict: true });
  if (values.help) return void console.log(USAGE);
  mkdirSync(DIST, { recursive: true });
  if (values.target === undefined) return compile(hostJob());

  const started = performance.now();
  const targets = parseTargets(values.target);
  const jobs = targets.map(jobFor);
  for (const job of jobs) await compile(job);
  const sums = writeChecksums();
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`build: ${jobs.length} target${jobs.length === 1 ? "" : "s"} in ${seconds} s; checksums of dist/ in ${relative(ROOT, sums)}`);
}

try {
  await main(process.argv.slice(2));
} catch (err) {
  const message = err instanceof BuildError ? err.message : err instanceof Error ? err.message.split("\n")[0] : String(err);
  console.error(`build failed: ${message}`);
  process.exit(1);
}
