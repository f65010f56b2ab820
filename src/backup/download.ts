/**
 * A backup made for the page's download: `e-goat backup` run as a process of its own (this very program), so the copy
 * and the key derivation (scrypt takes a second of CPU) never stall the instance's event loop. The passphrase goes in a
 * file only this user may read, in a directory of its own, removed with the backup once it is sent.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A backup made: where it is, its size, and what removes it. */
export interface MadeBackup {
  path: string;
  bytes: number;
  remove(): void;
}

/** Runs `command backup` (from `cwd`) on the database `db`; rejects with the command's own words when it fails. */
export async function makeBackup(command: { argv: string[]; cwd?: string }, db: string, passphrase?: string): Promise<MadeBackup> {
  const dir = mkdtempSync(join(tmpdir(), "e-goat-backup-"));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  try {
    const out = join(dir, "backup");
    const args = ["backup", "--db", db, "--out", out];
    if (passphrase !== undefined) {
      writeFileSync(join(dir, "passphrase"), `${passphrase}\n`, { mode: 0o600 });
      args.push("--passphrase-file", join(dir, "passphrase"));
    }
    const proc = Bun.spawn([...command.argv, ...args], { cwd: command.cwd, stdin: "ignore", stdout: "ignore", stderr: "pipe" });
    const [errors, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
    rmSync(join(dir, "passphrase"), { force: true });
    if (code !== 0) throw new Error(errors.trim().replace(/^e-goat: /, "") || `the backup stopped with code ${code}`);
    return { path: out, bytes: statSync(out).size, remove };
  } catch (error) {
    remove();
    throw error;
  }
}
