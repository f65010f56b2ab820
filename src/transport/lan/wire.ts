/**
 * The LAN tier's datagram format. Every datagram is broadcast, so each one names its sender and receiver.
 *
 * ```
 * offset size
 *  0     2    magic "EG"
 *  2     1    version (1)
 *  3     1    type (DATAGRAM_TYPES)
 *  4     4    session: chosen by the dialer, names one link between two instances
 *  8     4    seq: data: this datagram's number on its link; ack: the next number the receiver expects
 * 12     2    fragment index within its frame (data only, else 0)
 * 14     2    fragment count of its frame (data only, else 0)
 * 16     1+n  sender's node id (1..64 ASCII bytes, length first)
 * 17+n   1+m  receiver's node id (0..64; empty only in beacons)
 * ...         payload: frame bytes (data), beacon JSON (beacon), close reason (fin), nothing otherwise
 * end-16 16   authentication tag, only when the type's top bit (AUTHENTICATED) is set
 * ```
 * All integers are big-endian. Once a link's secure handshake is done, each side tags every datagram of that link
 * (data, ack, fin, reset) with an HMAC-SHA256 under its direction's key (`datagramTag`), and drops the untagged and
 * the forged: a bystander, who sees every broadcast datagram, can neither close a link nor slip a datagram into it.
 */
import { Type } from "@sinclair/typebox";
import { createHmac, timingSafeEqual } from "node:crypto";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { MAX_REASON_CHARS } from "../limits.ts";

/** Bumped when the layout changes; datagrams of another version are dropped. */
export const WIRE_VERSION = 1;
const MAGIC_0 = 0x45; // "E"
const MAGIC_1 = 0x47; // "G"
const FIXED_BYTES = 16;
/** Longest node id a datagram may carry. */
export const MAX_ID_BYTES = 64;
/** Largest header: fixed part plus two longest ids. */
export const MAX_HEADER_BYTES = FIXED_BYTES + 2 + 2 * MAX_ID_BYTES;
/** Largest UDP payload over IPv4. */
export const MAX_UDP_PAYLOAD = 65_507;
/** Largest beacon JSON; rooms are trimmed to fit. */
export const MAX_BEACON_BYTES = 1024;
/** Largest FIN payload: a reason cut to MAX_REASON_CHARS UTF-16 units takes at most 3 UTF-8 bytes a unit. */
const MAX_REASON_BYTES = 3 * MAX_REASON_CHARS;

/** Bytes of a datagram's authentication tag. */
export const TAG_BYTES = 16;
/** Set in the type byte of a datagram that ends with a tag. */
const AUTHENTICATED = 0x80;

/** Datagram kinds and their codes on the wire. */
export const DATAGRAM_TYPES = { beacon: 1, syn: 2, synAck: 3, data: 4, ack: 5, fin: 6, reset: 7 } as const;
/** A datagram kind by name. */
export type DatagramType = keyof typeof DATAGRAM_TYPES;
const TYPE_NAMES = Object.fromEntries(Object.entries(DATAGRAM_TYPES).map(([n, c]) => [c, n])) as Record<number, DatagramType>;

/** One decoded datagram. */
export interface Datagram {
  type: DatagramType;
  from: string;
  /** Empty for beacons, which are for everyone. */
  to: string;
  session: number;
  seq: number;
  index: number;
  count: number;
  payload: Uint8Array;
  /** A received datagram's tag and the bytes it covers; absent when it came untagged. */
  tag?: { tag: Uint8Array; over: Uint8Array };
}

/** The tag of a datagram's bytes under one direction's key: HMAC-SHA256, cut to TAG_BYTES. */
export const datagramTag = (key: Uint8Array, bytes: Uint8Array): Uint8Array => createHmac("sha256", key).update(bytes).digest().subarray(0, TAG_BYTES);

/** True when a received datagram carries a tag that `key` made. */
export function tagHolds(key: Uint8Array, tag: NonNullable<Datagram["tag"]>): boolean {
  return timingSafeEqual(datagramTag(key, tag.over), tag.tag);
}

/** A node id as a datagram header carries it: 1 to MAX_ID_BYTES printable ASCII characters. */
export const WireId = Type.String({ pattern: `^[\\x21-\\x7e]{1,${MAX_ID_BYTES}}$` });
const wireId = TypeCompiler.Compile(WireId);

