/** Files in chat.db: written a chunk at a time, identified by the hash of their chunk hashes, verified chunk by chunk. */
import { afterEach, describe, expect, it } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { CHUNK_BYTES, chunkCount, fileIdOf, FileTooLargeError, manifestProblem } from "../../../src/storage/files.ts";
import { Database } from "bun:sqlite";
import { migrate } from "../../../src/storage/db.ts";
import { FileRooms } from "../../../src/storage/file-rooms.ts";
import { openStorage, type Storage } from "../../../src/storage/index.ts";
import { MIGRATIONS } from "../../../src/storage/schema.ts";

const open: Storage[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});

function storage(): Storage {
  const s = openStorage(":memory:");
  open.push(s);
  return s;
}

/** A stream of `bytes` in pieces of odd sizes, as a network would deliver them. */
function pieces(bytes: Uint8Array, size = 100_003): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.byteLength) return controller.close();
      controller.enqueue(bytes.slice(at, at + size));
      at += size;
    },
  });
}

async function readAll(stream: ReadableStream<Uint8Array> | null): Promise<Buffer> {
  if (!stream) throw new Error("no stream");
  return Buffer.from(await new Response(stream).arrayBuffer());
}

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

describe("file store", () => {
  it("stores a file in chunks and reads it back whole and by range, byte for byte", async () => {
    const s = storage();
    const bytes = randomBytes(3 * CHUNK_BYTES + 12_345);
    const m = await s.files.write(pieces(bytes), 10 * CHUNK_BYTES);
    expect(m.size).toBe(bytes.byteLength);
    expect(m.hashes).toHaveLength(4);
    expect(m.hashes[0]).toBe(sha(bytes.subarray(0, CHUNK_BYTES)));
    expect(m.id).toBe(fileIdOf(m.hashes));
    expect(manifestProblem(m)).toBeNull();
    expect(s.files.have(m.id)).toBe(bytes.byteLength);
    expect(s.files.missing(m.id)).toEqual([]);
    expect(sha(await readAll(s.files.read(m.id)))).toBe(sha(bytes));
    const start = CHUNK_BYTES - 10;
    const end = 2 * CHUNK_BYTES + 9;
    expect(await readAll(s.files.read(m.id, start, end))).toEqual(Buffer.from(bytes.subarray(start, end + 1)));
    expect(await readAll(s.files.read(m.id, bytes.byteLength - 1))).toEqual(Buffer.from(bytes.subarray(-1)));
  });

  it("keeps identical files, and identical chunks, once", async () => {
    const s = storage();
    const bytes = randomBytes(2 * CHUNK_BYTES);
    const first = await s.files.write(pieces(bytes), 10 * CHUNK_BYTES);
    const second = await s.files.write(pieces(bytes, 7777), 10 * CHUNK_BYTES);
    expect(second).toEqual(first);
    expect(s.db.query("SELECT count(*) AS n FROM chunks").get()).toEqual({ n: 2 });
  });

  it("a file over the limit is refused and leaves nothing behind; an empty one is refused", async () => {
    const s = storage();
    await expect(s.files.write(pieces(randomBytes(3 * CHUNK_BYTES)), 2 * CHUNK_BYTES)).rejects.toBeInstanceOf(FileTooLargeError);
    expect(s.db.query("SELECT count(*) AS n FROM chunks").get()).toEqual({ n: 0 });
    expect(s.db.query("SELECT count(*) AS n FROM files").get()).toEqual({ n: 0 });
    await expect(s.files.write(pieces(new Uint8Array(0)), 100)).rejects.toBeInstanceOf(RangeError);
  });

  it("a file known by its manifest fills in chunk by chunk, in any order; a chunk that fails its hash is not stored", async () => {
    const source = storage();
    const bytes = randomBytes(3 * CHUNK_BYTES + 1);
    const m = await source.files.write(pieces(bytes), 10 * CHUNK_BYTES);
    const s = storage();
    s.files.register(m);
    expect(s.files.manifest(m.id)).toEqual(m);
    expect(s.files.missing(m.id)).toEqual([0, 1, 2, 3]);
    expect(s.files.read(m.id)).toBeNull();
    const corrupted = Buffer.from(source.files.chunk(m, 2)!);
    corrupted[100]! ^= 1;
    expect(s.files.putChunk(m, 2, corrupted)).toBe(false);
    expect(s.files.putChunk(m, 9, source.files.chunk(m, 0)!)).toBe(false);
    for (const index of [3, 1, 2]) expect(s.files.putChunk(m, index, source.files.chunk(m, index)!)).toBe(true);
    expect(s.files.missing(m.id)).toEqual([0]);
    expect(s.files.have(m.id)).toBe(bytes.byteLength - CHUNK_BYTES);
    s.files.putChunk(m, 0, source.files.chunk(m, 0)!);
    expect(s.files.missing(m.id)).toEqual([]);
    // Readable as soon as every chunk is here and `have` says so: the last may have been stored by the chunk-storing
    // thread a moment before the fetcher marks the file whole.
    expect(s.files.have(m.id)).toBe(bytes.byteLength);
    expect(s.files.isComplete(m.id)).toBe(true);
    expect(sha(await readAll(s.files.read(m.id)))).toBe(sha(bytes));
    s.files.markComplete(m.id);
    expect(s.files.isComplete(m.id)).toBe(true);
    expect(sha(await readAll(s.files.read(m.id)))).toBe(sha(bytes));
  });

  it("a manifest must agree with itself: size, chunk count, hashes and id", () => {
    const hashes = [sha(Buffer.from("a")), sha(Buffer.from("b"))];
    const good = { id: fileIdOf(hashes), size: CHUNK_BYTES + 1, hashes };
    expect(manifestProblem(good)).toBeNull();
    expect(manifestProblem({ ...good, size: CHUNK_BYTES })).toContain("chunks");
    expect(manifestProblem({ ...good, id: "0".repeat(64) })).toContain("id");
    expect(manifestProblem({ ...good, hashes: [hashes[0]!, "xyz"] })).toContain("hex");
    expect(manifestProblem({ ...good, size: 0, hashes: [] })).toContain("size");
    expect(chunkCount(1)).toBe(1);
  });
});

