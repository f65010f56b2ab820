// The device's identity and its person (src/storage/identity.ts): made on first start, the same after a restart, and
// made for a database from before persons.
import { describe, expect, it } from "bun:test";
import { join } from "node:path";
import { certProblem } from "../../../src/domain/persons.ts";
import { openDatabase } from "../../../src/storage/db.ts";
import { loadIdentity } from "../../../src/storage/identity.ts";
import { tempDir } from "../../helpers/instance.ts";

describe("an instance's identity", () => {
  it("is a device of a person of its own, the same after a restart", () => {
    const path = join(tempDir(), "chat.db");
    const first = openDatabase(path);
    const made = loadIdentity(first);
    first.close();
    const again = openDatabase(path);
    const loaded = loadIdentity(again);
    again.close();
    expect(loaded.nodeId).toBe(made.nodeId);
    expect(loaded.person.id).toBe(made.person.id);
    expect(loaded.cert).toEqual(made.cert);
    expect(certProblem(loaded.cert, loaded.nodeId)).toBeUndefined();
    expect(loaded.person.id).not.toBe(loaded.nodeId);
  });

  it("gets a person when its database is from before persons, and keeps its node id", () => {
    const db = openDatabase(":memory:");
    const before = loadIdentity(db);
    db.query("DELETE FROM identity WHERE key IN ('person_seed', 'device_cert')").run();
    const after = loadIdentity(db);
    expect(after.nodeId).toBe(before.nodeId);
    expect(certProblem(after.cert, after.nodeId)).toBeUndefined();
    // A certificate that is not for this device (a copied database row) is made anew for it.
    db.query("UPDATE identity SET value = ? WHERE key = 'device_cert'").run(Buffer.from(JSON.stringify({ ...after.cert, device: "0".repeat(32) })));
    const mended = loadIdentity(db);
    expect(mended.person.id).toBe(after.person.id);
    expect(certProblem(mended.cert, mended.nodeId)).toBeUndefined();
  });
});
