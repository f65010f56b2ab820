import type { Database } from "bun:sqlite";
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { nodeIdOfKey } from "../domain/names.ts";
import { certifyDevice, certProblem, newPerson, personFromSeed, seedOf as seedOfKey, type DeviceCert, type PersonKey } from "../domain/persons.ts";

/** This instance's lasting identity: an Ed25519 key pair and the node id derived from its public key. */
export interface Identity {
  nodeId: string;
  publicKey: KeyObject;
  privateKey: KeyObject;
  /** The person this instance is a device of (made with it, unless it was linked to another's: issue 25). */
  person: PersonKey;
  /** The person's certificate that this instance is one of its devices. */
  cert: DeviceCert;
}

/** The node id: the first 16 bytes (128 bits) of SHA-256 over the raw 32-byte public key, in hex. */
export function nodeIdOf(publicKey: KeyObject): string {
  return nodeIdOfKey(Buffer.from(publicKey.export({ format: "jwk" }).x!, "base64url"));
}

/** Loads the identity, creating and storing what is missing: the device's key on first start, its person's after an upgrade too. */
export function loadIdentity(db: Database): Identity {
  const device = loadDevice(db);
  const { person, cert } = loadPerson(db, device.nodeId);
  return { ...device, person, cert };
}

function loadDevice(db: Database): Pick<Identity, "nodeId" | "publicKey" | "privateKey"> {
  const row = db.query("SELECT value FROM identity WHERE key = 'private_key'").get() as { value: Uint8Array } | null;
  if (row) {
    const privateKey = createPrivateKey({ key: Buffer.from(row.value), format: "der", type: "pkcs8" });
    const publicKey = createPublicKey(privateKey);
    return { nodeId: nodeIdOf(publicKey), publicKey, privateKey };
  }
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  db.query("INSERT INTO identity (key, value) VALUES ('private_key', ?)").run(privateKey.export({ format: "der", type: "pkcs8" }));
  return { nodeId: nodeIdOf(publicKey), publicKey, privateKey };
}

/** The person this device is one of, and its certificate: a person of its own, made now, if it has none yet. */
function loadPerson(db: Database, nodeId: string): { person: PersonKey; cert: DeviceCert } {
  const get = (key: string) => (db.query("SELECT value FROM identity WHERE key = ?").get(key) as { value: Uint8Array } | null)?.value;
  const seed = get("person_seed");
  const certJson = get("device_cert");
  if (seed && certJson) {
    const person = personFromSeed(new Uint8Array(seed));
    const cert = JSON.parse(Buffer.from(certJson).toString()) as DeviceCert;
    if (cert.person === person.key && certProblem(cert, nodeId) === undefined) return { person, cert };
  }
  const person = seed ? personFromSeed(new Uint8Array(seed)) : newPerson();
  return { person, cert: keepPerson(db, person, nodeId) };
}

/** Makes the device `nodeId` one of `person`'s: the person's key and a new certificate of the device, kept together. */
export function keepPerson(db: Database, person: PersonKey, nodeId: string, now = Date.now()): DeviceCert {
  const cert = certifyDevice(person, nodeId, now);
  const put = db.query("INSERT INTO identity (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value");
  db.transaction(() => {
    put.run("person_seed", Buffer.from(seedOfKey(person)));
    put.run("device_cert", Buffer.from(JSON.stringify(cert)));
  })();
  return cert;
}
