import type { Database, Statement } from "bun:sqlite";
import type { PersonKey } from "../domain/persons.ts";
import { keepPerson, type Identity } from "./identity.ts";

/**
 * The person this instance is a device of, as kept in the identity table: its key can be replaced (brought back from
 * a recovery phrase), and when its recovery phrase was shown is kept (it is shown once).
 */
export class PersonStore {
  readonly #put: Statement;
  readonly #get: Statement<{ value: Uint8Array }>;

  constructor(
    private readonly db: Database,
    private readonly identity: Identity,
  ) {
    this.#put = db.query("INSERT INTO identity (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value");
    this.#get = db.query("SELECT value FROM identity WHERE key = ?");
  }

  /** When the recovery phrase was shown, ms; null when never. */
  shownAt(): number | null {
    const row = this.#get.get("phrase_shown");
    return row ? Number(Buffer.from(row.value).toString()) : null;
  }

  markShown(now = Date.now()): void {
    this.#put.run("phrase_shown", Buffer.from(String(now)));
  }

  /** Makes this instance a device of `person` from now on: its key and a certificate of this device, kept and in use at once. */
  replace(person: PersonKey, now = Date.now()): void {
    this.identity.cert = keepPerson(this.db, person, this.identity.nodeId, now);
    this.identity.person = person;
  }
}