describe("which rooms a file came through", () => {
  it("a room holds a file once every chunk came through it; chunks another room brought do not count", async () => {
    const source = storage();
    const bytes = randomBytes(2 * CHUNK_BYTES + 10);
    const m = await source.files.write(pieces(bytes), 10 * CHUNK_BYTES);
    const s = storage();
    const rooms = new FileRooms(s.db);
    s.files.register(m);
    // All three chunks come through room a; the manifest came through it first.
    rooms.open(m.id, "a");
    for (const i of [2, 0, 1]) s.files.storeChunk(m.hashes[i]!, source.files.chunk(m, i)!, { file: m.id, rooms: ["a"], idx: i });
    expect(rooms.missing(m.id, "a", 3)).toEqual([]);
    expect(rooms.whole(m.id, "a")).toBe(true);
    expect(rooms.bytes(m.id, "a")).toBe(bytes.byteLength);
    // Room b: its messages name the file, but nothing came through it.
    expect(rooms.hold(m.id, "b")).toBe("none");
    expect(rooms.missing(m.id, "b", 3)).toEqual([0, 1, 2]);
    expect(rooms.servable(m.id, "b", 0)).toBe(false);
    expect(rooms.bytes(m.id, "b")).toBe(0);
    // One chunk through b: that one is b's, the others are not.
    rooms.open(m.id, "b");
    s.files.storeChunk(m.hashes[1]!, source.files.chunk(m, 1)!, { file: m.id, rooms: ["b"], idx: 1 });
    expect(rooms.missing(m.id, "b", 3)).toEqual([0, 2]);
    expect([0, 1, 2].map((i) => rooms.servable(m.id, "b", i))).toEqual([false, true, false]);
    expect(rooms.bytes(m.id, "b")).toBe(CHUNK_BYTES);
    rooms.complete(m.id, "a");
    expect(s.db.query("SELECT count(*) AS n FROM file_room_chunks WHERE room = 'a'").get()).toEqual({ n: 0 });
    expect(rooms.hold(m.id, "a")).toBe("complete");
    // A room deleted forgets what came through it.
    rooms.forgetRoom("b");
    expect(rooms.hold(m.id, "b")).toBe("none");
    expect(rooms.bytes(m.id, "b")).toBe(0);
  });

  it("a whole file's size is what its chunks add up to: a manifest's lie is undone when it is whole, or uploaded", async () => {
    const source = storage();
    const bytes = randomBytes(CHUNK_BYTES + 5000);
    const m = await source.files.write(pieces(bytes), 10 * CHUNK_BYTES);
    const s = storage();
    s.files.register({ ...m, size: CHUNK_BYTES + 1 });
    for (const i of [0, 1]) s.files.putChunk(m, i, source.files.chunk(m, i)!);
    // Whole before it is marked so: read as long as its chunks.
    expect((await readAll(s.files.read(m.id))).byteLength).toBe(bytes.byteLength);
    s.files.markComplete(m.id);
    expect(s.files.manifest(m.id)?.size).toBe(bytes.byteLength);
    const t = storage();
    t.files.register({ ...m, size: CHUNK_BYTES + 1 });
    expect((await t.files.write(pieces(bytes), 10 * CHUNK_BYTES)).size).toBe(bytes.byteLength);
    expect(t.files.manifest(m.id)?.size).toBe(bytes.byteLength);
    expect(sha(await readAll(t.files.read(m.id)))).toBe(sha(bytes));
  });

  it("a database from before is taken forward: a file came through the room of the first message that carried it", () => {
    const db = new Database(":memory:", { strict: true });
    const mine = MIGRATIONS.findIndex((m) => m.includes("CREATE TABLE file_rooms"));
    migrate(db, MIGRATIONS.slice(0, mine));
    const chunk = randomBytes(1000);
    const hash = createHash("sha256").update(chunk).digest();
    const id = fileIdOf([hash.toString("hex")]);
    db.query("INSERT INTO chunks (hash, data) VALUES (?, ?)").run(hash, chunk);
    // Whole, with a size a manifest lied about.
    db.query("INSERT INTO files (id, size, complete) VALUES (?, 990, 1)").run(id);
    db.query("INSERT INTO file_chunks (file, idx, hash) VALUES (?, 0, ?)").run(id, hash);
    const files = JSON.stringify([{ id, name: "a.bin", size: 990, type: "application/octet-stream" }]);
    for (const [stamp, room] of [[2, "later"], [1, "first"]] as const) {
      db.query("INSERT INTO messages (stamp, origin, room, seq, peer_id, text, sent_at, files) VALUES (?, 'o', ?, ?, 'p', '', 1, ?)").run(stamp, room, stamp, files);
      db.query("INSERT INTO file_refs (file, room, name, type, size) VALUES (?, ?, 'a.bin', 'application/octet-stream', 990)").run(id, room);
    }
    migrate(db);
    expect(db.query("SELECT file, room, complete FROM file_rooms").all()).toEqual([{ file: id, room: "first", complete: 1 }]);
    expect(db.query("SELECT size FROM files").get()).toEqual({ size: 1000 });
    db.close();
  });
});

