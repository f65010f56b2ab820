/** Chunks from peers stored by a worker thread with its own connection to the database (src/storage/chunk-writer.ts). */
import { afterEach, describe, expect, it } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { chunkWriter, type ChunkWriter } from "../../../src/storage/chunk-writer.ts";
import { CHUNK_BYTES } from "../../../src/storage/files.ts";
import { openStorage, type Storage } from "../../../src/storage/index.ts";
import { tempDir } from "../../helpers/instance.ts";

const WORKER = new URL("../../../src/storage/chunk-worker.ts", import.meta.url).href;
const hex = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

function setup(): { storage: Storage; writer: ChunkWriter; held: (hash: string) => Buffer | null } {
  const dir = tempDir("e-goat-chunk-writer-");
  const path = join(dir, "chat.db");
  const storage = openStorage(path);
  const writer = chunkWriter(path, storage.files, WORKER);
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  cleanup.push(() => storage.close());
  cleanup.push(() => writer.close());
  const held = (hash: string) => {
    const m = { id: "x", size: 1, hashes: [hash] };
    const data = storage.files.chunk(m, 0);
    return data && Buffer.from(data);
  };
  return { storage, writer, held };
}

describe("chunk writer", () => {
  it("stores a chunk that matches its hash through its own thread, where the main connection reads it; refuses one that does not", async () => {
    const { writer, held } = setup();
    const chunk = randomBytes(CHUNK_BYTES);
    const hash = hex(chunk);
    const copy = Buffer.from(chunk);
    expect(await writer.put(hash, chunk)).toBe(true);
    expect(held(hash)?.equals(copy)).toBe(true);

    const other = randomBytes(1000);
    const wrong = hex(randomBytes(1000));
    expect(await writer.put(wrong, other)).toBe(false);
    expect(held(wrong)).toBeNull();
  });

  it("moves a chunk's memory to the thread when the chunk has its buffer to itself, and copies one that shares it", async () => {
    const { writer, held } = setup();
    // A chunk cut from the frame it came in: the frame's buffer moves with it.
    const frame = randomBytes(CHUNK_BYTES + 100);
    const own = new Uint8Array(frame.buffer, frame.byteOffset + 100, CHUNK_BYTES);
    const ownHash = hex(own);
    const ownCopy = Buffer.from(own);
    expect(await writer.put(ownHash, own)).toBe(true);
    expect(own.byteLength).toBe(0);
    expect(held(ownHash)?.equals(ownCopy)).toBe(true);

    // Two chunks in one buffer: the first is copied, so the second is still there to store.
    const two = new Uint8Array(2 * CHUNK_BYTES);
    two.set(randomBytes(2 * CHUNK_BYTES));
    const first = two.subarray(0, CHUNK_BYTES);
    const second = two.subarray(CHUNK_BYTES);
    const secondCopy = Buffer.from(second);
    expect(await writer.put(hex(first), first)).toBe(true);
    expect(second.byteLength).toBe(CHUNK_BYTES);
    expect(await writer.put(hex(second), second)).toBe(true);
    expect(held(hex(secondCopy))?.equals(secondCopy)).toBe(true);

    // A chunk no bigger than Buffer's pool (the last of a file): copied, as a pool's memory is shared.
    const small = randomBytes(100);
    const smallHash = hex(small);
    expect(await writer.put(smallHash, small)).toBe(true);
    expect(small.byteLength).toBe(100);
    expect(held(smallHash)?.equals(small)).toBe(true);
  });

  it("stores what was put before it closes, then refuses more", async () => {
    const { writer, held } = setup();
    const chunks = Array.from({ length: 8 }, () => randomBytes(CHUNK_BYTES));
    const hashes = chunks.map(hex);
    const puts = chunks.map((chunk, i) => writer.put(hashes[i]!, chunk));
    await writer.close();
    expect(await Promise.all(puts)).toEqual(chunks.map(() => true));
    for (const hash of hashes) expect(held(hash)).not.toBeNull();
    await expect(writer.put(hex(Buffer.from("late")), Buffer.from("late"))).rejects.toThrow("the database is closed");
  });

  it("refuses every chunk, with the reason, when its thread cannot open the database", async () => {
    const { storage } = setup();
    const writer = chunkWriter(join(tempDir(), "no", "such", "dir", "chat.db"), storage.files, WORKER);
    cleanup.push(() => writer.close());
    const chunk = randomBytes(CHUNK_BYTES);
    await expect(writer.put(hex(chunk), chunk)).rejects.toThrow(/cannot store chunks: cannot open .*chat\.db/);
  });
});
