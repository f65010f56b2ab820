import type { WireMessage } from "./frames.ts";
import { NewAuthors } from "./new-authors.ts";
import { signatureProblem } from "./signatures.ts";

/** How far past the highest gapless sequence of an origin a message may be: one message cannot poison a sequence. */
const MAX_SEQ_STEP = 10_000;

/** Which messages a peer sent are stored here, and what is counted against it. */
export class Acceptance {
  /** New authors each peer brought into crowded rooms. */
  readonly #newAuthors: NewAuthors;

  constructor(
    /** Counts a refused message against its sender (see SyncChannel.refuse). */
    private readonly refuse: (from: string, what: string) => void,
    log: (line: string) => void,
  ) {
    this.#newAuthors = new NewAuthors(log);
  }

  /**
   * A message is stored only if its author signed it and its sequence is within reach of what is held of it; an
   * author new to a crowded room, only within its sender's rate of new authors (`held`: the room as this frame found it).
   * `later`: not now, and not counted against the sender (that rate); `refused`: never.
   */
  acceptable(from: string, m: WireMessage, held: Map<string, number>): "yes" | "later" | "refused" {
    const top = held.get(m.origin);
    const refusal =
      signatureProblem(m) ?? (m.seq > (top ?? 0) + MAX_SEQ_STEP ? `its sequence ${m.seq} is over ${MAX_SEQ_STEP} past the ${top ?? 0} held` : undefined);
    if (refusal) {
      this.refuse(from, `a message: ${refusal}`);
      return "refused";
    }
    if (top !== undefined) return "yes";
    if (!this.#newAuthors.allows(from, m.origin, held.size)) return "later";
    held.set(m.origin, 0); // an origin new to the room counts from its first message
    return "yes";
  }
}
