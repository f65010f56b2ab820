/**
 * X25519 for noise-handshake, done by node:crypto: only the DER wrapping of raw 32-byte keys is ours. (Its default
 * curve module comes from sodium-javascript, about eight times slower.)
 */
import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync } from "node:crypto";

const PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");
const SPKI_PREFIX = Buffer.from("302a300506032b656e032100", "hex");

export const x25519 = {
  DHLEN: 32,
  PKLEN: 32,
  SKLEN: 32,
  ALG: "25519",
  generateKeyPair() {
    const { publicKey, privateKey } = generateKeyPairSync("x25519");
    return {
      publicKey: publicKey.export({ format: "der", type: "spki" }).subarray(SPKI_PREFIX.length),
      secretKey: privateKey.export({ format: "der", type: "pkcs8" }).subarray(PKCS8_PREFIX.length),
    };
  },
  dh(publicKey: Uint8Array, { secretKey }: { secretKey: Uint8Array }): Uint8Array {
    return diffieHellman({
      privateKey: createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, secretKey]), format: "der", type: "pkcs8" }),
      publicKey: createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: "der", type: "spki" }),
    });
  },
};
