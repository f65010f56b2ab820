/** FileSync's halves on their own, in memory: a file, a FileReplica that holds some of it, and links that keep what is sent. */
import { createHash } from "node:crypto";
import type { RoomHold } from "../../../../src/storage/file-rooms.ts";
import { CHUNK_BYTES, fileIdOf, type FileManifest } from "../../../../src/storage/files.ts";
import { decodeFrame } from "../../../../src/sync/codec.ts";
import type { FileLinks, FileReplica } from "../../../../src/sync/files/ports.ts";
import type { Frame } from "../../../../src/sync/frames.ts";

export const ROOM = "a".repeat(22);
export const OTHER_ROOM = "c".repeat(22);

const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

/** A file of `count` chunks, each filled with its own byte, the last `lastBytes` long. */
export function testFile(count: number, lastBytes = 1000): { chunks: Uint8Array[]; manifest: FileManifest } {
  const chunks = Array.from({ length: count }, (_, i) => new Uint8Array(i === count - 1 ? lastBytes : CHUNK_BYTES).fill(i + 1));
  const hashes = chunks.map(sha256);
  return { chunks, manifest: { id: fileIdOf(hashes), size: (count - 1) * CHUNK_BYTES + lastBytes, hashes } };
}

/**
 * One file of ROOM as this instance holds it: its manifest when known, the chunks stored (each checked against its
 * hash), whether it is whole. It serves what it stores (in ROOM only), and wants the file until it is whole.
 */
export class MemoryReplica implements FileReplica {
  readonly stored = new Map<number, Uint8Array>();
  known: FileManifest | null;
  opened = false;
  whole = false;
  /** Every status the fetcher gave the file, in order. */
  readonly statuses: ("fetching" | "waiting" | null)[] = [];
  readonly #manifest: FileManifest;

  constructor(file: { chunks: Uint8Array[]; manifest: FileManifest }, holds: { manifest?: boolean; chunks?: number[] } = {}) {
    this.#manifest = file.manifest;
    this.known = holds.manifest ? file.manifest : null;
    for (const index of holds.chunks ?? []) this.stored.set(index, file.chunks[index]!);
  }

  wanted(): { files: { id: string; size: number; rooms: string[] }[]; next: null } {
    return { files: this.whole ? [] : [{ id: this.#manifest.id, size: this.#manifest.size, rooms: [ROOM] }], next: null };
  }
  carries(roomId: string, fileId: string): boolean {
    return roomId === ROOM && fileId === this.#manifest.id;
  }
  manifest(id: string): FileManifest | null {
    return id === this.#manifest.id ? this.known : null;
  }
  register(manifest: FileManifest): void {
    this.known = manifest;
  }
  hold(): RoomHold {
    return this.whole ? "complete" : this.opened || this.stored.size > 0 ? "partial" : "none";
  }
  open(): void {
    this.opened = true;
  }
  missing(): number[] {
    return this.#manifest.hashes.map((_, i) => i).filter((i) => !this.stored.has(i));
  }
  async putChunk(manifest: FileManifest, index: number, data: Uint8Array): Promise<boolean> {
    if (sha256(data) !== manifest.hashes[index]) return false;
    this.stored.set(index, data);
    return true;
  }
  servable(id: string, roomId: string, index: number | null): boolean {
    return roomId === ROOM && id === this.#manifest.id && (index === null ? this.hold() !== "none" : this.stored.has(index));
  }
  chunk(_manifest: FileManifest, index: number): Uint8Array | null {
    return this.stored.get(index) ?? null;
  }
  complete(): void {
    this.whole = true;
  }
  have(): number {
    return [...this.stored.values()].reduce((sum, c) => sum + c.byteLength, 0);
  }
  mayStore(): boolean {
    return true;
  }
  fetches(): boolean {
    return true;
  }
  status(_id: string, status: "fetching" | "waiting" | null): void {
    this.statuses.push(status);
  }
}

/** Links that take every frame and keep it decoded, with as many bytes waiting on each as `buffered` says. */
export class MemoryLinks implements FileLinks {
  readonly sent: { peer: string; frame: Frame; binary: Uint8Array }[] = [];
  /** Bytes waiting on every link; null: no link. */
  waiting: number | null = 0;

  send(peer: string, data: Uint8Array | readonly Uint8Array[]): boolean {
    const { frame, binary } = decodeFrame(data instanceof Uint8Array ? data : Buffer.concat(data));
    this.sent.push({ peer, frame, binary });
    return true;
  }
  buffered(): number | null {
    return this.waiting;
  }
  /** The frames sent, as they were sent, and forgets them. */
  take(): { peer: string; frame: Frame; binary: Uint8Array }[] {
    return this.sent.splice(0);
  }
}

/** Lets the event loop turn until `done` holds (timers, immediates and promises run meanwhile); throws after `ms`. */
export async function until(done: () => boolean, ms = 2000): Promise<void> {
  const end = performance.now() + ms;
  while (!done()) {
    if (performance.now() > end) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}
