/**
 * Issue 22: what an instance fetches by itself is the owner's setting (default: images and files up to 25 MB); a larger
 * file waits for the owner's click, a fetch can be cancelled (nothing half-stored stays, it can be fetched again
 * later), and the setting is kept in chat.db.
 */
import { afterAll, describe, expect, it } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { CHUNK_BYTES } from "../../../src/storage/files.ts";
import { downloadHash, fileRow, randomFile, upload, waitForWhole } from "../../helpers/files.ts";
import { startInstance, tempDir, waitFor } from "../../helpers/instance.ts";
import { waitForLink } from "../../helpers/mesh.ts";

const dir = tempDir("e-goat-fetch-policy-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const json = { "content-type": "application/json", accept: "application/json" };

const settingsOf = async (base: string) => (await fetch(`${base}/files/settings`)).json();
const setSettings = (base: string, settings: Record<string, unknown>) => fetch(`${base}/files/settings`, { method: "POST", headers: json, body: JSON.stringify(settings) });
const act = (base: string, room: string, id: string, action: "fetch" | "cancel") => fetch(`${base}/rooms/${room}/files/${id}/${action}`, { method: "POST", headers: { accept: "application/json" } });

describe("what is fetched by itself", () => {
  it("files up to 25 MB come by themselves; a larger one waits for a click, then comes", async () => {
    await using a = await startInstance({ args: ["--transports", "websocket", "--room", "docs", "--name", "alpha"] });
    await using b = await startInstance({ args: ["--transports", "websocket", "--room", "docs", "--name", "beta", "--peer", a.http] });
    await waitForLink(b, a);
    expect(await settingsOf(b.http)).toEqual({ auto_fetch: "all", auto_fetch_bytes: 25_000_000, guest_day_bytes: 100_000_000, guest_room_day_bytes: 500_000_000 });
    const big = await randomFile(dir, 30_000_000, "big.bin");
    const small = await randomFile(dir, 1_000_000, "small.bin");
    const { file: bigFile } = await upload(a, "docs", big.path);
    const { file: smallFile } = await upload(a, "docs", small.path);
    // The small one, posted after, is whole; the big one has not come.
    await waitForWhole(b, "docs", smallFile.id);
    await Bun.sleep(1000);
    expect((await fileRow(b, "docs", bigFile.id))?.have).toBe(0);
    // Its place in the page: a Fetch button with its size.
    const page = await (await fetch(`${b.http}/?room=docs`)).text();
    expect(page).toContain("Fetch (30 MB)");
    expect(page).toContain(`/rooms/docs/files/${bigFile.id}/fetch`);
    // Guests have no such button.
    const clicked = await act(b.http, "docs", bigFile.id, "fetch");
    expect(clicked.status).toBe(200);
    await waitForWhole(b, "docs", bigFile.id, 60_000);
    expect(await downloadHash(b, bigFile.id)).toBe(big.sha256);
  }, 90_000);

  it("the owner's setting: nothing by itself, images only, or a size; kept across a restart", async () => {
    const bDir = tempDir("e-goat-fetch-policy-b-");
    try {
      await using a = await startInstance({ args: ["--transports", "websocket", "--room", "docs", "--name", "alpha"] });
      const bArgs = ["--transports", "websocket", "--room", "docs", "--name", "beta", "--peer", a.http];
      const b = await startInstance({ db: join(bDir, "chat.db"), args: bArgs });
      await waitForLink(b, a);
      expect((await setSettings(b.http, { auto_fetch: "images", auto_fetch_bytes: 2_000_000 })).status).toBe(200);
      await b.stop();
      await using again = await startInstance({ db: join(bDir, "chat.db"), args: bArgs });
      expect(await settingsOf(again.http)).toMatchObject({ auto_fetch: "images", auto_fetch_bytes: 2_000_000 });
      await waitForLink(again, a);
      const text = await randomFile(dir, 10_000, "note.txt");
      const image = await randomFile(dir, 10_000, "pic.png");
      const bigImage = await randomFile(dir, 3_000_000, "big.png");
      const { file: textFile } = await upload(a, "docs", text.path, { type: "text/plain" });
      const { file: bigImageFile } = await upload(a, "docs", bigImage.path, { type: "image/png" });
      const { file: imageFile } = await upload(a, "docs", image.path, { type: "image/png" });
      await waitForWhole(again, "docs", imageFile.id);
      await Bun.sleep(1000);
      expect((await fileRow(again, "docs", textFile.id))?.have).toBe(0);
      expect((await fileRow(again, "docs", bigImageFile.id))?.have).toBe(0);
      // Everything by itself again: what waited comes now.
      expect((await setSettings(again.http, { auto_fetch: "all", auto_fetch_bytes: 5_000_000 })).status).toBe(200);
      await waitForWhole(again, "docs", textFile.id);
      await waitForWhole(again, "docs", bigImageFile.id);
      // Refused settings say why.
      const bad = await setSettings(again.http, { auto_fetch: "some", auto_fetch_bytes: -1 });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: string }).error).toContain("auto_fetch");
    } finally {
      rmSync(bDir, { recursive: true, force: true });
    }
  }, 90_000);
});

describe("a fetch cancelled", () => {
  it("stops, keeps nothing half-stored as whole, and can be fetched again later", async () => {
    await using a = await startInstance({ args: ["--transports", "http", "--room", "docs", "--name", "alpha"] });
    await using b = await startInstance({ args: ["--transports", "http", "--room", "docs", "--name", "beta", "--peer", a.http] });
    await waitForLink(b, a);
    // Big enough that it is still coming when cancelled: fetched on the owner's click.
    const source = await randomFile(dir, 300_000_000, "cancel.bin");
    const { file } = await upload(a, "docs", source.path);
    await waitFor(() => fileRow(b, "docs", file.id), 10_000, "its message at beta");
    expect((await act(b.http, "docs", file.id, "fetch")).status).toBe(200);
    await waitFor(async () => ((await fileRow(b, "docs", file.id))?.have ?? 0) >= 2 * CHUNK_BYTES || undefined, 30_000, "part of it at beta");
    const res = await act(b.http, "docs", file.id, "cancel");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ file: file.id, state: "offered" });
    // It stops; what came is dropped; it is not whole, and not served.
    await Bun.sleep(1500);
    const after = await fileRow(b, "docs", file.id);
    expect(after?.have).toBe(0);
    expect((await fetch(`${b.http}/files/${file.id}`)).status).toBe(404);
    const page = await (await fetch(`${b.http}/?room=docs`)).text();
    expect(page).toContain("Fetch (300 MB)");
    // Asked for again, it comes whole.
    expect((await act(b.http, "docs", file.id, "fetch")).status).toBe(200);
    await waitForWhole(b, "docs", file.id, 120_000);
    expect(await downloadHash(b, file.id)).toBe(source.sha256);
  }, 180_000);

  it("fetch and cancel are the owner's, for a file of the room", async () => {
    await using a = await startInstance({ args: ["--transports", "websocket", "--room", "docs", "--name", "alpha"] });
    const other = "0".repeat(64);
    expect((await act(a.http, "docs", other, "fetch")).status).toBe(404);
    expect((await act(a.http, "nowhere", other, "cancel")).status).toBe(404);
    expect((await act(a.http, "docs", "xyz", "fetch")).status).toBe(400);
  }, 30_000);
});
