/**
 * Copies of a database: a consistent one taken while its instance runs (SQLite's `VACUUM INTO` reads one snapshot
 * of it, whatever is written meanwhile, and writes a compact file), and the check a copy passes before it becomes a
 * database again.
 */
import { Database } from "bun:sqlite";
import { MIGRATIONS } from "./schema.ts";

/** Copies the database at `db` into the new file `out`, consistent as of one moment, also while an instance writes to it. */
export function snapshot(db: string, out: string): void {
  const source = new Database(db, { readonly: true, strict: true });
  try {
    source.exec("PRAGMA busy_timeout = 5000");
    if (!holdsIdentity(source)) throw new Error(`'${db}' is not an E-Goat database (it holds no identity)`);
    source.query("VACUUM INTO ?").run(out);
  } finally {
    source.close();
  }
}

/** Why the file at `path` cannot be an E-Goat database for this build, or null when it can. */
export function databaseProblem(path: string): string | null {
  let db: Database;
  try {
    db = new Database(path, { readonly: true, strict: true });
  } catch (error) {
    return `it cannot be opened as a database (${(error as Error).message})`;
  }
  try {
    const check = db.query<{ quick_check: string }, []>("PRAGMA quick_check").get();
    if (check?.quick_check !== "ok") return `it is damaged (${check?.quick_check ?? "no answer"})`;
    const version = db.query<{ user_version: number }, []>("PRAGMA user_version").get()!.user_version;
    if (version > MIGRATIONS.length) return `it is of a newer schema (${version}) than this build knows (${MIGRATIONS.length}); use a newer e-goat`;
    if (!holdsIdentity(db)) return "it is not an E-Goat database (it holds no identity)";
    return null;
  } catch (error) {
    return `it is not an E-Goat database (${(error as Error).message})`;
  } finally {
    db.close();
  }
}

function holdsIdentity(db: Database): boolean {
  try {
    return db.query("SELECT 1 FROM identity WHERE key = 'private_key'").get() !== null;
  } catch {
    return false;
  }
}
