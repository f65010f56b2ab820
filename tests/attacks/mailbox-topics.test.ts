/**
 * Issue 24, a mailbox's topics: only an instance waiting at a topic at the mailbox (it said `meet` there, which its
 * members can because they hold the room's key) may read or fill it. A rogue that links to a real mailbox and knows
 * the topic string all the same (here copied from the room's keys) gets no item of it and leaves none there: every
 * `box-get` and `box-push` is answered with the refusal, and the mailbox holds what it held. Waiting at a topic of its
 * own does not open another's.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { randomBytes } from "node:crypto";
import { NOT_WAITING } from "../../src/mailbox/keeper.ts";
import { mailboxKeys } from "../../src/mailbox/seal.ts";
import { encodeFrame } from "../../src/sync/codec.ts";
import type { BoxItemsFrame, BoxPushedFrame, Frame } from "../../src/sync/frames.ts";
import { send } from "../helpers/mesh.ts";
import { startInstance, waitFor, type Instance } from "../helpers/instance.ts";
import { startRogue, type Rogue } from "../helpers/rogue.ts";

const WS = ["--transports", "websocket"];
/** A tag as the frames want a topic or an item id: 22 base64url characters. */
const tag = () => randomBytes(16).toString("base64url");

interface Stats {
  topics: number;
  items: number;
  bytes: number;
}
const statsOf = async (m: Instance) => (await (await fetch(`${m.http}/mailbox`)).json()) as Stats;

/** Sends `frame` with `binary` as its tail, and waits for the mailbox's answer of type `type` on the frame's topic. */
async function ask<F extends BoxItemsFrame | BoxPushedFrame>(rogue: Rogue, m: Instance, frame: Frame & { topic: string }, type: F["type"], binary?: Uint8Array): Promise<F> {
  const before = rogue.received.length;
  if (!rogue.links.send(m.nodeId, encodeFrame(frame, binary))) throw new Error("the rogue has no link to the mailbox");
  const answer = await waitFor(
    () => rogue.received.slice(before).find((r) => r.frame.type === type && (r.frame as F).topic === frame.topic),
    10_000,
    `the mailbox's ${type}`,
  );
  return answer.frame as F;
}

/** Asks m for `topic` and pushes `count` items to it: both refused, nothing given, nothing kept. */
async function refusedBoth(rogue: Rogue, m: Instance, topic: string, count: number, held: Stats): Promise<void> {
  const got = await ask<BoxItemsFrame>(rogue, m, { type: "box-get", topic, after: 0, limit: 64 }, "box-items");
  expect(got.refused).toBe(NOT_WAITING);
  expect(got.items).toEqual([]);
  const [push, binary] = pushOf(topic, count);
  const pushed = await ask<BoxPushedFrame>(rogue, m, push, "box-pushed", binary);
  expect(pushed.results.map((r) => [r.kind, r.reason])).toEqual(Array(count).fill(["refused", NOT_WAITING]));
  expect(await statsOf(m)).toMatchObject({ topics: held.topics, items: held.items, bytes: held.bytes });
}

/** A box-push of `count` items of 512 bytes each, and its binary tail. */
function pushOf(topic: string, count: number): [Frame & { topic: string }, Uint8Array] {
  const items = Array.from({ length: count }, () => ({ id: tag(), bytes: 512 }));
  return [{ type: "box-push", topic, items }, randomBytes(512 * count)];
}

describe("a mailbox asked for a topic by an instance not waiting there", () => {
  let m: Instance;
  let a: Instance;
  /** The room's topic at m, as a's members compute it from the room's key. */
  let topic: string;
  let held: Stats;

  beforeAll(async () => {
    m = await startInstance({ args: [...WS, "--mailbox", "--name", "mailbox"] });
    a = await startInstance({ args: [...WS, "--rendezvous", m.http, "--name", "alice"] });
    const created = await fetch(`${a.http}/rooms`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "hideout" }) });
    const { key } = (await created.json()) as { key: string };
    topic = mailboxKeys({ name: "hideout", key }, m.nodeId).topic;
    for (const text of ["one", "two", "three"]) await send(a, "hideout", text, "alice");
    await waitFor(async () => (await statsOf(m)).items >= 3, 30_000, "the mailbox holds a's messages");
    held = await statsOf(m);
  }, 60_000);

  afterAll(async () => {
    await a?.[Symbol.asyncDispose]();
    await m?.[Symbol.asyncDispose]();
  });

  it("gives a rogue that never said meet no item of it, and takes none from it", async () => {
    await using rogue = await startRogue();
    await rogue.link(m);
    await refusedBoth(rogue, m, topic, 3, held);
    // Nothing came to it but the refusals: no box-items holds an item.
    expect(rogue.received.filter((r) => r.frame.type === "box-items" && r.frame.items.length > 0)).toEqual([]);
  }, 30_000);

  it("gives a rogue waiting at a topic of its own nothing of a's topic, though its own answers", async () => {
    await using rogue = await startRogue();
    const own = tag();
    rogue.links.useRendezvous(m.nodeId, [own]);
    await rogue.link(m);
    // Its own topic answers once its meet is in (it goes on the same link, just before): it is a member there.
    await waitFor(async () => (await ask<BoxItemsFrame>(rogue, m, { type: "box-get", topic: own, after: 0, limit: 64 }, "box-items")).refused === undefined, 10_000, "the rogue's own topic answers");
    await refusedBoth(rogue, m, topic, 2, held);
    // What it pushes at its own topic is kept: the counts above would have seen a push that went in.
    const [mine, bytes] = pushOf(own, 1);
    const kept = await ask<BoxPushedFrame>(rogue, m, mine, "box-pushed", bytes);
    expect(kept.results.map((r) => r.kind)).toEqual(["stored"]);
    expect(await statsOf(m)).toMatchObject({ topics: held.topics + 1, items: held.items + 1 });
    expect(rogue.received.filter((r) => r.frame.type === "box-items" && r.frame.items.length > 0)).toEqual([]);
  }, 30_000);
});
