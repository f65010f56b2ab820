/**
 * Issue 24, a mailbox's shares: one pushing instance may hold a quarter of what the mailbox keeps
 * (src/storage/mailbox.ts), so a member with a lot to give cannot fill it for everyone. Past its share it is refused
 * with the reason, which the member logs; the mailbox holds no more of it than the share, and another member still
 * pushes, as much again (a share is per pusher, not one cap on all of them).
 */
import { expect, it } from "bun:test";
import { randomBytes } from "node:crypto";
import { upload } from "../helpers/files.ts";
import { send } from "../helpers/mesh.ts";
import { startInstance, waitFor, type Instance } from "../helpers/instance.ts";

const WS = ["--transports", "websocket"];
/** The mailbox keeps 2 MiB in all; one pusher's share is a quarter of it. */
const SIZE = 2 * 1024 * 1024;
const SHARE = SIZE / 4;

interface Stats {
  topics: number;
  items: number;
  bytes: number;
  max_bytes: number;
}
const statsOf = async (m: Instance) => (await (await fetch(`${m.http}/mailbox`)).json()) as Stats;

const createRoom = (at: Instance, name: string) =>
  fetch(`${at.http}/rooms`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name }) });

it("refuses a member past its share with the reason, keeps no more of it than the share, and takes another member's", async () => {
  await using m = await startInstance({ args: [...WS, "--mailbox", "--mailbox-size", "2MiB", "--name", "mailbox"] });
  expect((await statsOf(m)).max_bytes).toBe(SIZE);
  await using a = await startInstance({ args: [...WS, "--rendezvous", m.http, "--name", "alice"] });
  expect((await createRoom(a, "archive")).status).toBe(200);
  // A MiB in four chunks of 256 KiB: each sealed chunk is over 256 KiB, so two of them are past a's share.
  await upload(a, "archive", randomBytes(1024 * 1024), { name: "archive.bin", text: "the archive" });
  const refusal = `mailbox ${m.nodeId} refused what we pushed: this instance holds its share of this mailbox (${SHARE} bytes) already`;
  await waitFor(() => a.output().includes(refusal), 30_000, "a's log of the refusal");
  // What a pushed up to its share is kept (its message, the manifest, a chunk), and nothing past it.
  const held = await statsOf(m);
  expect(held.topics).toBe(1);
  expect(held.items).toBeGreaterThanOrEqual(3);
  expect(held.bytes).toBeGreaterThan(256 * 1024);
  expect(held.bytes).toBeLessThanOrEqual(SHARE);

  // Another member, with a room of its own at the same mailbox, still pushes: a file as large as a's kept chunk, so
  // the two together hold more than one share (a cap on all pushers at once would refuse it).
  await using b = await startInstance({ args: [...WS, "--rendezvous", m.http, "--name", "bob"] });
  expect((await createRoom(b, "garden")).status).toBe(200);
  await upload(b, "garden", randomBytes(256 * 1024), { name: "garden.bin", text: "the garden" });
  await send(b, "garden", "and a word", "bob");
  const after = await waitFor(async () => {
    const stats = await statsOf(m);
    return stats.items >= held.items + 4 ? stats : null;
  }, 30_000, "the mailbox keeps b's messages and file");
  expect(after.topics).toBe(2);
  expect(after.bytes - held.bytes).toBeGreaterThan(256 * 1024);
  expect(after.bytes).toBeGreaterThan(SHARE);
  expect(b.output()).not.toContain("refused what we pushed");
}, 90_000);
