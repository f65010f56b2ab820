/**
 * Issue 22: no quota for guests. An anonymous guest of an open room (a browser or script on another host: a network
 * namespace here) uploaded 384 MB in 3.4 s and every member fetched it. Now each guest may upload so much a day, and
 * all guests of a room together so much (the owner's settings), with refusals that say so: 413 for a file over what
 * is left, 429 once nothing is.
 */
import { afterAll, describe, expect, it } from "bun:test";
import { rmSync } from "node:fs";
import { randomFile } from "../helpers/files.ts";
import { tempDir } from "../helpers/instance.ts";
import { createTestLan, netnsUnavailable, startHosted, type HostedInstance, type TestHost } from "../helpers/netns.ts";

const unavailable = netnsUnavailable() ?? (Bun.which("curl") ? null : "curl is missing");
if (unavailable) console.log(`guest quota tests skipped: ${unavailable}`);
const dir = tempDir("e-goat-quota-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A multipart upload made with curl from inside `host`: its status and answer. */
function uploadFrom(host: TestHost, base: string, room: string, path: string): { status: number; body: { error?: string; id?: string } } {
  const r = Bun.spawnSync(
    ["ip", "netns", "exec", host.ns, "curl", "-s", "-m", "60", "-w", "\n%{http_code}", "-F", `room=${room}`, "-F", `file=@${path};type=application/octet-stream`, `${base}/files`],
    { stdout: "pipe", stderr: "pipe" },
  );
  const out = r.stdout.toString();
  const at = out.lastIndexOf("\n");
  let body = {};
  try {
    body = JSON.parse(out.slice(0, at));
  } catch {}
  return { status: Number(out.slice(at + 1)), body };
}

/** The file messages of a room at the instance, as its owner sees them. */
async function fileMessages(owner: HostedInstance, room: string): Promise<number> {
  const messages = (await (await owner.api(`/history?room=${room}`)).json()) as { files?: unknown[] }[];
  return messages.filter((m) => m.files).length;
}

describe.skipIf(unavailable !== null)("guests' uploads", () => {
  it("a guest's 384 MB is refused at its quota of the day, and nothing of it is kept", async () => {
    await using lan = createTestLan(2);
    const [home, away] = lan.hosts as [TestHost, TestHost];
    await using owner = await startHosted(home, ["--transports", "websocket", "--room", "lobby", "--name", "alice", "--lan-addr", "127.255.255.255"]);
    const big = await randomFile(dir, 384_000_000, "big.bin");
    const started = performance.now();
    const res = uploadFrom(away, `http://${home.ip}:8080`, "lobby", big.path);
    console.log(`refused after ${((performance.now() - started) / 1000).toFixed(1)} s`);
    expect(res.status).toBe(413);
    expect(res.body.error).toBe("the file is over what you may still upload here today: 100 MB of the 100 MB a guest may upload a day");
    expect(await fileMessages(owner, "lobby")).toBe(0);
    // The refused bytes do not count: a small file still goes.
    const small = await randomFile(dir, 50_000, "small.bin");
    expect(uploadFrom(away, `http://${home.ip}:8080`, "lobby", small.path).status).toBe(200);
  }, 120_000);

  it("each guest within its quota a day, a room's guests within theirs; the owner is not counted", async () => {
    await using lan = createTestLan(3);
    const [home, one, two] = lan.hosts as [TestHost, TestHost, TestHost];
    await using owner = await startHosted(home, ["--transports", "websocket", "--room", "lobby", "--room", "other", "--name", "alice", "--lan-addr", "127.255.255.255"]);
    const set = await owner.api("/files/settings", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ guest_day_bytes: 3_000_000, guest_room_day_bytes: 5_000_000 }),
    });
    expect(set.status).toBe(200);
    const base = `http://${home.ip}:8080`;
    const mb2 = (await randomFile(dir, 2_000_000, "2mb.bin")).path;
    const mb1 = (await randomFile(dir, 1_000_000, "1mb.bin")).path;
    const tiny = (await randomFile(dir, 10, "tiny.bin")).path;

    expect(uploadFrom(one, base, "lobby", mb2).status).toBe(200);
    expect(uploadFrom(one, base, "lobby", mb2)).toEqual({ status: 413, body: { error: "the file is over what you may still upload here today: 1.0 MB of the 3.0 MB a guest may upload a day" } });
    expect(uploadFrom(one, base, "lobby", mb1).status).toBe(200);
    const full = uploadFrom(one, base, "lobby", tiny);
    expect(full.status).toBe(429);
    expect(full.body.error).toMatch(/^a guest may upload 3\.0 MB a day here, and you have; try again after \d\d:\d\d UTC$/);

    // Another guest: its own quota, but the room's guests have 2 MB left of their 5.
    expect(uploadFrom(two, base, "lobby", mb2).status).toBe(200);
    const roomFull = uploadFrom(two, base, "lobby", tiny);
    expect(roomFull.status).toBe(429);
    expect(roomFull.body.error).toMatch(/^guests may upload 5\.0 MB a day to this room, and they have; try again after \d\d:\d\d UTC$/);
    // Another room is another room's quota; the owner is not a guest.
    expect(uploadFrom(two, base, "other", tiny).status).toBe(200);
    const form = new FormData();
    form.append("room", "lobby");
    form.append("file", Bun.file(mb2), "owner.bin");
    expect((await owner.api("/files", { method: "POST", body: form })).status).toBe(200);
    expect(await fileMessages(owner, "lobby")).toBe(4);
  }, 120_000);
});
