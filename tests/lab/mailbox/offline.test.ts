/**
 * Issue 24: a message reaches its room when its people are never online together. Bob goes away; Alice writes 30
 * messages and a 3 MiB file and goes away too; the mailbox restarts; Bob comes back and gets all of it from the
 * mailbox alone: every message once, in order, the file byte for byte. The mailbox's files hold none of it in clear.
 */
import { expect, it } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { randomFile, upload, waitForWhole, downloadHash } from "../../helpers/files.ts";
import { history, send, waitForCount, waitForLink } from "../../helpers/mesh.ts";
import { deadTcpPort } from "../../helpers/ports.ts";
import { startInstance, tempDir, waitFor, type Instance } from "../../helpers/instance.ts";

const WS = ["--transports", "websocket"];

async function json<T>(res: Response | Promise<Response>): Promise<T> {
  return (await (await res).json()) as T;
}

/** A mailbox on fixed ports, so a restart answers at the same URL. */
function startMailbox(ports: { http: number; ws: number }, db?: string): Promise<Instance> {
  return startInstance({ db, args: [...WS, "--mailbox", "--name", "mailbox", "--http-port", String(ports.http), "--ws-port", String(ports.ws)] });
}

it("delivers what bob missed from the mailbox alone, once, in order, files too, after the mailbox restarts", async () => {
  const ports = { http: deadTcpPort(), ws: deadTcpPort() };
  let mailbox = await startMailbox(ports);
  const at = `http://127.0.0.1:${ports.http}`;
  await using alice = await startInstance({ args: [...WS, "--rendezvous", at, "--name", "Alice Secretname"] });
  const created = await json<{ key: string; invite: string }>(
    fetch(`${alice.http}/rooms`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "hideout" }) }),
  );
  let bob = await startInstance({ args: [...WS, "--rendezvous", at, "--invite", created.invite, "--name", "Bob"] });
  await waitForLink(alice, bob);
  await send(alice, "hideout", "before bob left", "Alice Secretname");
  await waitForCount(bob, "hideout", 1);
  await bob.stop();

  const texts = Array.from({ length: 30 }, (_, i) => `whisper number ${i + 1} from the hideout`);
  for (const text of texts) await send(alice, "hideout", text, "Alice Secretname");
  const dir = tempDir();
  const file = await randomFile(dir, 3 * 1024 * 1024, "plans.bin");
  const { file: posted } = await upload(alice, "hideout", file.path, { name: "plans.bin", text: "the plans" });
  // 32 messages, the file's manifest and its 12 chunks.
  await waitFor(async () => (await json<{ items: number }>(fetch(`${at}/mailbox`))).items >= 32 + 1 + 12, 30_000, "the mailbox holds everything");
  await alice.stop();

  await mailbox.stop();
  mailbox = await startMailbox(ports, mailbox.db);
  const started = Date.now();
  bob = await startInstance({ db: bob.db, args: [...WS, "--rendezvous", at, "--name", "Bob"] });
  try {
    const got = await waitForCount(bob, "hideout", 32, 30_000);
    expect(got.map((m) => m.text)).toEqual(["before bob left", ...texts, "the plans"]);
    expect(got.every((m) => m.origin === alice.nodeId)).toBe(true);
    const whole = await waitForWhole(bob, "hideout", posted.id, 30_000);
    expect(whole.have).toBe(file.size);
    expect(await downloadHash(bob, posted.id)).toBe(file.sha256);
    console.log(`bob had all 32 messages and the 3 MiB file from the mailbox ${Date.now() - started} ms after starting`);
    // Nothing came twice, and nothing more comes: a later round reads past what was taken.
    await Bun.sleep(1500);
    expect((await history(bob, "hideout")).length).toBe(32);
    const peers = await json<{ node_id: string; state: string }[]>(fetch(`${bob.http}/peers`));
    expect(peers.find((p) => p.node_id === alice.nodeId)?.state).not.toBe("connected");

    // The mailbox's files hold no text, room name, key, person name or file bytes in clear.
    await mailbox.stop();
    const files = readdirSync(dirname(mailbox.db)).map((name) => readFileSync(join(dirname(mailbox.db), name)));
    const plans = readFileSync(file.path);
    for (const bytes of files) {
      for (const secret of ["whisper number", "the plans", "hideout", created.key, "Secretname", "plans.bin"]) expect(bytes.includes(secret)).toBe(false);
      expect(bytes.includes(plans.subarray(1000, 1064))).toBe(false);
    }
  } finally {
    await bob.stop();
    await mailbox.stop();
  }
}, 120_000);
