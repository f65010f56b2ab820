/**
 * `bun run build`: compiles src/app.ts into the single binary dist/e-goat.
 *
 * The binary runs from any directory with no Bun and no node_modules. The one part the bundler cannot see on its own
 * is node-datachannel's native addon: the library picks it at run time with `require(packageName)`. The plugin below
 * replaces that loader module with a static import of the `.node` file for this platform, which `compile` embeds.
 */
import type { BunPlugin } from "bun";
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";

const ROOT = join(import.meta.dir, "..");
const ENTRY = join(ROOT, "src/app.ts");
const OUTFILE = join(ROOT, "dist/e-goat");

class BuildError extends Error {}

/** The `@node-datachannel/*` package that carries the addon for the platform this build runs on (and targets). */
function addonPackageName(): string {
  const { platform, arch } = process;
  const supported = `${platform}-${arch}`;
  if (platform === "linux") {
    // Node and Bun report the glibc version they run on; a musl build reports none.
    const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
    const libc = header?.glibcVersionRuntime ? "gnu" : "musl";
    if (arch === "x64" || arch === "arm64") return `@node-datachannel/linux-${arch}-${libc}`;
  } else if (platform === "darwin") {
    if (arch === "x64" || arch === "arm64") return `@node-datachannel/darwin-${arch}`;
  } else if (platform === "win32") {
    if (arch === "x64" || arch === "arm64") return `@node-datachannel/win32-${arch}-msvc`;
  }
  throw new BuildError(`node-datachannel has no prebuilt addon for ${supported}`);
}

/** Absolute path of this platform's node_datachannel.node, resolved the way node-datachannel itself would. */
function findAddon(): string {
  const pkg = addonPackageName();
  let lib: string;
  try {
    lib = dirname(Bun.resolveSync("node-datachannel/package.json", ROOT));
  } catch {
    throw new BuildError("node-datachannel is not installed; run `bun install`");
  }
  let pkgJson: string;
  try {
    pkgJson = Bun.resolveSync(`${pkg}/package.json`, lib);
  } catch {
    throw new BuildError(`${pkg} (node-datachannel's native addon for this platform) is not installed; run \`bun install\` without --omit=optional`);
  }
  const main = (JSON.parse(readFileSync(pkgJson, "utf8")) as { main?: string }).main ?? "node_datachannel.node";
  const addon = join(dirname(pkgJson), main);
  if (!addon.endsWith(".node") || !existsSync(addon)) throw new BuildError(`${pkg} has no native addon at ${addon}`);
  return addon;
}

/**
 * Replaces node-datachannel's addon loader (ESM and CJS builds) with a static import of `addon`.
 * The original ESM module's only export is `default` (the addon's exports); the CJS one sets `exports.default`.
 */
function nodeDataChannelAddon(addon: string, hits: Set<string>): BunPlugin {
  const spec = JSON.stringify(addon);
  return {
    name: "node-datachannel-addon",
    setup(build) {
      build.onLoad({ filter: /[\\/]node-datachannel[\\/]dist[\\/]esm[\\/]lib[\\/]node-datachannel\.mjs$/ }, (args) => {
        hits.add(args.path);
        return { loader: "js", contents: `import nodeDataChannel from ${spec};\nexport { nodeDataChannel as default };\n` };
      });
      build.onLoad({ filter: /[\\/]node-datachannel[\\/]dist[\\/]cjs[\\/]lib[\\/]node-datachannel\.cjs$/ }, (args) => {
        hits.add(args.path);
        return {
          loader: "js",
          contents: `"use strict";\nObject.defineProperty(exports, "__esModule", { value: true });\nexports.default = require(${spec});\n`,
        };
      });
    },
  };
}

function mb(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(1);
}

async function main() {
  const started = performance.now();
  const addon = findAddon();
  console.log(`build: native addon ${relative(ROOT, addon)} (${mb(statSync(addon).size)} MB)`);
  console.log(`build: compiling ${relative(ROOT, ENTRY)} -> ${relative(ROOT, OUTFILE)} (bun ${Bun.version}, ${process.platform}-${process.arch})`);
  mkdirSync(dirname(OUTFILE), { recursive: true });

  const hits = new Set<string>();
  const result = await Bun.build({
    entrypoints: [ENTRY],
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
    plugins: [nodeDataChannelAddon(addon, hits)],
    metafile: true,
    throw: false,
    compile: {
      outfile: OUTFILE,
      // The binary behaves the same from any directory: no .env or bunfig.toml from the cwd changes it.
      autoloadDotenv: false,
      autoloadBunfig: false,
    },
  });
  if (!result.success) {
    // One line per error, with its place in the source.
    const errors = result.logs.filter((l) => l.level === "error");
    if (errors.length === 0) throw new BuildError("Bun.build failed without a message");
    for (const { message, position } of errors) {
      const where = position ? `${relative(ROOT, position.file)}:${position.line}:${position.column}: ` : "";
      console.error(`build failed: ${where}${message.split("\n")[0]}`);
    }
    process.exit(1);
  }
  if (hits.size === 0) {
    throw new BuildError("node-datachannel's addon loader was not bundled; the plugin's path filter no longer matches it");
  }
  const inputs = Object.keys(result.metafile?.inputs ?? {});
  if (!inputs.some((p) => p.endsWith(".node"))) throw new BuildError("the native addon was not embedded in the binary");
  if (!inputs.some((p) => p.includes("webrtc/self-check"))) throw new BuildError("src/transport/webrtc/self-check.ts (for --self-test) was not bundled");

  const size = statSync(OUTFILE).size;
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`build: wrote ${relative(ROOT, OUTFILE)}: ${mb(size)} MB in ${seconds} s (${inputs.length} modules)`);
}

try {
  await main();
} catch (err) {
  const message = err instanceof BuildError ? err.message : err instanceof Error ? err.message.split("\n")[0] : String(err);
  console.error(`build failed: ${message}`);
  process.exit(1);
}
