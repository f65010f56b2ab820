/**
 * Issue 22: a file is served only in the room whose messages brought it here. A member of an open room who names the
 * id of a private room's file in a message of its own must get neither its manifest nor a chunk, and the open room must
 * not list it as here; nor may it build a file of its own from chunks another room brought.
 */
import { afterAll, describe, expect, it } from "bun:test";
import { randomBytes } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CHUNK_BYTES, fileIdOf } from "../../src/storage/files.ts";
import { downloadHash, fileRow, upload } from "../helpers/files.ts";
import { startInstance, tempDir, waitFor } from "../helpers/instance.ts";
import { hashBytes, hostileMember, manifestOf, waitForRef } from "./files-member.ts";

const dir = tempDir("e-goat-files-rooms-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const json = { "content-type": "application/json" };

/** An instance with a private room "secret" holding a file, and the open room "lobby"; answers the file. */
async function victimWithSecret() {
  const victim = await startInstance({ args: ["--transports", "websocket", "--room", "lobby", "--name", "victim"] });
  const created = await fetch(`${victim.http}/rooms`, { method: "POST", headers: json, body: JSON.stringify({ name: "secret" }) });
  expect(created.status).toBe(200);
  const bytes = randomBytes(3 * CHUNK_BYTES + 999);
  const path = join(dir, `secret-${Date.now()}.bin`);
  writeFileSync(path, bytes);
  const { file } = await upload(victim, "secret", path, { name: "plans.pdf", type: "application/pdf" });
  return { victim, bytes, file, manifest: manifestOf(bytes) };
}

describe("a file of a private room, named in another room's message", () => {
  it("is neither served to that room's members (manifest, chunks, download) nor listed there as here", async () => {
    const { victim, file, manifest } = await victimWithSecret();
    await using _v = victim;
    await using member = await hostileMember(victim, "lobby");
    member.post([{ id: file.id, name: "mine.pdf", size: file.size, type: "application/pdf" }], "look what I have");
    await waitForRef(victim, "lobby", file.id);

    // The victim's own history of the open room: the file is named there, and none of it is here for that room.
    expect(await fileRow(victim, "lobby", file.id)).toMatchObject({ id: file.id, have: 0 });
    expect((await fetch(`${victim.http}/files/${file.id}?room=lobby`)).status).toBe(404);

    // Asked over the mesh, in the open room: the manifest and every chunk are refused.
    const from = member.rogue.received.length;
    member.rogue.send(victim, { type: "want", file: file.id, room: member.roomId, chunks: [] });
    member.rogue.send(victim, { type: "want", file: file.id, room: member.roomId, chunks: manifest.hashes.map((_, i) => i) });
    await waitFor(() => member.since(from).filter((f) => f.type === "lack" && f.file === file.id).length >= 2 || undefined, 10_000, "two refusals");
    const answers = member.since(from).filter((f) => "file" in f && f.file === file.id);
    expect(answers.map((f) => f.type).sort()).toEqual(["lack", "lack"]);

    // In its own room, and to the owner, it is served as ever.
    expect(await fileRow(victim, "secret", file.id)).toMatchObject({ have: file.size });
    expect(await downloadHash(victim, file.id, "?room=secret")).toBe(await downloadHash(victim, file.id));
  }, 60_000);

  it("a file made of chunks that another room brought is not completed from them, nor served", async () => {
    const { victim, manifest } = await victimWithSecret();
    await using _v = victim;
    await using member = await hostileMember(victim, "lobby");
    // The rogue knows the hash of the secret file's first chunk (never its bytes): a one-chunk file of its own.
    const forged = { id: fileIdOf([manifest.hashes[0]!]), size: CHUNK_BYTES, hashes: [manifest.hashes[0]!] };
    member.answer((want) =>
      want.file === forged.id && want.chunks.length === 0
        ? [{ frame: { type: "manifest", file: forged.id, size: forged.size }, binary: hashBytes(forged.hashes) }]
        : [{ frame: { type: "lack", file: want.file, chunks: want.chunks } }],
    );
    member.post([{ id: forged.id, name: "guess.bin", size: forged.size, type: "application/octet-stream" }]);
    await waitForRef(victim, "lobby", forged.id);
    // The victim asks for the manifest, then (its bytes must come through this room) for the chunk itself; before, it
    // found the chunk stored already and had the forged file whole at once.
    await waitFor(
      async () => member.wants.some((w) => w.file === forged.id && w.chunks.includes(0)) || ((await fileRow(victim, "lobby", forged.id))?.have ?? 0) > 0 || undefined,
      15_000,
      "the chunk asked of the room, or the file whole",
    );
    expect((await fileRow(victim, "lobby", forged.id))?.have).toBe(0);
    expect((await fetch(`${victim.http}/files/${forged.id}?room=lobby`)).status).toBe(404);
    const from = member.rogue.received.length;
    member.rogue.send(victim, { type: "want", file: forged.id, room: member.roomId, chunks: [0] });
    await waitFor(() => member.since(from).some((f) => f.type === "lack" || f.type === "chunk") || undefined, 10_000, "an answer");
    expect(member.since(from).filter((f) => f.type === "chunk")).toEqual([]);
    expect(member.wants.some((w) => w.file === forged.id && w.chunks.includes(0))).toBe(true);
  }, 60_000);
});
