/**
 * Issue 25: `e-goat backup` while the instance writes 1000 messages a second gives a copy that restores, as the same
 * instance, with every message stored before the backup started; encrypted, it holds no text in clear, and a wrong
 * passphrase is one clear line. A restore never overwrites a database.
 */
import { describe, expect, it } from "bun:test";
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { history } from "../../helpers/mesh.ts";
import { startInstance, tempDir } from "../../helpers/instance.ts";

const ROOT = join(import.meta.dir, "..", "..", "..");

/** Runs `e-goat ARGS` from source; answers its exit code and what it printed. */
async function eGoat(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const proc = Bun.spawn([process.execPath, "run", join(ROOT, "src/main.ts"), ...args], { cwd: ROOT, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, out, err };
}

describe("backup and restore", () => {
  it("copies a database while its instance writes 1000 messages a second: the copy restores as the same instance, with all that came before", async () => {
    const dir = tempDir();
    const pass = join(dir, "pass");
    writeFileSync(pass, "correct horse battery staple\n");
    await using alice = await startInstance({ args: ["--transports", "websocket", "--name", "alice"] });
    // Writing at 1000 a second, 10 at a time every 10 ms, until told to stop.
    let writing = true;
    let sent = 0;
    const writer = (async () => {
      while (writing) {
        const tick = Bun.sleep(10);
        await Promise.all(
          Array.from({ length: 10 }, () =>
            fetch(`${alice.http}/send`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ room: "busy", text: `busy line ${sent++}` }) }),
          ),
        );
        await tick;
      }
    })();
    await Bun.sleep(1500);
    // What is stored when the backup starts must all be in it.
    const before = await history(alice, "busy");
    const backup = join(dir, "alice.backup");
    const made = await eGoat(["backup", "--db", alice.db, "--out", backup, "--passphrase-file", pass]);
    await Bun.sleep(500);
    writing = false;
    await writer;
    expect(made.err).toBe("");
    expect(made.code).toBe(0);
    expect(made.out).toContain("encrypted");
    expect(before.length).toBeGreaterThan(1000);
    const bytes = readFileSync(backup);
    expect(bytes.includes("busy line")).toBe(false);
    expect(bytes.subarray(0, 21).toString()).toBe("age-encryption.org/v1");

    // Wrong passphrase, no passphrase, an existing database: one clear line each, exit 1, nothing written.
    const restored = join(dir, "restored.db");
    writeFileSync(join(dir, "wrong"), "correct horse battery stapler\n");
    const wrong = await eGoat(["restore", "--in", backup, "--db", restored, "--passphrase-file", join(dir, "wrong")]);
    expect(wrong.code).toBe(1);
    expect(wrong.err.trim()).toBe(`e-goat: wrong passphrase for '${backup}'`);
    const none = await eGoat(["restore", "--in", backup, "--db", restored]);
    expect(none.code).toBe(1);
    expect(none.err).toContain("is encrypted: give its passphrase with --passphrase-file");
    expect(existsSync(restored)).toBe(false);
    const over = await eGoat(["restore", "--in", backup, "--db", alice.db, "--passphrase-file", pass]);
    expect(over.code).toBe(1);
    expect(over.err).toContain("a restore never overwrites a database");

    const done = await eGoat(["restore", "--in", backup, "--db", restored, "--passphrase-file", pass]);
    expect(done.err).toBe("");
    expect(done.code).toBe(0);
    await alice.stop();
    await using again = await startInstance({ db: restored, args: ["--transports", "websocket"] });
    expect(again.nodeId).toBe(alice.nodeId);
    const held = new Set((await history(again, "busy")).map((m) => m.id));
    const missing = before.filter((m) => !held.has(m.id));
    expect(missing).toEqual([]);
    console.log(`backup of ${before.length}+ messages (of ${sent} sent at 1000/s): ${bytes.length} bytes; ${made.out.trim()}`);
  }, 60_000);

  it("offers the same as a download in the owner's page: encrypted with a passphrase, else the database itself", async () => {
    const dir = tempDir();
    await using alice = await startInstance({ args: ["--transports", "websocket", "--name", "alice"] });
    await fetch(`${alice.http}/send`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ room: "kept", text: "worth keeping" }) });
    expect(await (await fetch(`${alice.http}/`)).text()).toContain('action="/backup"');
    const form = (fields: Record<string, string>) => ({ method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(fields).toString() });
    const sealed = await fetch(`${alice.http}/backup`, form({ passphrase: "a long enough passphrase" }));
    expect(sealed.status).toBe(200);
    expect(sealed.headers.get("content-disposition")).toMatch(/^attachment; filename="e-goat-[0-9a-f]{8}-\d{4}-\d{2}-\d{2}\.age"$/);
    const bytes = new Uint8Array(await sealed.arrayBuffer());
    expect(Buffer.from(bytes.subarray(0, 21)).toString()).toBe("age-encryption.org/v1");
    expect(Buffer.from(bytes).includes("worth keeping")).toBe(false);
    writeFileSync(join(dir, "download.age"), bytes);
    writeFileSync(join(dir, "pass"), "a long enough passphrase");
    expect((await eGoat(["restore", "--in", join(dir, "download.age"), "--db", join(dir, "back.db"), "--passphrase-file", join(dir, "pass")])).code).toBe(0);
    const plain = await fetch(`${alice.http}/backup`, form({ passphrase: "" }));
    expect(plain.status).toBe(200);
    expect(plain.headers.get("content-disposition")).toEndWith('.db"');
    expect(Buffer.from(await plain.arrayBuffer()).subarray(0, 15).toString()).toBe("SQLite format 3");
    expect((await fetch(`${alice.http}/backup`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })).status).toBe(415);
    await alice.stop();
    await using back = await startInstance({ db: join(dir, "back.db"), args: ["--transports", "websocket"] });
    expect(back.nodeId).toBe(alice.nodeId);
    expect((await history(back, "kept")).map((m) => m.text)).toEqual(["worth keeping"]);
  }, 60_000);

  it("says what is wrong with a command line, on one line, with exit 2", async () => {
    const dir = tempDir();
    for (const [args, words] of [
      [["backup", "--db", join(dir, "a.db")], "--out is needed"],
      [["restore", "--db", join(dir, "a.db")], "--in is needed"],
      [["backup", "--db", join(dir, "a.db"), "--out", join(dir, "b"), "--colour"], "--colour"],
      [["backup", "--db", join(dir, "a.db"), "--out", join(dir, "b"), "--passphrase-file", join(dir, "nope")], "--passphrase-file: cannot read"],
    ] as const) {
      const r = await eGoat([...args]);
      expect(r.code).toBe(2);
      expect(r.err.trim().split("\n")).toHaveLength(1);
      expect(r.err).toContain(words);
    }
    const missing = await eGoat(["backup", "--db", join(dir, "none.db"), "--out", join(dir, "b")]);
    expect(missing.code).toBe(1);
    expect(missing.err.trim()).toBe(`e-goat: there is no database at '${join(dir, "none.db")}'`);
    writeFileSync(join(dir, "notes.txt"), "not a backup");
    const junk = await eGoat(["restore", "--in", join(dir, "notes.txt"), "--db", join(dir, "c.db")]);
    expect(junk.code).toBe(1);
    expect(junk.err).toContain("is not an E-Goat backup");
  }, 30_000);
});
