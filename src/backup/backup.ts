/**
 * `e-goat backup` and `e-goat restore`: a consistent copy of a database, also while its instance runs, written whole
 * or not at all (a temporary file renamed in place); encrypted with a passphrase in the age format (age-encryption:
 * scrypt, then ChaCha20-Poly1305 in 64 KiB chunks), or a plain SQLite file that any SQLite opens. A restore never
 * overwrites a database, and checks the copy (whole, an E-Goat database, a schema this build knows) before it becomes one.
 */
import { Decrypter, Encrypter } from "age-encryption";
import { existsSync, renameSync, rmSync, statSync } from "node:fs";
import { open } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { databaseProblem, snapshot } from "../storage/backup.ts";

/** A backup or restore that cannot be done: the message says why, for the person who asked. */
export class BackupError extends Error {
  override name = "BackupError";
}

const AGE_HEADER = "age-encryption.org/v1\n";
const SQLITE_HEADER = "SQLite format 3\0";

/** A file beside `path`, for what is being written until it is whole. */
const partial = (path: string) => `${path}.partial-${randomBytes(4).toString("hex")}`;

/** Writes a consistent copy of the database `db` to `out` (replacing it, once whole), encrypted when a passphrase is given. */
export async function backup({ db, out, passphrase }: { db: string; out: string; passphrase?: string }): Promise<{ bytes: number; encrypted: boolean }> {
  if (!existsSync(db)) throw new BackupError(`there is no database at '${db}'`);
  const plain = partial(out);
  const sealed = partial(out);
  try {
    try {
      snapshot(db, plain);
    } catch (error) {
      throw new BackupError(`cannot copy '${db}': ${(error as Error).message}`);
    }
    if (passphrase === undefined) {
      renameSync(plain, out);
      return { bytes: statSync(out).size, encrypted: false };
    }
    const encrypter = new Encrypter();
    encrypter.setPassphrase(passphrase);
    const stream = await encrypter.encrypt(Bun.file(plain).stream());
    await Bun.write(sealed, new Response(stream));
    renameSync(sealed, out);
    return { bytes: statSync(out).size, encrypted: true };
  } finally {
    rmSync(plain, { force: true });
    rmSync(sealed, { force: true });
  }
}

/** Turns the backup `input` into the database `db`, which must not exist yet; a passphrase opens an encrypted one. */
export async function restore({ input, db, passphrase }: { input: string; db: string; passphrase?: string }): Promise<{ encrypted: boolean }> {
  if (!existsSync(input)) throw new BackupError(`there is no backup at '${input}'`);
  for (const suffix of ["", "-wal", "-shm"]) {
    if (existsSync(`${db}${suffix}`)) throw new BackupError(`'${db}${suffix}' exists already; a restore never overwrites a database (move it away first)`);
  }
  const kind = await kindOf(input);
  if (kind === null) throw new BackupError(`'${input}' is not an E-Goat backup (neither an encrypted one nor a database)`);
  if (kind === "encrypted" && passphrase === undefined) throw new BackupError(`'${input}' is encrypted: give its passphrase with --passphrase-file`);
  const target = partial(db);
  try {
    if (kind === "plain") await Bun.write(target, Bun.file(input));
    else {
      const plain = await decrypted(input, passphrase!);
      // A chunk altered or cut short fails its tag as it is read.
      await Bun.write(target, new Response(plain)).catch((error: unknown) => {
        throw new BackupError(`'${input}' is damaged: ${(error as Error).message}`);
      });
    }
    const problem = databaseProblem(target);
    if (problem) throw new BackupError(`'${input}' cannot be restored: ${problem}`);
    renameSync(target, db);
    return { encrypted: kind === "encrypted" };
  } finally {
    rmSync(target, { force: true });
  }
}

/** The plaintext of the encrypted backup at `input`; a wrong passphrase is refused before anything is written. */
async function decrypted(input: string, passphrase: string): Promise<ReadableStream<Uint8Array>> {
  const decrypter = new Decrypter();
  decrypter.addPassphrase(passphrase);
  try {
    return await decrypter.decrypt(Bun.file(input).stream());
  } catch (error) {
    const message = (error as Error).message;
    if (/passphrase|no identity matched|incorrect|scrypt/i.test(message)) throw new BackupError(`wrong passphrase for '${input}'`);
    throw new BackupError(`'${input}' cannot be decrypted: ${message}`);
  }
}

/** What the file at `path` starts as: an age file, a SQLite database, or neither. */
async function kindOf(path: string): Promise<"encrypted" | "plain" | null> {
  const file = await open(path, "r");
  try {
    const head = Buffer.alloc(AGE_HEADER.length);
    const { bytesRead } = await file.read(head, 0, head.length, 0);
    const text = head.subarray(0, bytesRead).toString("latin1");
    if (text === AGE_HEADER) return "encrypted";
    if (text.startsWith(SQLITE_HEADER)) return "plain";
    return null;
  } finally {
    await file.close();
  }
}
