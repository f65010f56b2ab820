/**
 * A hostile member for the file attack tests: a rogue instance linked to a victim, proving an open room, that posts
 * signed messages naming files of its choice and answers (or not) the victim's file requests as it likes.
 */
import { createHash } from "node:crypto";
import type { FileRef } from "../../src/domain/files.ts";
import { CHUNK_BYTES, fileIdOf } from "../../src/storage/files.ts";
import { decodeFrame, encodeFrame } from "../../src/sync/codec.ts";
import type { Frame } from "../../src/sync/frames.ts";
import { signMessage } from "../../src/sync/signatures.ts";
import { waitFor, type Instance } from "../helpers/instance.ts";
import { peersOf } from "../helpers/mesh.ts";
import { openRoom, rogueIdentity, startRogue, type Rogue } from "../helpers/rogue.ts";

/** What a rogue member answers a `want`: a frame and its binary tail each, or nothing at all. */
export type Answer = (want: Extract<Frame, { type: "want" }>) => { frame: Frame; binary?: Uint8Array }[];

export interface HostileMember extends AsyncDisposable {
  readonly rogue: Rogue;
  readonly roomId: string;
  /** Every `want` the victim sent it. */
  readonly wants: Extract<Frame, { type: "want" }>[];
  /** Posts a signed message of the room carrying `files`. */
  post(files: FileRef[], text?: string): void;
  /** How it answers the victim's requests from now on (by default: never). */
  answer(how: Answer): void;
  /** Frames the victim sent after `from` (an index into `rogue.received`). */
  since(from: number): Frame[];
}

/** A rogue linked to `victim`, a member of its open room `room` (the victim sees it in /peers with the room). */
export async function hostileMember(victim: Instance, room: string): Promise<HostileMember> {
  const identity = rogueIdentity();
  const rogue = await startRogue(identity);
  await rogue.link(victim);
  const { proof, id: roomId } = openRoom(room, rogue.id, victim.nodeId);
  rogue.send(victim, { type: "hello", name: "rogue", proofs: [proof], addresses: {} });
  await waitFor(async () => (await peersOf(victim)).some((p) => p.node_id === rogue.id && p.rooms.includes(room)), 10_000, "the rogue a member at the victim");
  const wants: HostileMember["wants"] = [];
  let how: Answer = () => [];
  rogue.links.onData((from, data) => {
    const { frame } = decodeFrame(data);
    if (frame.type !== "want") return;
    wants.push(frame);
    for (const { frame: out, binary } of how(frame)) rogue.links.send(from, encodeFrame(out, binary));
  });
  let seq = 0;
  return {
    rogue,
    roomId,
    wants,
    post: (files, text = "") => {
      const fields = { origin: rogue.id, room: roomId, seq: ++seq, peer_id: "rogue", text, sent_at: Date.now(), files };
      rogue.send(victim, { type: "messages", messages: [{ ...fields, ...signMessage(fields, identity) }] });
    },
    answer: (next) => void (how = next),
    since: (from) => rogue.received.slice(from).map((r) => r.frame),
    [Symbol.asyncDispose]: () => rogue[Symbol.asyncDispose](),
  };
}

const sha = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

/** A file as peers know it: its chunks, their hashes and its id. */
export function manifestOf(bytes: Uint8Array): { id: string; size: number; hashes: string[]; chunks: Uint8Array[] } {
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < bytes.byteLength; at += CHUNK_BYTES) chunks.push(bytes.subarray(at, at + CHUNK_BYTES));
  const hashes = chunks.map(sha);
  return { id: fileIdOf(hashes), size: bytes.byteLength, hashes, chunks };
}

/** The binary tail of a manifest frame: the chunk hashes, 32 bytes each. */
export const hashBytes = (hashes: string[]) => Buffer.concat(hashes.map((h) => Buffer.from(h, "hex")));

/** Waits until `victim`'s history of `room` holds a message carrying `fileId`. */
export async function waitForRef(victim: Instance, room: string, fileId: string): Promise<void> {
  await waitFor(
    async () => ((await (await fetch(`${victim.http}/history?room=${room}`)).json()) as { files?: { id: string }[] }[]).some((m) => m.files?.some((f) => f.id === fileId)),
    10_000,
    `a message of ${room} carrying ${fileId} at the victim`,
  );
}
