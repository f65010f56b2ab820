import { describe, expect, it } from "bun:test";
import { join } from "node:path";
import { SAFE_FLAGS, startInstance, tempDir } from "../helpers/instance.ts";

const APP = join(import.meta.dir, "../..", "src", "main.ts");

async function run(args: string[]) {
  const proc = Bun.spawn([process.execPath, "run", APP, ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { stdout, stderr, code };
}

describe("command line", () => {
  it("--help prints the flags and exits 0", async () => {
    const { stdout, code } = await run(["--help"]);
    expect(code).toBe(0);
    expect(stdout).toContain("--http-port");
    expect(stdout).toContain("--transports");
  });

  it("--version prints the version and exits 0", async () => {
    const { stdout, code } = await run(["--version"]);
    expect(code).toBe(0);
    expect(stdout.trim()).toMatch(/^e-goat \d+\.\d+\.\d+$/);
  });

  it("a bad value prints one line naming the flag and exits 2", async () => {
    const { stderr, code } = await run(["--http-port", "eighty"]);
    expect(code).toBe(2);
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stderr).toContain("--http-port");
  });

  it("a busy port is reported as such with exit 1", async () => {
    await using first = await startInstance();
    const port = new URL(first.http).port;
    const { stderr, code } = await run([...SAFE_FLAGS, "--db", join(tempDir(), "x.db"), "--http-port", port]);
    expect(code).toBe(1);
    expect(stderr).toContain(`--http-port ${port} is already in use`);
  });

  it("a busy WebSocket port is reported as such with exit 1", async () => {
    await using first = await startInstance();
    const port = new URL(first.ws).port;
    const { stderr, code } = await run([...SAFE_FLAGS, "--db", join(tempDir(), "x.db"), "--ws-port", port]);
    expect(code).toBe(1);
    expect(stderr).toContain(`--ws-port ${port} is already in use`);
  });

  it("a database it cannot open is one clear line with exit 1", async () => {
    const { stderr, code } = await run([...SAFE_FLAGS, "--db", "/nonexistent-dir/sub/chat.db"]);
    expect(code).toBe(1);
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stderr).toContain("cannot open database");
  });

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    it(`${signal} shuts down cleanly with exit 0`, async () => {
      const instance = await startInstance();
      expect((await fetch(`${instance.http}/healthz`)).status).toBe(200);
      expect(await instance.stop(signal)).toBe(0);
    });
  }

  it("prints exactly one ready line", async () => {
    await using instance = await startInstance();
    expect(instance.output().match(/^e-goat ready /gm)).toHaveLength(1);
    expect(instance.output()).toMatch(/^e-goat ready http=http:\/\/127\.0\.0\.1:\d+ ws=ws:\/\/127\.0\.0\.1:\d+ node=[0-9a-f]{32}$/m);
  });

  it("keeps its node id, rooms and messages across a restart on the same database", async () => {
    const db = join(tempDir(), "chat.db");
    const first = await startInstance({ db, args: ["--room", "kept"] });
    const res = await fetch(`${first.http}/send`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"room":"notes","text":"remember me"}' });
    expect(res.status).toBe(200);
    expect(await first.stop()).toBe(0);
    await using second = await startInstance({ db });
    expect(second.nodeId).toBe(first.nodeId);
    const history = (await (await fetch(`${second.http}/history?room=notes`)).json()) as { text: string }[];
    expect(history.map((m) => m.text)).toEqual(["remember me"]);
    const page = await (await fetch(`${second.http}/`)).text();
    expect(page).toContain(">kept<");
    expect(page).toContain(">notes<");
  });
});
