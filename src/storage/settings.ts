import type { Database, Statement } from "bun:sqlite";

/** The owner's settings, kept in chat.db so they outlive the page and the process: the display name, for now. */
export class SettingsStore {
  readonly #get: Statement<{ value: string }>;
  readonly #set: Statement;

  constructor(db: Database) {
    this.#get = db.query("SELECT value FROM settings WHERE key = ?");
    this.#set = db.query("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value");
  }

  get(key: string): string | undefined {
    return this.#get.get(key)?.value;
  }

  set(key: string, value: string): void {
    this.#set.run(key, value);
  }
}
