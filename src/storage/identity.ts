import type { Database } from "bun:sqlite";
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { nodeIdOfKey } from "../domain/names.ts";

/** This instance's lasting identity: an Ed25519 key pair and the node id derived from its public key. */
export interface Identity {
  nodeId: string;
  publicKey: KeyObject;
  privateKey: KeyObject;
}

/** The node id: the first 16 bytes (128 bits) of SHA-256 over the raw 32-byte public key, in hex. */
export function nodeIdOf(publicKey: KeyObject): string {
  return nodeIdOfKey(Buffer.from(publicKey.export({ format: "jwk" }).x!, "base64url"));
}

/** Loads the identity, creating and storing it on first start. */
export function loadIdentity(db: Database): Identity {
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
