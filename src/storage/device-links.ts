import type { Database, Statement } from "bun:sqlite";
import { createHash, randomBytes } from "node:crypto";

/** How long a device link may be used. */
export const DEVICE_LINK_MS = 10 * 60_000;
/** Links kept unused at once: an older one goes when a new one passes this. */
const MAX_OPEN_LINKS = 16;

/** Why a device link was not taken, in the words the new device shows. */
export type LinkRefusal = "unknown" | "used" | "expired";

/**
 * One-time links that make a new instance another device of this person (issue 25): a random 128-bit token, kept only
 * as its hash, usable once within DEVICE_LINK_MS. Taking one is atomic: two devices with the same link, one wins.
 */
export class DeviceLinks {
  readonly #add: Statement;
  readonly #prune: Statement;
  readonly #take: Statement<{ expires: number; used: number | null }>;
  readonly #use: Statement<{ hash: string }>;

  constructor(private readonly db: Database) {
    this.#add = db.query("INSERT INTO device_links (hash, expires) VALUES (?, ?)");
    this.#prune = db.query(
      `DELETE FROM device_links WHERE expires < ? OR hash IN (SELECT hash FROM device_links WHERE used IS NULL ORDER BY expires DESC LIMIT -1 OFFSET ${MAX_OPEN_LINKS})`,
    );
    this.#take = db.query("SELECT expires, used FROM device_links WHERE hash = ?");
    this.#use = db.query("UPDATE device_links SET used = ? WHERE hash = ? AND used IS NULL RETURNING hash");
  }

  /** A new link's token (base64url, 22 characters), usable once until `now + DEVICE_LINK_MS`. */
  issue(now = Date.now()): { token: string; expires: number } {
    const token = randomBytes(16).toString("base64url");
    const expires = now + DEVICE_LINK_MS;
    this.db.transaction(() => {
      this.#add.run(hashOf(token), expires);
      // Used links are kept until they expire, so a second use is told "used", not "unknown".
      this.#prune.run(now - DEVICE_LINK_MS);
    })();
    return { token, expires };
  }

  /** Takes the link: null when it is taken now (and never again), else why not. */
  take(token: string, now = Date.now()): LinkRefusal | null {
    const hash = hashOf(token);
    const row = this.#take.get(hash);
    if (!row) return "unknown";
    if (row.used !== null) return "used";
    if (row.expires < now) return "expired";
    return this.#use.get(now, hash) ? null : "used";
  }
}

const hashOf = (token: string) => createHash("sha256").update(token).digest("base64url");
