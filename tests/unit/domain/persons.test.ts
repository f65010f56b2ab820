// A person's key, its devices' certificates and revocations, and its recovery phrase (src/domain/persons.ts).
import { describe, expect, it } from "bun:test";
import {
  certifyDevice,
  certProblem,
  newPerson,
  personFromPhrase,
  personIdOf,
  PhraseError,
  recoveryPhrase,
  revocationProblem,
  revokeDevice,
  seedOf,
} from "../../../src/domain/persons.ts";

const LAPTOP = "1".repeat(32);
const DESKTOP = "2".repeat(32);

describe("a person", () => {
  it("comes back whole from its 24 words, however they are typed", () => {
    const alice = newPerson();
    const phrase = recoveryPhrase(alice);
    expect(phrase.split(" ")).toHaveLength(24);
    expect(alice.id).toMatch(/^[0-9a-f]{32}$/);
    expect(personIdOf(alice.key)).toBe(alice.id);
    const back = personFromPhrase(`  ${phrase.toUpperCase().split(" ").join("\n")}  `);
    expect(back.id).toBe(alice.id);
    expect(Buffer.from(seedOf(back))).toEqual(Buffer.from(seedOf(alice)));
    // What it certifies with the key brought back holds as one of the original's.
    expect(certProblem(certifyDevice(back, LAPTOP, 5))).toBeUndefined();
  });

  it("refuses words that are not its phrase, saying what is wrong", () => {
    const words = recoveryPhrase(newPerson()).split(" ");
    const attempt = (w: string[]) => {
      try {
        personFromPhrase(w.join(" "));
        return "taken";
      } catch (error) {
        expect(error).toBeInstanceOf(PhraseError);
        return (error as Error).message;
      }
    };
    expect(attempt(words.slice(0, 23))).toBe("a recovery phrase is 24 words; this has 23");
    expect(attempt([...words.slice(0, 5), "goatish", ...words.slice(6)])).toBe("'goatish' is not a word of recovery phrases (word 6)");
    // Two words swapped: every word is valid, the checksum is not (a 1 in 256 chance it still is: then another swap).
    const swapped = [...words];
    for (let i = 0; i < 23 && attempt(swapped) === "taken"; i++) [swapped[i], swapped[i + 1]] = [words[i + 1]!, words[i]!];
    expect(attempt(swapped)).toContain("do not add up");
  });

  it("certifies its devices and revokes them; nobody else can, and nothing can be moved to another device", () => {
    const alice = newPerson();
    const mallory = newPerson();
    const cert = certifyDevice(alice, LAPTOP, 1000);
    expect(certProblem(cert, LAPTOP)).toBeUndefined();
    expect(certProblem(cert, DESKTOP)).toBe("it certifies another device");
    expect(certProblem({ ...cert, device: DESKTOP })).toBe("its person's signature does not match");
    expect(certProblem({ ...cert, at: 999 })).toBe("its person's signature does not match");
    // Mallory's signature under Alice's key, or Alice's certificate claimed by Mallory's key.
    expect(certProblem({ ...certifyDevice(mallory, LAPTOP, 1000), person: alice.key })).toBe("its person's signature does not match");
    expect(certProblem({ ...cert, person: mallory.key })).toBe("its person's signature does not match");
    expect(certProblem({ ...cert, person: "AAAA" })).toBe("its person key is not 32 bytes");
    const revoked = revokeDevice(alice, LAPTOP, 2000);
    expect(revocationProblem(revoked)).toBeUndefined();
    expect(revocationProblem({ ...revoked, device: DESKTOP })).toBe("its person's signature does not match");
    // A certificate is not a revocation, nor the reverse.
    expect(revocationProblem({ ...cert })).toBe("its person's signature does not match");
  });
});
