/**
 * The person this instance is a device of (issue 25): its id, its recovery phrase (shown once: written down, it brings
 * the person back on a new device), and bringing a person back from such a phrase onto a device that has written
 * nothing yet (else its messages so far would stand under one person and the rest under another).
 */
import { personFromPhrase, recoveryPhrase } from "../domain/persons.ts";
import type { Storage } from "../storage/index.ts";

/** The recovery phrase was shown already: it is shown once. */
export class PhraseShownError extends Error {
  override name = "PhraseShownError";
}

/** This device wrote messages as its person already: another person cannot be brought back onto it. */
export class DeviceInUseError extends Error {
  override name = "DeviceInUseError";
}

export class Person {
  constructor(private readonly storage: Pick<Storage, "identity" | "person" | "messages">) {}

  get id(): string {
    return this.storage.identity.person.id;
  }

  /** The person's devices known here: this one first, then those whose messages here carry the person. */
  devices(): string[] {
    const self = this.storage.identity.nodeId;
    return [self, ...this.storage.messages.devicesOf(this.id).filter((id) => id !== self)];
  }

  /** When the recovery phrase was shown; null when never. */
  shownAt(): number | null {
    return this.storage.person.shownAt();
  }

  /** Whether another person may be brought back onto this device: it has written nothing yet. */
  mayRestore(): boolean {
    return !this.storage.messages.wrote(this.storage.identity.nodeId);
  }

  /** The 24 words, once: a second call throws PhraseShownError. */
  revealPhrase(now = Date.now()): string {
    const shown = this.shownAt();
    if (shown !== null) throw new PhraseShownError(`the recovery phrase was shown on ${new Date(shown).toISOString().slice(0, 10)}; it is shown once`);
    this.storage.person.markShown(now);
    return recoveryPhrase(this.storage.identity.person);
  }

  /** Makes this device one of the person whose phrase this is; throws PhraseError (words) or DeviceInUseError. */
  restore(phrase: string): void {
    const person = personFromPhrase(phrase);
    if (person.id === this.id) return;
    if (!this.mayRestore()) throw new DeviceInUseError("this instance has written messages as its own person already; bring the person back on a new instance (a new --db)");
    this.storage.person.replace(person);
    // The phrase is the person's, written down already: not shown again here.
    this.storage.person.markShown();
  }
}
