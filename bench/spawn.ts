import { join } from "node:path";

export const ROOT = join(import.meta.dir, "..");
/** Flags for instances the benches start: loopback only, any free ports. */
export const LOOPBACK = ["--host", "127.0.0.1", "--http-port", "0", "--ws-port", "0", "--stun", "none", "--lan-addr", "127.255.255.255"];

/** Starts a server process (in `cwd`, the repository by default) and resolves its base URLs from the ready line it prints. */
export async function spawnServer(cmd: string[], cwd = ROOT): Promise<{ url: string; ws: string | null; stop: () => Promise<void> }> {
  const proc = Bun.spawn(cmd, { cwd, stdout: "pipe", stderr: "inherit", stdin: "ignore" });
  let out = "";
  const reader = proc.stdout.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`server exited before ready: ${out}`);
    out += new TextDecoder().decode(value);
    const m = /ready http=(\S+)(?: ws=(\S+))?/.exec(out);
    if (m) {
      // Keep draining stdout so the server never blocks on a full pipe.
      (async () => {
        while (!(await reader.read()).done);
      })();
      return {
        url: m[1]!,
        ws: m[2] ?? null,
        stop: async () => {
          proc.kill();
          await proc.exited;
        },
      };
    }
  }
}
