// A 1 GiB file moves from A to B with neither instance's memory growing by more than 100 MB: uploads, transfers and
// downloads go a chunk at a time.
import { afterAll, expect, it } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { downloadHash, fetchEverything, randomFile, upload, waitForWhole } from "../../helpers/files.ts";
import { startInstance, tempDir, type Instance } from "../../helpers/instance.ts";
import { waitForLink } from "../../helpers/mesh.ts";

const dir = tempDir("e-goat-file-memory-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Resident memory of the instance's process, in bytes. */
function rss(instance: Instance): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${instance.proc.pid}/status`, "utf8"))?.[1];
  return Number(kb) * 1024;
}

it.skipIf(process.platform !== "linux")(
  "a 1 GiB file moves with each instance's RSS growing by less than 100 MB",
  async () => {
    const GiB = 1024 ** 3;
    const source = await randomFile(dir, GiB, "gig.bin");
    await using a = await startInstance({ args: ["--transports", "websocket", "--room", "gig", "--name", "alpha"] });
    await using b = await startInstance({ args: ["--transports", "websocket", "--room", "gig", "--name", "beta", "--peer", a.http] });
    await waitForLink(b, a);
    await fetchEverything(b);
    const base = { a: rss(a), b: rss(b) };
    const peak = { ...base };
    // The peaks of each phase too, to tell where memory went.
    const phases: Record<string, { a: number; b: number }> = {};
    let phase = "upload";
    const sampler = setInterval(() => {
      const now = { a: rss(a), b: rss(b) };
      peak.a = Math.max(peak.a, now.a);
      peak.b = Math.max(peak.b, now.b);
      const p = (phases[phase] ??= { a: 0, b: 0 });
      p.a = Math.max(p.a, now.a);
      p.b = Math.max(p.b, now.b);
    }, 50);
    try {
      const started = performance.now();
      const { file } = await upload(a, "gig", source.path, { name: "gig.bin" });
      const uploaded = performance.now();
      phase = "transfer";
      await waitForWhole(b, "gig", file.id, 300_000);
      const moved = performance.now();
      phase = "download";
      expect(await downloadHash(b, file.id)).toBe(source.sha256);
      const MB = (n: number) => (n / 1e6).toFixed(0);
      console.log(
        `1 GiB: upload ${((uploaded - started) / 1000).toFixed(1)} s, A→B ${((moved - uploaded) / 1000).toFixed(1)} s; ` +
          `RSS A ${MB(base.a)} → peak ${MB(peak.a)} MB, B ${MB(base.b)} → peak ${MB(peak.b)} MB; peaks A/B by phase: ` +
          Object.entries(phases)
            .map(([name, p]) => `${name} ${MB(p.a)}/${MB(p.b)}`)
            .join(", "),
      );
      expect(peak.a - base.a).toBeLessThan(100e6);
      expect(peak.b - base.b).toBeLessThan(100e6);
    } finally {
      clearInterval(sampler);
    }
  },
  400_000,
);
