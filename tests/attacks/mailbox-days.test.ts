/**
 * Issue 24, a mailbox's days: an item is kept `--mailbox-days` and then goes, whoever pushed it, across the mailbox's
 * restarts. Time is moved by hand: with the mailbox stopped, its items of one room are dated three days back and
 * those of another one day back; started again with `--mailbox-days 2`, it holds only the second room's.
 */
import { Database } from "bun:sqlite";
import { expect, it } from "bun:test";
import { mailboxKeys } from "../../src/mailbox/seal.ts";
import { send } from "../helpers/mesh.ts";
import { startInstance, waitFor, type Instance } from "../helpers/instance.ts";

const WS = ["--transports", "websocket"];
const DAY_MS = 24 * 60 * 60 * 1000;

interface Stats {
  topics: number;
  items: number;
  bytes: number;
  oldest: number | null;
}
const statsOf = async (m: Instance) => (await (await fetch(`${m.http}/mailbox`)).json()) as Stats;

async function createRoom(at: Instance, name: string): Promise<string> {
  const res = await fetch(`${at.http}/rooms`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name }) });
  return ((await res.json()) as { key: string }).key;
}

it("drops the items older than --mailbox-days when it starts, and keeps the younger ones", async () => {
  const MAILBOX = [...WS, "--mailbox", "--mailbox-days", "2"];
  await using first = await startInstance({ args: MAILBOX });
  await using a = await startInstance({ args: [...WS, "--rendezvous", first.http] });
  const rooms = { stale: await createRoom(a, "stale"), fresh: await createRoom(a, "fresh") };
  for (const text of ["one", "two", "three"]) await send(a, "stale", text, "alice");
  for (const text of ["four", "five"]) await send(a, "fresh", text, "alice");
  await waitFor(async () => (await statsOf(first)).items >= 5, 30_000, "the mailbox holds a's five messages");
  await a.stop();
  await first.stop();

  const db = new Database(first.db);
  const back = db.query("UPDATE mailbox_items SET at = at - ? WHERE topic = ?");
  const changed = [back.run(3 * DAY_MS, mailboxKeys({ name: "stale", key: rooms.stale }, first.nodeId).topic).changes, back.run(1 * DAY_MS, mailboxKeys({ name: "fresh", key: rooms.fresh }, first.nodeId).topic).changes];
  db.close();
  expect(changed).toEqual([3, 2]);

  await using again = await startInstance({ db: first.db, args: MAILBOX });
  expect(again.nodeId).toBe(first.nodeId);
  const stats = await statsOf(again);
  expect(stats.topics).toBe(1);
  expect(stats.items).toBe(2);
  expect(stats.oldest).toBeLessThan(Date.now() - DAY_MS + 60_000);
  expect(stats.oldest).toBeGreaterThan(Date.now() - 2 * DAY_MS);
}, 60_000);
