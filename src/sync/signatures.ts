/**
 * Every message is signed by its author instance with its Ed25519 identity key, over all its fields as they travel
 * (the room by id). The message carries the raw public key, whose hash must be its origin: only the author's own key
 * can make a message of that origin, so nobody can forge one or take over its sequence numbers.
 */
import { createPublicKey, sign, verify, type KeyObject } from "node:crypto";
import type { FileRef } from "../domain/files.ts";
import { nodeIdOfKey } from "../domain/names.ts";
import { certProblem } from "../domain/persons.ts";

/** What is signed: the fields of a wire message, the room by its id. */
export interface SignedFields {
  origin: string;
  room: string;
  seq: number;
  peer_id: string;
  text: string;
  sent_at: number;
  guest?: true;
  files?: FileRef[];
  /** The author's person and its certificate of the origin (see src/domain/persons.ts). */
  person?: { key: string; at: number; sig: string };
}

const CONTEXT = "e-goat message 1";
/** A message that names its person signs that too, under a context of its own. */
const PERSON_CONTEXT = "e-goat message 2";

/** A message with files signs them too, each field in a fixed order; one without signs what it always did. */
function signedBytes(m: SignedFields): Buffer {
  const fields: unknown[] = [m.person ? PERSON_CONTEXT : CONTEXT, m.room, m.origin, m.seq, m.peer_id, m.text, m.sent_at, m.guest === true];
  if (m.files) fields.push(m.files.map((f) => [f.id, f.name, f.size, f.type]));
  if (m.person) fields.push([m.person.key, m.person.at, m.person.sig]);
  return Buffer.from(JSON.stringify(fields));
}

const rawKey = (key: KeyObject) => key.export({ format: "jwk" }).x!;

/** The signature and public key (both base64url) that the author adds to a message. */
export function signMessage(m: SignedFields, identity: { publicKey: KeyObject; privateKey: KeyObject }): { sig: string; key: string } {
  return { sig: sign(null, signedBytes(m), identity.privateKey).toString("base64url"), key: rawKey(identity.publicKey) };
}

/** Why a message's signature does not hold, or undefined when it does. */
export function signatureProblem(m: SignedFields & { sig?: string; key?: string }): string | undefined {
  if (!m.sig || !m.key) return "it is not signed";
  const raw = Buffer.from(m.key, "base64url");
  if (raw.length !== 32 || nodeIdOfKey(raw) !== m.origin) return "its key is not its origin's";
  let key: KeyObject;
  try {
    key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: m.key }, format: "jwk" });
  } catch {
    return "its key is not an Ed25519 key";
  }
  if (!verify(null, signedBytes(m), key, Buffer.from(m.sig, "base64url"))) return "its signature does not match";
  const cert = m.person && personProblem(m.origin, m.person);
  return cert ? `its person's certificate of its origin does not hold (${cert})` : undefined;
}

/** Certificates checked and found to hold: a device's are the same on each of its messages, and checked once. */
const heldCerts = new Set<string>();
const MAX_HELD_CERTS = 4096;

function personProblem(origin: string, person: NonNullable<SignedFields["person"]>): string | undefined {
  const id = `${origin}\0${person.key}\0${person.at}\0${person.sig}`;
  if (heldCerts.has(id)) return undefined;
  const problem = certProblem({ person: person.key, device: origin, at: person.at, sig: person.sig });
  if (problem) return problem;
  if (heldCerts.size >= MAX_HELD_CERTS) heldCerts.delete(heldCerts.values().next().value!);
  heldCerts.add(id);
  return undefined;
}
