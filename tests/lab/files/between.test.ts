// Files between real instances: each tier, several sources at once, a restart halfway, a peer serving bad chunks.
import { MAX_WINDOW } from "../../../src/sync/files/chunk-window.ts";
import { afterAll, describe, expect, it } from "bun:test";
import { rmSync } from "node:fs";
import { roomIdOf } from "../../../src/domain/rooms.ts";
import { CHUNK_BYTES } from "../../../src/storage/files.ts";
import { decodeFrame, encodeFrame } from "../../../src/sync/codec.ts";
import { startCoturn, TURNSERVER } from "../../helpers/coturn.ts";
import { chunkCounts, downloadHash, fileRow, randomFile, upload, waitForWhole } from "../../helpers/files.ts";
import { startInstance, tempDir, waitFor } from "../../helpers/instance.ts";
import { peersOf, waitForLink } from "../../helpers/mesh.ts";
import { freeUdpPort } from "../../helpers/ports.ts";
import { openRoom, startRogue } from "../../helpers/rogue.ts";

const dir = tempDir("e-goat-files-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Chunks a file of `size` bytes has. */
const chunks = (size: number) => Math.ceil(size / CHUNK_BYTES);

async function crossOn(tier: string, extra: string[] = []) {
  const lan = tier === "lan" ? ["--lan-port", String(await freeUdpPort())] : [];
  await using a = await startInstance({ args: ["--transports", tier, "--room", "docs", "--name", "alpha", ...lan, ...extra] });
  await using b = await startInstance({ args: ["--transports", tier, "--room", "docs", "--name", "beta", ...lan, ...extra, ...(tier === "lan" ? [] : ["--peer", a.http])] });
  await waitForLink(b, a, tier);
  // Not a whole number of chunks, so the short last chunk crosses too.
  const source = await randomFile(dir, 5 * CHUNK_BYTES + 777, `${tier}.bin`);
  const { file } = await upload(a, "docs", source.path, { name: `report ${tier}.pdf`, type: "application/pdf" });
  expect(file).toMatchObject({ name: `report ${tier}.pdf`, size: source.size, type: "application/pdf" });
  const row = await waitForWhole(b, "docs", file.id);
  expect(row).toEqual({ ...file, have: source.size });
  expect(await downloadHash(b, file.id)).toBe(source.sha256);
  expect(await chunkCounts(b, a)).toEqual({ received: chunks(source.size), sent: 0 });
}

describe("a file crosses between two instances, byte for byte, on each tier", () => {
  it("webrtc", () => crossOn("webrtc"), 60_000);
  it("websocket", () => crossOn("websocket"), 60_000);
  it("http", () => crossOn("http"), 60_000);
  it("lan", () => crossOn("lan"), 60_000);
  if (!TURNSERVER) console.log("turn file test skipped: coturn missing (apt-get install coturn)");
  it.skipIf(!TURNSERVER)(
    "turn",
    async () => {
      await using coturn = await startCoturn();
      const { username, password, host, port } = coturn.server;
      await crossOn("turn", ["--turn", `turn:${username}:${password}@${host}:${port}`]);
    },
    60_000,
  );
});

it("three instances: C fetches one file from A and B at once", async () => {
  const args = (name: string) => ["--transports", "websocket", "--room", "trio", "--name", name];
  await using a = await startInstance({ args: args("alpha") });
  await using b = await startInstance({ args: [...args("beta"), "--peer", a.http] });
  await waitForLink(b, a);
  const source = await randomFile(dir, 64 * CHUNK_BYTES, "trio.bin");
  const { file } = await upload(a, "trio", source.path);
  await waitForWhole(b, "trio", file.id);
  // C links to both before it joins the room, so both are members when the message and its file reach it.
  await using c = await startInstance({ args: ["--transports", "websocket", "--name", "gamma", "--peer", a.http, "--peer", b.http] });
  await waitFor(async () => (await peersOf(c)).filter((p) => p.state === "connected").length === 2, 10_000, "C linked to A and B");
  const joined = await fetch(`${c.http}/rooms`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "trio", private: false }) });
  expect(joined.status).toBe(200);
  await waitForWhole(c, "trio", file.id, 60_000);
  expect(await downloadHash(c, file.id)).toBe(source.sha256);
  const fromA = (await chunkCounts(c, a)).received;
  const fromB = (await chunkCounts(c, b)).received;
  console.log(`C stored ${fromA} chunks from A and ${fromB} from B`);
  expect(fromA + fromB).toBe(64);
  expect(fromA).toBeGreaterThan(0);
  expect(fromB).toBeGreaterThan(0);
}, 90_000);

