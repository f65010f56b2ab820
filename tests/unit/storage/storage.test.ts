import { groupedNodeId } from "../../../src/domain/names.ts";
import { nodeIdOf } from "../../../src/storage/identity.ts";
import { createHash, generateKeyPairSync } from "node:crypto";
import { Database } from "bun:sqlite";
import { afterEach, describe, expect, it } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { migrate, openDatabase, schemaVersion, StorageError } from "../../../src/storage/db.ts";
import { openStorage } from "../../../src/storage/index.ts";
import { MessageStore } from "../../../src/storage/messages.ts";
import { messageHash } from "../../../src/storage/vectors.ts";
import { MAX_KNOWN_PEERS } from "../../../src/storage/peers.ts";
import { MIGRATIONS } from "../../../src/storage/schema.ts";
import { tempDir } from "../../helpers/instance.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function dbPath() {
  const dir = tempDir();
  dirs.push(dir);
  return join(dir, "chat.db");
}

// Storage keeps signatures as given; sync checks them (tests/sync).
const msg = (seq: number, text = `m${seq}`, origin = "origin-a", room = "r") => ({ origin, room, seq, peer_id: "p", text, sent_at: 1, sig: "s", key: "k" });

describe("database file", () => {
  it("is created in WAL mode at the latest schema version", () => {
    const db = openDatabase(dbPath());
    expect((db.query("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode).toBe("wal");
    expect(schemaVersion(db)).toBe(MIGRATIONS.length);
    db.close();
  });

  it("migrates forward step by step and leaves a migrated file alone", () => {
    const db = new Database(":memory:");
    const steps = ["CREATE TABLE a (x)", "ALTER TABLE a ADD COLUMN y", "CREATE TABLE b (z)"];
    migrate(db, steps.slice(0, 1));
    expect(schemaVersion(db)).toBe(1);
    migrate(db, steps);
    expect(schemaVersion(db)).toBe(3);
    expect(db.query("SELECT name FROM pragma_table_info('a')").all()).toEqual([{ name: "x" }, { name: "y" }]);
    migrate(db, steps);
    expect(schemaVersion(db)).toBe(3);
  });

  it("takes a database from before room keys forward: its rooms open, its key kept, its peers forgotten", () => {
    const path = dbPath();
    const old = new Database(path);
    migrate(old, MIGRATIONS.slice(0, 2));
    old.run("INSERT INTO rooms (name, joined_at) VALUES ('family', 1)");
    old.run(`INSERT INTO peers (node_id, name, addresses, rooms, last_seen) VALUES ('b', 'b', '{}', '["family"]', 1)`);
    const { publicKey, privateKey } = generateKeyPairSync("ed25519");
    old.query("INSERT INTO identity (key, value) VALUES ('private_key', ?)").run(privateKey.export({ format: "der", type: "pkcs8" }));
    old.close();
    const s = openStorage(path);
    expect(s.rooms.list()).toEqual([{ name: "family", key: null, read_stamp: 0, left_at: null }]);
    // Peers had 80-bit node ids and named rooms by name: they are met again through rooms and invites.
    expect(s.peers.all()).toEqual([]);
    // The same key, so the same identity; its node id is now the longer one.
    expect(s.identity.nodeId).toBe(nodeIdOf(publicKey));
    expect(s.identity.nodeId).toMatch(/^[0-9a-f]{32}$/);
    s.close();
  });

  it("rolls back a failing migration as a whole", () => {
    const db = new Database(":memory:");
    expect(() => migrate(db, ["CREATE TABLE a (x); CREATE TABLE a (x)"])).toThrow();
    expect(schemaVersion(db)).toBe(0);
    expect(db.query("SELECT name FROM sqlite_master WHERE name = 'a'").all()).toEqual([]);
  });

  it("refuses a file from a newer build with a clear error", () => {
    const path = dbPath();
    const raw = new Database(path);
    raw.exec(`PRAGMA user_version = ${MIGRATIONS.length + 5}`);
    raw.close();
    expect(() => openDatabase(path)).toThrow(StorageError);
    expect(() => openDatabase(path)).toThrow(/newer/);
  });

  it("refuses a file that is not a database with a clear error", async () => {
    const path = dbPath();
    await Bun.write(path, "this is not sqlite, just text long enough to be read as a header".repeat(20));
    expect(() => openDatabase(path)).toThrow(StorageError);
  });
});

describe("identity", () => {
  it("names a node by 128 bits of SHA-256 over its raw public key", () => {
    const { publicKey } = generateKeyPairSync("ed25519");
    const raw = Buffer.from(publicKey.export({ format: "jwk" }).x!, "base64url");
    expect(raw).toHaveLength(32);
    expect(nodeIdOf(publicKey)).toBe(createHash("sha256").update(raw).digest("hex").slice(0, 32));
    expect(groupedNodeId(nodeIdOf(publicKey))).toMatch(/^([0-9a-f]{4}-){7}[0-9a-f]{4}$/);
  });

  it("is created once and kept across restarts", () => {
    const path = dbPath();
    const first = openStorage(path);
    const id = first.identity.nodeId;
    first.close();
    const second = openStorage(path);
    expect(second.identity.nodeId).toBe(id);
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    second.close();
  });

  it("differs between databases", () => {
    expect(openStorage(":memory:").identity.nodeId).not.toBe(openStorage(":memory:").identity.nodeId);
  });
});

describe("messages", () => {
  it("stores each (origin, room, seq) once", () => {
    const s = openStorage(":memory:");
    expect(s.messages.insert(msg(1))).not.toBeNull();
    expect(s.messages.insert(msg(1, "again"))).toBeNull();
    expect(s.messages.since("r", 0, 10).map((m) => m.text)).toEqual(["m1"]);
  });

  it("gives strictly increasing stamps even within one millisecond", () => {
    const s = openStorage(":memory:");
    const stamps = Array.from({ length: 500 }, (_, i) => s.messages.insert(msg(i + 1))!.timestamp);
    for (let i = 1; i < stamps.length; i++) expect(stamps[i]!).toBeGreaterThan(stamps[i - 1]!);
  });

  it("never reuses a stamp after a restart, even if the clock went back", () => {
    const path = dbPath();
    const first = openStorage(path);
    first.db.query("INSERT INTO messages (stamp, origin, room, seq, peer_id, text, sent_at) VALUES (?, 'o', 'r', 1, 'p', 'future', 1)").run(Date.now() + 3_600_000);
    first.close();
    const second = openStorage(path);
    const m = second.messages.insert(msg(2))!;
    expect(m.timestamp).toBeGreaterThan(Date.now() + 3_000_000);
    second.close();
  });

  it("derives the id from origin, seq and room", () => {
    const s = openStorage(":memory:");
    expect(s.messages.insert(msg(7, "x", "abc", "room.1"))!.id).toBe("abc:7:room.1");
    expect(s.messages.since("room.1", 0, 1)[0]!.id).toBe("abc:7:room.1");
  });

  it("pages before a stamp, newest window first but oldest first within it", () => {
    const s = openStorage(":memory:");
    const stamps = Array.from({ length: 10 }, (_, i) => s.messages.insert(msg(i + 1))!.timestamp);
    expect(s.messages.before("r", stamps[5]!, 3).map((m) => m.text)).toEqual(["m3", "m4", "m5"]);
  });

  it("reports the highest sequence per origin and room", () => {
    const s = openStorage(":memory:");
    s.messages.insert(msg(1));
    s.messages.insert(msg(4));
    s.messages.insert(msg(9, "x", "origin-b"));
    expect(s.messages.maxSeq("origin-a", "r")).toBe(4);
    expect(s.messages.maxSeq("origin-a", "other")).toBe(0);
  });

  it("a copy of the file restores everything", async () => {
    const path = dbPath();
    const s = openStorage(path);
    s.rooms.join({ name: "r", key: null });
    s.rooms.join({ name: "family", key: "k".repeat(43) });
    s.messages.insert(msg(1));
    const id = s.identity.nodeId;
    s.close();
    const copy = dbPath();
    await Bun.write(copy, Bun.file(path));
    const restored = openStorage(copy);
    expect(restored.identity.nodeId).toBe(id);
    expect(restored.rooms.list()).toEqual([
      { name: "family", key: "k".repeat(43), read_stamp: 0, left_at: null },
      { name: "r", key: null, read_stamp: 0, left_at: null },
    ]);
    expect(restored.messages.since("r", 0, 10)).toHaveLength(1);
    restored.close();
  });
});

describe("version vectors", () => {
  it("hold the highest sequence with none missing before it, per origin", () => {
    const s = openStorage(":memory:");
    expect(s.messages.vector("r")).toEqual({});
    for (const seq of [1, 2, 4]) s.messages.insert(msg(seq));
    s.messages.insert(msg(2, "x", "origin-b"));
    expect(s.messages.vector("r")).toEqual({ "origin-a": 2, "origin-b": 0 });
    s.messages.insert(msg(3));
    expect(s.messages.vector("r")).toEqual({ "origin-a": 4, "origin-b": 0 });
    s.messages.insert(msg(1, "x", "origin-b"));
    expect(s.messages.vector("r")).toEqual({ "origin-a": 4, "origin-b": 2 });
    expect(s.messages.vector("other")).toEqual({});
  });

  it("are the same when computed afresh from the file", () => {
    const path = dbPath();
    const first = openStorage(path);
    for (const seq of [1, 2, 3, 5, 6]) first.messages.insert(msg(seq));
    for (const seq of [2, 3]) first.messages.insert(msg(seq, "x", "origin-b"));
    const before = first.messages.vector("r");
    first.close();
    const second = openStorage(path);
    expect(second.messages.vector("r")).toEqual(before);
    expect(before).toEqual({ "origin-a": 3, "origin-b": 0 });
    second.close();
  });

  it("lists what comes after a sequence, in order", () => {
    const s = openStorage(":memory:");
    for (const seq of [3, 1, 2, 5]) s.messages.insert(msg(seq));
    expect(s.messages.after("origin-a", "r", 1, 10).map((m) => m.seq)).toEqual([2, 3, 5]);
    expect(s.messages.after("origin-a", "r", 1, 2).map((m) => m.seq)).toEqual([2, 3]);
  });
});

describe("two messages an author signed with one sequence number", () => {
  // Two signatures, and which of them hashes lower: the message that carries it is kept everywhere.
  const sigs = ["c2lnbmF0dXJlLW9uZQ", "c2lnbmF0dXJlLXR3bw"];
  const [low, high] = [...sigs].sort((x, y) => Buffer.compare(messageHash(x), messageHash(y)));
  const signed = (sig: string, text: string) => ({ ...msg(1, text), sig });

  it("the lower hash stays whichever came first, replacing the other with a new stamp; the author is flagged", () => {
    for (const first of [low!, high!]) {
      const s = openStorage(":memory:");
      const a = s.messages.receive(signed(first, `first ${first}`), "peer-x");
      expect(a.kind).toBe("new");
      const b = s.messages.receive(signed(first === low ? high! : low!, "second"), "peer-y");
      expect(b.kind).toBe(first === low ? "lost" : "won");
      const [kept] = s.messages.since("r", 0, 10);
      expect(kept!.text).toBe(first === low ? `first ${low}` : "second");
      expect(kept!.conflicting).toBe(true);
      if (b.kind === "won") expect(b.replaced).toBe((a as { message: { timestamp: number } }).message.timestamp);
      // Sent again, either is known for what it is.
      expect(s.messages.receive(signed(low!, "again"), "peer-z").kind).toBe("held");
      expect(s.messages.receive(signed(high!, "again"), "peer-z").kind).toBe("lost");
    }
  });

  it("the files only the replaced one carried are no longer the room's", () => {
    const s = openStorage(":memory:");
    const file = { id: "f".repeat(64), name: "a.txt", size: 1, type: "text/plain" };
    s.messages.receive({ ...signed(high!, "with a file"), files: [file] }, "p");
    expect(s.db.query("SELECT file FROM file_refs").all()).toEqual([{ file: file.id }]);
    const won = s.messages.receive(signed(low!, "without"), "p");
    expect(won.kind === "won" && won.files).toEqual([file.id]);
    expect(s.db.query("SELECT file FROM file_refs").all()).toEqual([]);
  });

  it("changes the digest its vector carries: members holding different ones tell so, and the same ones agree", () => {
    const one = openStorage(":memory:");
    const two = openStorage(":memory:");
    one.messages.receive(signed(low!, "x"), "p");
    two.messages.receive(signed(high!, "y"), "p");
    for (const s of [one, two]) s.messages.receive({ ...msg(2), sig: "bGF0ZXI" }, "p");
    expect(one.messages.vector("r")).toEqual(two.messages.vector("r"));
    expect(one.messages.digests("r")["origin-a"]).not.toBe(two.messages.digests("r")["origin-a"]);
    two.messages.receive(signed(low!, "x"), "p");
    expect(two.messages.digests("r")).toEqual(one.messages.digests("r"));
  });

  it("digests are the same whatever order the messages came in, and when read afresh from the file", () => {
    const path = dbPath();
    const first = openStorage(path);
    const other = openStorage(":memory:");
    const sigOf = (seq: number) => Buffer.from(`sig ${seq}`).toString("base64url");
    for (const seq of [1, 2, 3, 4]) first.messages.receive({ ...msg(seq), sig: sigOf(seq) }, "p");
    for (const seq of [4, 2, 3, 1]) other.messages.receive({ ...msg(seq), sig: sigOf(seq) }, "p");
    const digests = first.messages.digests("r");
    expect(other.messages.digests("r")).toEqual(digests);
    first.close();
    const again = openStorage(path);
    expect(again.messages.digests("r")).toEqual(digests);
    again.close();
  });
});

describe("a room's author places", () => {
  function store(maxAuthors: number) {
    const db = openDatabase(":memory:");
    return new MessageStore(db, { self: "self", maxAuthors });
  }
  const by = (origin: string, seq = 1) => msg(seq, `${origin} ${seq}`, origin);

  it("a newcomer to a full room takes the place of an author brought by whoever brought the most, the quietest", () => {
    const s = store(5);
    s.insert(by("self"));
    s.receive(by("honest"), "honest");
    s.receive(by("honest", 2), "honest");
    // A member floods the room with authors it invented: it brought the most.
    for (const i of [1, 2, 3]) s.receive(by(`flood-${i}`), "flooder");
    s.receive(by("flood-2", 2), "flooder");
    expect(Object.keys(s.vector("r"))).toHaveLength(5);
    const newcomer = s.receive(by("newcomer"), "newcomer");
    expect(newcomer.kind).toBe("new");
    // flood-1 and flood-3 wrote once; flood-1 is idle longest.
    expect(newcomer.kind === "new" && newcomer.evicted?.origin).toBe("flood-1");
    expect(Object.keys(s.vector("r")).sort()).toEqual(["flood-2", "flood-3", "honest", "newcomer", "self"]);
    // More flood makes place out of the flood itself, never out of the authors others brought, nor this instance.
    for (const i of [4, 5, 6, 7]) s.receive(by(`flood-${i}`), "flooder");
    expect(Object.keys(s.vector("r")).sort()).toEqual(["flood-7", "honest", "newcomer", "self", "flood-2"].sort());
  });

  it("an evicted author's messages, sent again, are passed over until it writes something new", () => {
    const s = store(2);
    s.insert(by("self"));
    s.receive(by("old"), "peer");
    const taken = s.receive(by("newcomer"), "newcomer");
    expect(taken.kind === "new" && taken.evicted?.origin).toBe("old");
    expect(s.since("r", 0, 10).map((m) => m.text)).toEqual(["self 1", "newcomer 1"]);
    expect(s.receive(by("old"), "another").kind).toBe("passed");
    // It came back: its new message takes a place (out of the newcomer's, the only one not this instance's).
    expect(s.receive(by("old", 2), "old").kind).toBe("new");
    expect(s.receive(by("old"), "another").kind).toBe("new");
    expect(s.vector("r")).toEqual({ self: 1, old: 2 });
  });
});

describe("known peers", () => {
  it("are saved, updated and listed newest first", () => {
    const s = openStorage(":memory:");
    s.peers.save({ node_id: "a", name: "A", addresses: { http: "http://a" }, rooms: ["r"], last_seen: 1 });
    s.peers.save({ node_id: "b", name: "B", addresses: {}, rooms: [], last_seen: 2 });
    s.peers.save({ node_id: "a", name: "A2", addresses: { http: "http://a2" }, rooms: ["r", "s"], last_seen: 3 });
    expect(s.peers.all()).toEqual([
      { node_id: "a", name: "A2", addresses: { http: "http://a2" }, rooms: ["r", "s"], last_seen: 3 },
      { node_id: "b", name: "B", addresses: {}, rooms: [], last_seen: 2 },
    ]);
  });

  it("are kept up to MAX_KNOWN_PEERS, the ones seen longest ago dropped first", () => {
    const s = openStorage(":memory:");
    for (let i = 0; i < MAX_KNOWN_PEERS + 10; i++) s.peers.save({ node_id: `p${i}`, name: "P", addresses: {}, rooms: ["r"], last_seen: i });
    const kept = s.peers.all();
    expect(kept).toHaveLength(MAX_KNOWN_PEERS);
    expect(kept.at(-1)!.node_id).toBe("p10");
  });
});
