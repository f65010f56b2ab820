// Packet captures for tests: tcpdump on one interface (of a test host's namespace, or the machine's loopback),
// written to a file the test reads back as raw bytes and as tcpdump's one-line summaries.
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "./instance.ts";

/** Why captures cannot run here, or null when they can. */
export function captureUnavailable(): string | null {
  if (process.getuid?.() !== 0) return "packet captures need root";
  if (!Bun.which("tcpdump")) return "packet captures need tcpdump (apt-get install tcpdump)";
  return null;
}

export interface Capture {
  /** Stops capturing; resolves with every captured byte and one summary line per packet. */
  stop(): Promise<{ bytes: Buffer; packets: string[] }>;
}

/** Starts tcpdump on `iface` (inside namespace `ns` when given), with a capture `filter`; resolves once it listens. */
export async function startCapture(iface: string, opts: { ns?: string; filter?: string[] } = {}): Promise<Capture> {
  const dir = tempDir("e-goat-capture-");
  const file = join(dir, "capture.pcap");
  const prefix = opts.ns ? ["ip", "netns", "exec", opts.ns] : [];
  const proc = Bun.spawn([...prefix, "tcpdump", "-i", iface, "-Z", "root", "-s", "0", "-U", "--immediate-mode", "-n", "-w", file, ...(opts.filter ?? [])], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  let err = "";
  const listening = Promise.withResolvers<void>();
  (async () => {
    for await (const chunk of proc.stderr) {
      err += new TextDecoder().decode(chunk);
      if (err.includes("listening on")) listening.resolve();
    }
  })();
  proc.exited.then((code) => listening.reject(new Error(`tcpdump exited with ${code}: ${err}`)));
  const timer = setTimeout(() => listening.reject(new Error(`tcpdump did not start within 5 s: ${err}`)), 5000);
  try {
    await listening.promise;
  } catch (error) {
    proc.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return {
    async stop() {
      proc.kill("SIGINT");
      await proc.exited;
      const bytes = readFileSync(file);
      const read = Bun.spawnSync(["tcpdump", "-r", file, "-n"], { stdout: "pipe", stderr: "pipe" });
      rmSync(dir, { recursive: true, force: true });
      return { bytes, packets: read.stdout.toString().split("\n").filter(Boolean) };
    },
  };
}
