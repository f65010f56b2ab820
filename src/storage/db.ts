import { Database } from "bun:sqlite";
import { MIGRATIONS } from "./schema.ts";

/** The database cannot be opened or is of an unknown schema; the message is for the user. */
export class StorageError extends Error {
  override name = "StorageError";
}

/** Opens (creating if missing) the SQLite file in WAL mode and migrates its schema forward. */
export function openDatabase(path: string): Database {
  let db: Database;
  try {
    db = new Database(path, { create: true, strict: true });
  } catch (err) {
    throw new StorageError(`cannot open database '${path}': ${(err as Error).message}`);
  }
  try {
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = NORMAL");
    db.exec("PRAGMA foreign_keys = ON");
    db.exec("PRAGMA busy_timeout = 5000");
    migrate(db);
  } catch (err) {
    db.close();
    if (err instanceof StorageError) throw err;
    throw new StorageError(`cannot use database '${path}': ${(err as Error).message}`);
  }
  return db;
}

export function schemaVersion(db: Database): number {
  return (db.query("PRAGMA user_version").get() as { user_version: number }).user_version;
}

/** Applies each migration after the file's `user_version` in one transaction apiece. */
export function migrate(db: Database, migrations: readonly string[] = MIGRATIONS): void {
  const current = schemaVersion(db);
  if (current > migrations.length) {
    throw new StorageError(`database schema is version ${current}, newer than this build knows (${migrations.length}); use a newer e-goat`);
  }
  for (let version = current + 1; version <= migrations.length; version++) {
    db.transaction(() => {
      db.exec(migrations[version - 1]!);
      db.exec(`PRAGMA user_version = ${version}`);
    })();
  }
}
