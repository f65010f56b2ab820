import type { Database, Statement } from "bun:sqlite";

/** The key the owner's file settings are kept under in the settings table, as JSON. */
const SETTINGS_KEY = "file_settings";

/**
 * The owner's say over files, kept in chat.db: the settings (what is fetched by itself, guests' quotas), the choice
 * made for a file (fetch it, or a fetch cancelled), and the guests' uploads of the last day that their quotas count.
 */
export class FileSettingsStore {
  readonly #get: Statement<{ value: string }>;
  readonly #set: Statement;
  readonly #choose: Statement;
  readonly #choice: Statement<{ wanted: number }>;
  readonly #record: Statement;
  readonly #prune: Statement;
  readonly #byGuest: Statement<{ bytes: number; first: number | null }>;
  readonly #byRoom: Statement<{ bytes: number; first: number | null }>;

  constructor(db: Database) {
    this.#get = db.query("SELECT value FROM settings WHERE key = ?");
    this.#set = db.query("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value");
    this.#choose = db.query("INSERT INTO file_choices (file, wanted) VALUES (?, ?) ON CONFLICT (file) DO UPDATE SET wanted = excluded.wanted");
    this.#choice = db.query("SELECT wanted FROM file_choices WHERE file = ?");
    this.#record = db.query("INSERT INTO guest_uploads (at, guest, room, bytes) VALUES (?, ?, ?, ?)");
    this.#prune = db.query("DELETE FROM guest_uploads WHERE at < ?");
    this.#byGuest = db.query("SELECT coalesce(sum(bytes), 0) AS bytes, min(at) AS first FROM guest_uploads WHERE guest = ? AND at >= ?");
    this.#byRoom = db.query("SELECT coalesce(sum(bytes), 0) AS bytes, min(at) AS first FROM guest_uploads WHERE room = ? AND at >= ?");
  }

  /** The settings as the owner left them (JSON as stored, for the caller to check), or null when never set. */
  settings(): unknown {
    try {
      return JSON.parse(this.#get.get(SETTINGS_KEY)?.value ?? "null");
    } catch {
      return null;
    }
  }

  /** Keeps the settings (checked by the caller). */
  update(settings: object): void {
    this.#set.run(SETTINGS_KEY, JSON.stringify(settings));
  }

  /** The owner's choice for a file: fetch it (true), or not (false), whatever the settings say. */
  choose(file: string, wanted: boolean): void {
    this.#choose.run(file, wanted ? 1 : 0);
  }

  /** The owner's choice for a file, or null when none was made. */
  choice(file: string): boolean | null {
    const row = this.#choice.get(file);
    return row ? row.wanted === 1 : null;
  }

  /** A guest's upload to `room` was stored and posted. */
  recordGuestUpload(guest: string, room: string, bytes: number, at = Date.now()): void {
    this.#record.run(at, guest, room, bytes);
  }

  /** What a guest uploaded since `since` (ms), and when the first of those uploads was. */
  guestUploads(guest: string, since: number): { bytes: number; first: number | null } {
    this.#prune.run(since);
    return this.#byGuest.get(guest, since) ?? { bytes: 0, first: null };
  }

  /** What all guests uploaded to `room` since `since` (ms), and when the first of those uploads was. */
  roomGuestUploads(room: string, since: number): { bytes: number; first: number | null } {
    return this.#byRoom.get(room, since) ?? { bytes: 0, first: null };
  }
}
