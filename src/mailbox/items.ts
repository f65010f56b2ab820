/**
 * What a member seals into a mailbox item, and reads back out of one: a signed message as it travels between
 * instances, a file's manifest, or one chunk of a file. The mailbox sees none of it (seal.ts); a member that opens an
 * item checks it as it checks anything a peer sends: a message by its schema here and its signature where it is
 * taken, a manifest against its file id, a chunk against the manifest's hash.
 */
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { isFileId } from "../domain/files.ts";
import { fileIdOf } from "../storage/files.ts";
import { WireMessage } from "../sync/frames.ts";

/** What an item holds, once opened. */
export type Item =
  | { kind: "message"; message: WireMessage }
  | { kind: "manifest"; id: string; size: number; hashes: string[] }
  | { kind: "chunk"; file: string; index: number; data: Uint8Array };

const KIND = { message: 1, manifest: 2, chunk: 3 } as const;
const checkMessage = TypeCompiler.Compile(WireMessage);
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** The name the item's id is derived from (seal.ts `itemId`): one message, manifest or chunk is one item wherever it is pushed from. */
export function itemRef(item: { kind: "message"; origin: string; seq: number } | { kind: "manifest"; id: string } | { kind: "chunk"; file: string; index: number }): string {
  if (item.kind === "message") return `message\0${item.origin}\0${item.seq}`;
  if (item.kind === "manifest") return `manifest\0${item.id}`;
  return `chunk\0${item.file}\0${item.index}`;
}

export function encodeItem(item: Item): Uint8Array {
  if (item.kind === "message") {
    const json = encoder.encode(JSON.stringify(item.message));
    return Buffer.concat([Uint8Array.of(KIND.message), json]);
  }
  if (item.kind === "manifest") {
    const head = Buffer.alloc(1 + 8);
    head.writeUInt8(KIND.manifest, 0);
    head.writeBigUInt64BE(BigInt(item.size), 1);
    return Buffer.concat([head, ...item.hashes.map((h) => Buffer.from(h, "hex"))]);
  }
  const head = Buffer.alloc(1 + 32 + 4);
  head.writeUInt8(KIND.chunk, 0);
  Buffer.from(item.file, "hex").copy(head, 1);
  head.writeUInt32BE(item.index, 33);
  return Buffer.concat([head, item.data]);
}

/** The item these bytes hold, or null when they are no item (a member sealed something else). */
export function decodeItem(plain: Uint8Array): Item | null {
  const bytes = Buffer.from(plain.buffer, plain.byteOffset, plain.byteLength);
  if (bytes.length < 1) return null;
  const kind = bytes.readUInt8(0);
  if (kind === KIND.message) {
    let value: unknown;
    try {
      value = JSON.parse(decoder.decode(bytes.subarray(1)));
    } catch {
      return null;
    }
    if (!checkMessage.Check(value) || (value.text === "" && !value.files)) return null;
    return { kind: "message", message: value };
  }
  if (kind === KIND.manifest) {
    if (bytes.length < 9 || (bytes.length - 9) % 32 !== 0) return null;
    const size = bytes.readBigUInt64BE(1);
    if (size > BigInt(Number.MAX_SAFE_INTEGER)) return null;
    const hashes: string[] = [];
    for (let at = 9; at < bytes.length; at += 32) hashes.push(bytes.subarray(at, at + 32).toString("hex"));
    return { kind: "manifest", id: fileIdOf(hashes), size: Number(size), hashes };
  }
  if (kind === KIND.chunk) {
    if (bytes.length < 37) return null;
    const file = bytes.subarray(1, 33).toString("hex");
    if (!isFileId(file)) return null;
    return { kind: "chunk", file, index: bytes.readUInt32BE(33), data: new Uint8Array(bytes.subarray(37)) };
  }
  return null;
}
