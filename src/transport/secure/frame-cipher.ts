/**
 * One direction of a secure link after the handshake: each frame is one AES-256-GCM message (Bun's native AEAD; its
 * node:crypto has no ChaCha20-Poly1305) under the handshake's key for that direction, with an implicit 64-bit counter
 * as nonce (Noise's AESGCM layout). Nothing of the nonce is sent, so a replayed, dropped or reordered frame fails.
 */
import { createCipheriv, createDecipheriv } from "node:crypto";
import type { FrameData } from "../link.ts";

export const TAG_BYTES = 16;

export class FrameCipher {
  #counter = 0n;
  readonly #nonce = Buffer.alloc(12);

  constructor(private readonly key: Uint8Array) {
    if (key.byteLength !== 32) throw new RangeError("a frame key is 32 bytes");
  }

  #nonceNow(): Buffer {
    if (this.#counter >= 0xffff_ffff_ffff_ffffn) throw new Error("this link has used up its nonces");
    this.#nonce.writeBigUInt64BE(this.#counter, 4);
    return this.#nonce;
  }

  /** The sealed frame, given whole or in parts (each goes through the cipher in turn, never joined as plaintext). */
  seal(plaintext: FrameData): Buffer {
    const cipher = createCipheriv("aes-256-gcm", this.key, this.#nonceNow(), { authTagLength: TAG_BYTES });
    const sealed = plaintext instanceof Uint8Array ? [cipher.update(plaintext)] : plaintext.map((part) => cipher.update(part));
    cipher.final();
    this.#counter++;
    sealed.push(cipher.getAuthTag());
    return Buffer.concat(sealed);
  }

  /** The frame's plaintext; throws when it is not the next frame of this direction, unaltered. */
  open(ciphertext: Uint8Array): Buffer {
    if (ciphertext.byteLength < TAG_BYTES) throw new Error("a frame shorter than its tag");
    const decipher = createDecipheriv("aes-256-gcm", this.key, this.#nonceNow(), { authTagLength: TAG_BYTES });
    decipher.setAuthTag(ciphertext.subarray(ciphertext.byteLength - TAG_BYTES));
    const body = decipher.update(ciphertext.subarray(0, ciphertext.byteLength - TAG_BYTES));
    decipher.final();
    this.#counter++;
    return body;
  }
}
