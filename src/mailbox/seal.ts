/**
 * What a mailbox keeps of a room, and how it cannot read it: each item (a signed message, a file's chunk) sealed with
 * AES-256-GCM under a key derived from the room's key for that mailbox, filed under the room's topic there (the same
 * topic members wait at: domain/rooms.ts `rendezvousTopic`) and under an id that is a keyed hash of what the item is.
 * The mailbox learns neither author, nor sequence, nor text; it can withhold or drop an item, never alter or swap one
 * (the topic and id are bound to the seal). Sizes are padded to 256 bytes, so a length says little.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from "node:crypto";
import { keyOf, rendezvousTopic, type RoomRef } from "../domain/rooms.ts";

const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** Sealed lengths are multiples of this: a message of 10 characters and one of 200 look alike. */
export const PAD_BYTES = 256;

/** One room's keys at one mailbox. */
export interface MailboxKeys {
  /** What the mailbox files the room's items under; what members prove to push and read them. */
  topic: string;
  seal: Buffer;
  id: Buffer;
}

const derive = (room: RoomRef, info: string) => Buffer.from(hkdfSync("sha256", Buffer.from(keyOf(room), "base64url"), "e-goat mailbox", info, 32));

/** The keys of `room` at the mailbox whose node id is `mailbox`: another mailbox gets other keys. */
export function mailboxKeys(room: RoomRef, mailbox: string): MailboxKeys {
  return { topic: rendezvousTopic(room, mailbox), seal: derive(room, `seal\0${mailbox}`), id: derive(room, `id\0${mailbox}`) };
}

/** An item's id: 128 bits the mailbox cannot invert; `ref` names the item (a message's origin and sequence, a chunk's hash). */
export function itemId(keys: MailboxKeys, kind: "message" | "chunk", ref: string): string {
  return createHmac("sha256", keys.id).update(`${kind}\0${ref}`).digest().subarray(0, 16).toString("base64url");
}

const aad = (keys: MailboxKeys, id: string) => Buffer.from(`${keys.topic}\0${id}`);

/** Seals `plain` as item `id`: nonce, ciphertext of its length, the bytes and padding, and the tag. */
export function sealItem(keys: MailboxKeys, id: string, plain: Uint8Array): Uint8Array {
  // The whole sealed item (nonce, length, bytes, padding, tag) is a multiple of PAD_BYTES.
  const whole = Math.ceil((NONCE_BYTES + 4 + plain.length + TAG_BYTES) / PAD_BYTES) * PAD_BYTES;
  const padded = Buffer.alloc(whole - NONCE_BYTES - TAG_BYTES);
  padded.writeUInt32BE(plain.length, 0);
  padded.set(plain, 4);
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv("aes-256-gcm", keys.seal, nonce).setAAD(aad(keys, id));
  const body = Buffer.concat([cipher.update(padded), cipher.final()]);
  return Buffer.concat([nonce, body, cipher.getAuthTag()]);
}

/** What item `id` holds; null when it was not sealed under these keys as that id (altered, swapped, another room). */
export function openItem(keys: MailboxKeys, id: string, sealed: Uint8Array): Uint8Array | null {
  if (sealed.length < NONCE_BYTES + 4 + TAG_BYTES) return null;
  const bytes = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  const decipher = createDecipheriv("aes-256-gcm", keys.seal, bytes.subarray(0, NONCE_BYTES)).setAAD(aad(keys, id));
  decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
  let padded: Buffer;
  try {
    padded = Buffer.concat([decipher.update(bytes.subarray(NONCE_BYTES, bytes.length - TAG_BYTES)), decipher.final()]);
  } catch {
    return null;
  }
  const length = padded.readUInt32BE(0);
  return length <= padded.length - 4 ? new Uint8Array(padded.subarray(4, 4 + length)) : null;
}
