/**
 * HTTP fuzz (issue 22): every route of a real instance, asked for a bounded time by its owner's machine with hostile
 * paths, query strings, headers and bodies (JSON of any shape, forms, broken multipart, bytes, large ones), among
 * requests that name real rooms, keys and files so they get past the first checks. Nothing may answer 5xx, and the
 * instance must stay up and log no unhandled failure. FUZZ_SECONDS (default 20) sets the time, FUZZ_SEED the seed.
 */
import { describe, expect, it } from "bun:test";
import { join } from "node:path";
import { startInstance } from "../../helpers/instance.ts";
import { createTestLan, netnsUnavailable, startHosted, type TestHost } from "../../helpers/netns.ts";
import { fuzzHttp, type Fixture, type FuzzFindings } from "./http-client.ts";

const SECONDS = Number(process.env.FUZZ_SECONDS ?? 20);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
const unavailable = netnsUnavailable();
if (unavailable) console.log(`HTTP fuzz as a guest skipped: ${unavailable}`);

function report(who: string, found: FuzzFindings, logged: string): void {
  const answered = Object.values(found.statuses).reduce((sum, n) => sum + n, 0);
  console.log(`HTTP fuzz (${who}): ${answered} answered, ${found.unanswered} held or not sent; statuses ${JSON.stringify(found.statuses)}`);
  if (found.fives.length > 0) console.log(`HTTP fuzz (${who}): what the instance logged:\n${logged.slice(-4000)}`);
  expect(found.fives).toEqual([]);
}

function expectNoUnhandled(said: string): void {
  expect(said).not.toMatch(/unhandled|uncaught|panic|segmentation/i);
}

describe("HTTP fuzz", () => {
  it(`hostile requests from the owner's machine to every route for ${SECONDS} s (seed ${SEED}): no 5xx, the instance stays up`, async () => {
    console.log(`HTTP fuzz (owner): seed ${SEED}, ${SECONDS} s`);
    await using a = await startInstance({ args: ["--transports", "websocket,http", "--room", "lobby"] });
    const api = (path: string, init?: RequestInit) => fetch(`${a.http}${path}`, init);
    const fixture = await prepare(api, a.http);
    report("owner", await fuzzHttp({ base: a.http, seconds: SECONDS, seed: SEED, fixture }), a.errors());
    expect(a.proc.exitCode).toBeNull();
    expect((await fetch(`${a.http}/healthz`)).status).toBe(200);
    expectNoUnhandled(`${a.output()}\n${a.errors()}`);
  }, (SECONDS + 60) * 1000);

  it.skipIf(unavailable !== null)(`hostile requests from a guest on another host for ${SECONDS} s (seed ${SEED}): no 5xx, the instance stays up`, async () => {
    console.log(`HTTP fuzz (guest): seed ${SEED}, ${SECONDS} s`);
    await using lan = createTestLan(2);
    const [home, guest] = lan.hosts as [TestHost, TestHost];
    await using owner = await startHosted(home, ["--transports", "websocket,http", "--room", "lobby", "--lan-addr", "127.255.255.255"]);
    const base = `http://${home.ip}:8080`;
    const fixture = await prepare(owner.api, base);
    const run = Bun.spawn(["ip", "netns", "exec", guest.ns, process.execPath, join(import.meta.dir, "http-client.ts"), JSON.stringify({ base, seconds: SECONDS, seed: SEED, fixture })], {
      stdout: "pipe",
      stderr: "inherit",
    });
    const out = await new Response(run.stdout).text();
    expect(await run.exited).toBe(0);
    report("guest", JSON.parse(out.trim().split("\n").at(-1)!) as FuzzFindings, owner.output());
    expect(owner.proc.exitCode).toBeNull();
    expect((await owner.api("/healthz")).status).toBe(200);
    expectNoUnhandled(owner.output());
  }, (SECONDS + 90) * 1000);
});

/** An open room and a private one with messages, and a file: what the fuzzer names so its requests reach past the first checks. */
async function prepare(api: (path: string, init?: RequestInit) => Promise<Response>, origin: string): Promise<Fixture> {
  const json = (body: unknown): RequestInit => ({ method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const created = (await (await api("/rooms", json({ name: "secret" }))).json()) as { key: string };
  const sent = (await (await api("/send", json({ room: "lobby", text: "hello fuzz" }))).json()) as { id: string };
  await api("/send", json({ room: "secret", text: "a secret" }));
  const form = new FormData();
  form.set("room", "lobby");
  form.set("file", new Blob([new Uint8Array(10_000).fill(1)]), "ones.bin");
  const uploaded = (await (await api("/files", { method: "POST", body: form })).json()) as { files: { id: string }[] };
  return { room: "lobby", secret: "secret", key: created.key, fileId: uploaded.files[0]!.id, messageId: sent.id, origin };
}
