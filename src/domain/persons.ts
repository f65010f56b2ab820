/**
 * A person: one user with one or more devices (instances). The person has an Ed25519 key of its own, which every
 * device of the person holds; its id is derived from that key as a node id is from a device's. The person key
 * certifies each device (a device certificate: this node id is a device of this person, since then) and revokes one
 * for good; 24 words (BIP39, English) of its 32-byte seed bring it back on a new device.
 */
import { createPrivateKey, createPublicKey, randomBytes, sign, verify, type KeyObject } from "node:crypto";
import { entropyToMnemonic, mnemonicToEntropy } from "@scure/bip39";
import { wordlist } from "@scure/bip39/wordlists/english.js";
import { nodeIdOfKey } from "./names.ts";

/** A person's key pair, and what it is known by. */
export interface PersonKey {
  /** 128 bits of SHA-256 over the raw public key, in hex: the same shape as a node id. */
  id: string;
  /** The raw public key, base64url (43 characters): what certificates carry. */
  key: string;
  publicKey: KeyObject;
  privateKey: KeyObject;
}

/** That a device (a node id) is one of a person's, signed by the person's key. */
export interface DeviceCert {
  /** The person's raw public key, base64url. */
  person: string;
  device: string;
  /** When it was issued, ms. */
  at: number;
  sig: string;
}

/** That a device is no longer one of a person's, from `at` on, signed by the person's key. */
export interface Revocation {
  person: string;
  device: string;
  at: number;
  sig: string;
}

/** Words that are not a recovery phrase: says what is wrong with them, for the person who typed them. */
export class PhraseError extends Error {
  override name = "PhraseError";
}

/** PKCS#8 of an Ed25519 private key, up to its 32-byte seed (RFC 8410). */
const PKCS8_SEED_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
const PHRASE_WORDS = 24;

const rawKey = (key: KeyObject) => key.export({ format: "jwk" }).x!;

/** The person key whose 32-byte seed this is. */
export function personFromSeed(seed: Uint8Array): PersonKey {
  if (seed.length !== 32) throw new Error(`a person key's seed is 32 bytes, not ${seed.length}`);
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_SEED_PREFIX, seed]), format: "der", type: "pkcs8" });
  const publicKey = createPublicKey(privateKey);
  const key = rawKey(publicKey);
  return { id: nodeIdOfKey(Buffer.from(key, "base64url")), key, publicKey, privateKey };
}

/** A new person key. */
export function newPerson(): PersonKey {
  return personFromSeed(randomBytes(32));
}

/** The person key's 32-byte seed: what its recovery phrase and storage hold. */
export function seedOf(person: PersonKey): Uint8Array {
  const der = person.privateKey.export({ format: "der", type: "pkcs8" });
  return new Uint8Array(der.subarray(der.length - 32));
}

/** The 24 words that bring the person key back (BIP39, English, with its checksum). */
export function recoveryPhrase(person: PersonKey): string {
  return entropyToMnemonic(seedOf(person), wordlist);
}

/** The person key of a recovery phrase, however it was spaced or cased; a PhraseError says what is wrong with it. */
export function personFromPhrase(phrase: string): PersonKey {
  const words = phrase.trim().toLowerCase().split(/[\s,]+/).filter(Boolean);
  if (words.length !== PHRASE_WORDS) throw new PhraseError(`a recovery phrase is ${PHRASE_WORDS} words; this has ${words.length}`);
  const unknown = words.find((word) => !wordlist.includes(word));
  if (unknown !== undefined) throw new PhraseError(`'${unknown}' is not a word of recovery phrases (word ${words.indexOf(unknown) + 1})`);
  let seed: Uint8Array;
  try {
    seed = mnemonicToEntropy(words.join(" "), wordlist);
  } catch {
    throw new PhraseError("these words do not add up to a recovery phrase (a word is wrong, or two are swapped)");
  }
  return personFromSeed(seed);
}

const certBytes = (person: string, device: string, at: number) => Buffer.from(JSON.stringify(["e-goat device 1", person, device, at]));
const revocationBytes = (person: string, device: string, at: number) => Buffer.from(JSON.stringify(["e-goat revoke 1", person, device, at]));

/** Certifies `device` (a node id) as one of the person's, from `at` on. */
export function certifyDevice(person: PersonKey, device: string, at = Date.now()): DeviceCert {
  return { person: person.key, device, at, sig: sign(null, certBytes(person.key, device, at), person.privateKey).toString("base64url") };
}

/** Revokes `device` for good, from `at` on. */
export function revokeDevice(person: PersonKey, device: string, at = Date.now()): Revocation {
  return { person: person.key, device, at, sig: sign(null, revocationBytes(person.key, device, at), person.privateKey).toString("base64url") };
}

/** The id of the person whose raw public key (base64url) this is. */
export const personIdOf = (key: string) => nodeIdOfKey(Buffer.from(key, "base64url"));

/** Why a certificate does not hold (for `device`, when given), or undefined when it does. */
export function certProblem(cert: DeviceCert, device?: string): string | undefined {
  if (device !== undefined && cert.device !== device) return "it certifies another device";
  return signedProblem(cert.person, certBytes(cert.person, cert.device, cert.at), cert.sig);
}

/** Why a revocation does not hold, or undefined when it does. */
export function revocationProblem(revocation: Revocation): string | undefined {
  return signedProblem(revocation.person, revocationBytes(revocation.person, revocation.device, revocation.at), revocation.sig);
}

function signedProblem(personKey: string, bytes: Buffer, sig: string): string | undefined {
  if (Buffer.from(personKey, "base64url").length !== 32) return "its person key is not 32 bytes";
  let key: KeyObject;
  try {
    key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: personKey }, format: "jwk" });
  } catch {
    return "its person key is not an Ed25519 key";
  }
  return verify(null, bytes, key, Buffer.from(sig, "base64url")) ? undefined : "its person's signature does not match";
}