/** True when `id` can travel in a datagram header. */
export const isWireId = (id: unknown): id is string => wireId.Check(id);

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Bytes of header a datagram between these two ids carries. */
export function headerBytes(from: string, to: string): number {
  return FIXED_BYTES + 2 + from.length + to.length;
}

/** A FIN's payload: the close reason, cut to MAX_REASON_CHARS. */
export const encodeReason = (reason: string): Uint8Array => encoder.encode(reason.slice(0, MAX_REASON_CHARS));
/** The close reason a FIN carries. */
export const decodeReason = (payload: Uint8Array): string => decoder.decode(payload);

/** Encodes one datagram, tagged under `tagKey` when given; ids must be wire ids (the caller checks once, up front). */
export function encodeDatagram(d: Datagram, tagKey?: Uint8Array): Uint8Array {
  const length = headerBytes(d.from, d.to) + d.payload.byteLength;
  const out = new Uint8Array(length + (tagKey ? TAG_BYTES : 0));
  const view = new DataView(out.buffer);
  out[0] = MAGIC_0;
  out[1] = MAGIC_1;
  out[2] = WIRE_VERSION;
  out[3] = DATAGRAM_TYPES[d.type] | (tagKey ? AUTHENTICATED : 0);
  view.setUint32(4, d.session);
  view.setUint32(8, d.seq);
  view.setUint16(12, d.index);
  view.setUint16(14, d.count);
  let at = FIXED_BYTES;
  for (const id of [d.from, d.to]) {
    out[at++] = id.length;
    out.set(encoder.encode(id), at);
    at += id.length;
  }
  out.set(d.payload, at);
  if (tagKey) out.set(datagramTag(tagKey, out.subarray(0, length)), length);
  return out;
}

/** Decodes and checks one datagram; answers a short reason instead when it is malformed. Never throws. */
export function decodeDatagram(bytes: Uint8Array): Datagram | string {
  if (bytes.byteLength < FIXED_BYTES + 2) return "shorter than a header";
  if (bytes[0] !== MAGIC_0 || bytes[1] !== MAGIC_1) return "wrong magic";
  if (bytes[2] !== WIRE_VERSION) return `unknown version ${bytes[2]}`;
  const type = TYPE_NAMES[bytes[3]! & ~AUTHENTICATED];
  if (!type) return `unknown type ${bytes[3]}`;
  let tag: Datagram["tag"];
  if (bytes[3]! & AUTHENTICATED) {
    if (type === "beacon" || type === "syn" || type === "synAck") return `a ${type} carries no tag`;
    if (bytes.byteLength < FIXED_BYTES + 2 + TAG_BYTES) return "shorter than a header and a tag";
    tag = { tag: bytes.subarray(bytes.byteLength - TAG_BYTES), over: bytes.subarray(0, bytes.byteLength - TAG_BYTES) };
    bytes = tag.over;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const session = view.getUint32(4);
  const seq = view.getUint32(8);
  const index = view.getUint16(12);
  const count = view.getUint16(14);
  let at = FIXED_BYTES;
  const ids: string[] = [];
  for (let i = 0; i < 2; i++) {
    const length = bytes[at++];
    if (length === undefined || at + length > bytes.byteLength) return "ids run past the end";
    const id = String.fromCharCode(...bytes.subarray(at, at + length));
    if (length > 0 && !isWireId(id)) return `an id is not printable ASCII of at most ${MAX_ID_BYTES} bytes`;
    ids.push(id);
    at += length;
  }
  const [from, to] = ids as [string, string];
  if (from === "") return "no sender id";
  if ((type === "beacon") !== (to === "")) return type === "beacon" ? "a beacon names a receiver" : "no receiver id";
  if (type === "data" ? count === 0 || index >= count : index !== 0 || count !== 0) return "bad fragment index or count";
  const payload = bytes.subarray(at);
  const limit = type === "data" ? MAX_UDP_PAYLOAD : type === "beacon" ? MAX_BEACON_BYTES : type === "fin" ? MAX_REASON_BYTES : 0;
  if (payload.byteLength > limit) return `${type} payload of ${payload.byteLength} bytes is over ${limit}`;
  return { type, from, to, session, seq, index, count, payload, ...(tag ? { tag } : {}) };
}
