// What a mailbox keeps (src/storage/mailbox.ts): in order per topic, once, within its size and days, fairly.
import { afterEach, describe, expect, it } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { openDatabase } from "../../../src/storage/db.ts";
import { MailboxStore } from "../../../src/storage/mailbox.ts";
import { tempDir } from "../../helpers/instance.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const KiB = 1024;
const item = (n: number, size = KiB) => new Uint8Array(size).fill(n % 256);
const memory = (limits: { maxBytes: number; days?: number; pusherShare?: number }) => new MailboxStore(openDatabase(":memory:"), { days: 30, ...limits });

describe("a mailbox's store", () => {
  it("gives a topic's items in the order they came, after a reader's cursor, and each once", () => {
    const box = memory({ maxBytes: 1024 * KiB });
    const stamps = [1, 2, 3].map((n) => box.push("t1", `id${n}`, "p", item(n)));
    box.push("t2", "other", "p", item(9));
    expect(stamps.map((s) => s.kind)).toEqual(["stored", "stored", "stored"]);
    expect(box.push("t1", "id2", "q", item(2))).toEqual({ kind: "held" });
    const all = box.since("t1", 0, 10);
    expect(all.map((i) => i.id)).toEqual(["id1", "id2", "id3"]);
    expect(all[1]!.sealed).toEqual(item(2));
    expect(box.since("t1", all[0]!.stamp, 10).map((i) => i.id)).toEqual(["id2", "id3"]);
    expect(box.since("t1", all[0]!.stamp, 1).map((i) => i.id)).toEqual(["id2"]);
    expect(box.since("t2", 0, 10).map((i) => i.id)).toEqual(["other"]);
    expect(box.holds("t1", "id3")).toBe(true);
    expect(box.holds("t2", "id3")).toBe(false);
  });

  it("keeps what it holds across a restart, and a cursor never skips an item that came after", () => {
    const dir = tempDir();
    dirs.push(dir);
    const file = join(dir, "chat.db");
    const db = openDatabase(file);
    const box = new MailboxStore(db, { maxBytes: 1024 * KiB, days: 30 });
    box.push("t", "a", "p", item(1));
    const b = box.push("t", "b", "p", item(2));
    db.close();
    const again = new MailboxStore(openDatabase(file), { maxBytes: 1024 * KiB, days: 30 });
    expect(again.stats()).toMatchObject({ topics: 1, items: 2, bytes: 2 * KiB });
    const c = again.push("t", "c", "p", item(3));
    expect(c.kind === "stored" && b.kind === "stored" && c.stamp > b.stamp).toBe(true);
    expect(again.since("t", b.kind === "stored" ? b.stamp : 0, 10).map((i) => i.id)).toEqual(["c"]);
  });

  it("when full, lets the oldest items of the topic holding the most go first", () => {
    const box = memory({ maxBytes: 10 * KiB, pusherShare: 10 * KiB });
    for (let n = 0; n < 3; n++) box.push("quiet", `q${n}`, "pq", item(n));
    for (let n = 0; n < 7; n++) box.push("busy", `b${n}`, "pb", item(n));
    expect(box.stats().bytes).toBe(10 * KiB);
    box.push("busy", "b7", "pb", item(7));
    box.push("quiet", "q3", "pq", item(3));
    expect(box.stats().bytes).toBeLessThanOrEqual(10 * KiB);
    // The busy room lost its own oldest; the quiet one kept all of its own.
    expect(box.since("quiet", 0, 10).map((i) => i.id)).toEqual(["q0", "q1", "q2", "q3"]);
    expect(box.since("busy", 0, 10).map((i) => i.id)).toEqual(["b2", "b3", "b4", "b5", "b6", "b7"]);
  });

  it("refuses, saying why, an item over its size and a pusher over its share; others still push", () => {
    const box = memory({ maxBytes: 64 * KiB, pusherShare: 4 * KiB });
    const big = box.push("t", "big", "p", item(1, 400 * KiB));
    expect(big.kind).toBe("refused");
    expect(big.kind === "refused" && big.reason).toContain("bytes is not kept here");
    for (let n = 0; n < 4; n++) expect(box.push("t", `p${n}`, "greedy", item(n)).kind).toBe("stored");
    const over = box.push("t", "p4", "greedy", item(4));
    expect(over.kind === "refused" && over.reason).toContain("share");
    expect(box.push("t", "fair", "honest", item(5)).kind).toBe("stored");
  });

  it("drops what it kept longer than its days, and counts it no more", () => {
    const box = memory({ maxBytes: 64 * KiB, days: 30 });
    const day = 24 * 60 * 60 * 1000;
    const now = Date.now();
    box.push("t", "old", "p", item(1), now - 31 * day);
    box.push("t", "new", "p", item(2), now - day);
    expect(box.expire(now)).toBe(1);
    expect(box.since("t", 0, 10).map((i) => i.id)).toEqual(["new"]);
    expect(box.stats()).toMatchObject({ items: 1, bytes: KiB, oldest: now - day });
  });
});
