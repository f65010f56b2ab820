/**
 * Issue 24: a mailbox's flags. A size or a number of days it cannot use stops the instance before it starts, with
 * one line on stderr naming the flag and exit 2 (the contract's rule for every bad value).
 */
import { describe, expect, it } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { SAFE_FLAGS, tempDir } from "../../helpers/instance.ts";

const APP = join(import.meta.dir, "../../..", "src", "main.ts");

/** Runs the app with `args`; one that starts anyway (it should not) is stopped after `ms` and shows as exit null. */
async function run(args: string[], ms = 15_000) {
  const dir = tempDir();
  const proc = Bun.spawn([process.execPath, "run", APP, ...SAFE_FLAGS, "--db", join(dir, "chat.db"), ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), ms);
  try {
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    return { stdout, stderr, code: proc.signalCode ? null : code };
  } finally {
    clearTimeout(timer);
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("a mailbox's flags", () => {
  it.each([
    ["--mailbox-size", "0"],
    ["--mailbox-size", "lots"],
    ["--mailbox-days", "0"],
    ["--mailbox-days", "9999"],
    ["--mailbox-days", "x"],
  ])("%s %s prints one line naming the flag and exits 2", async (flag, value) => {
    const { stdout, stderr, code } = await run(["--transports", "websocket", "--mailbox", flag, value]);
    expect(code).toBe(2);
    expect(stdout).not.toContain("e-goat ready");
    const lines = stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(flag);
    expect(lines[0]).toContain(value);
  }, 30_000);

  it("takes sizes and days within range, and serves GET /mailbox with them", async () => {
    const dir = tempDir();
    const proc = Bun.spawn([process.execPath, "run", APP, ...SAFE_FLAGS, "--db", join(dir, "chat.db"), "--transports", "websocket", "--mailbox", "--mailbox-size", "3MiB", "--mailbox-days", "3650"], {
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    try {
      let out = "";
      const decoder = new TextDecoder();
      for await (const chunk of proc.stdout) {
        out += decoder.decode(chunk, { stream: true });
        if (/^e-goat ready http=\S+/m.test(out)) break;
      }
      const http = /^e-goat ready http=(\S+)/m.exec(out)?.[1];
      expect(http).toBeDefined();
      const stats = (await (await fetch(`${http}/mailbox`)).json()) as { max_bytes: number };
      expect(stats.max_bytes).toBe(3 * 1024 * 1024);
    } finally {
      proc.kill("SIGTERM");
      await proc.exited;
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);

  // Found while writing these: the values were parsed only with --mailbox, so a bad one was taken silently.
  it("a bad --mailbox-size or --mailbox-days without --mailbox exits 2 too", async () => {
    for (const [flag, value] of [["--mailbox-size", "lots"], ["--mailbox-days", "x"]] as const) {
      const { stderr, code } = await run(["--transports", "websocket", flag, value], 8000);
      expect(code).toBe(2);
      expect(stderr).toContain(flag);
    }
  }, 30_000);
});