it("the receiver SIGKILLed halfway and restarted: the transfer completes from the chunks it stored", async () => {
  const bDir = tempDir("e-goat-files-b-");
  try {
    await using a = await startInstance({ args: ["--transports", "http", "--room", "resume", "--name", "alpha"] });
    const bArgs = ["--transports", "http", "--room", "resume", "--name", "beta", "--peer", a.http];
    const b = await startInstance({ db: `${bDir}/chat.db`, args: bArgs });
    await waitForLink(b, a);
    const total = chunks(48 * CHUNK_BYTES);
    const source = await randomFile(dir, 48 * CHUNK_BYTES, "resume.bin");
    const { file } = await upload(a, "resume", source.path);
    // Killed once a good part is stored, before the end.
    await waitFor(async () => ((await fileRow(b, "resume", file.id))?.have ?? 0) >= 12 * CHUNK_BYTES, 60_000, "a quarter at B");
    await b.stop("SIGKILL");
    const sentBefore = (await chunkCounts(a, b)).sent;
    expect(sentBefore).toBeLessThan(total);
    await using again = await startInstance({ db: `${bDir}/chat.db`, args: bArgs });
    const heldAtRestart = (await fileRow(again, "resume", file.id))!.have;
    expect(heldAtRestart).toBeGreaterThan(0);
    await waitForWhole(again, "resume", file.id, 60_000);
    expect(await downloadHash(again, file.id)).toBe(source.sha256);
    const sent = (await chunkCounts(a, again)).sent;
    console.log(`A sent ${sent} chunks for a file of ${total}; B held ${heldAtRestart / CHUNK_BYTES} after its restart`);
    // Only what was in flight at the kill (one window) may have crossed twice.
    expect(sent).toBeLessThanOrEqual(total + MAX_WINDOW);
    expect((await chunkCounts(again, a)).received).toBe(total - heldAtRestart / CHUNK_BYTES);
  } finally {
    rmSync(bDir, { recursive: true, force: true });
  }
}, 120_000);

it("a member serving corrupted chunks is refused; the chunks come from elsewhere and the file is right", async () => {
  await using a = await startInstance({ args: ["--transports", "websocket", "--room", "open1", "--name", "alpha"] });
  await using c = await startInstance({ args: ["--transports", "websocket", "--room", "open1", "--name", "gamma", "--peer", a.http] });
  await waitForLink(c, a);
  await using rogue = await startRogue();
  await rogue.link(c);
  const room = openRoom("open1", rogue.id, c.nodeId);
  rogue.send(c, { type: "hello", name: "rogue", proofs: [room.proof], addresses: {} });
  await waitFor(async () => ((await (await fetch(`${c.http}/peers`)).json()) as { node_id: string; rooms: string[] }[]).some((p) => p.node_id === rogue.id && p.rooms.length > 0), 10_000, "the rogue a member at C");
  // The rogue answers every chunk request with garbage of the right length, and lacks the manifest.
  let asked = 0;
  rogue.links.onData((from, data) => {
    const { frame } = decodeFrame(data);
    if (frame.type !== "want") return;
    if (frame.chunks.length === 0) return void rogue.links.send(from, encodeFrame({ type: "lack", file: frame.file, chunks: [] }));
    for (const index of frame.chunks) {
      asked++;
      rogue.links.send(from, encodeFrame({ type: "chunk", file: frame.file, index }, new Uint8Array(CHUNK_BYTES).fill(7)));
    }
  });
  const source = await randomFile(dir, 32 * CHUNK_BYTES, "rogue.bin");
  const { file } = await upload(a, "open1", source.path);
  await waitForWhole(c, "open1", file.id, 60_000);
  expect(await downloadHash(c, file.id)).toBe(source.sha256);
  expect(asked).toBeGreaterThan(0);
  expect(await chunkCounts(c, rogue.id)).toEqual({ received: 0, sent: 0 });
  expect((await chunkCounts(c, a)).received).toBe(32);
  await waitFor(() => c.output().includes(`refused from ${rogue.id}`) || undefined, 5000, "the refusal logged").catch(() => {
    throw new Error(`no refusal logged:\n${c.output()}`);
  });
  expect(c.output()).toContain("failed its hash");
  expect(roomIdOf({ name: "open1", key: null })).toBe(room.id);
}, 90_000);
