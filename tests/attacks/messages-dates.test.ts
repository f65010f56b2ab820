/**
 * Issue 22, medium: a member's message dated past year 275760 (a `sent_at` no Date can hold) was stored, and from then
 * on the room's page, stream and search answered 500 on every member. A message's date is bounded where it is
 * checked, an impossible one is never rendered, and one far from its arrival shows the arrival with a word on it.
 */
import { Database } from "bun:sqlite";
import { describe, expect, it } from "bun:test";
import { signMessage } from "../../src/sync/signatures.ts";
import type { WireMessage } from "../../src/sync/frames.ts";
import { startInstance, waitFor, type Instance } from "../helpers/instance.ts";
import { history, send } from "../helpers/mesh.ts";
import { openRoom, rogueIdentity, startRogue, type Rogue } from "../helpers/rogue.ts";

const DAY = 24 * 60 * 60 * 1000;

/** A rogue member of the open room `lobby` at `a`, signing with its own key. */
async function member(a: Instance) {
  const identity = rogueIdentity();
  const rogue = await startRogue(identity);
  await rogue.link(a);
  const lobby = openRoom("lobby", rogue.id, a.nodeId);
  rogue.send(a, { type: "hello", name: "rogue", proofs: [lobby.proof], addresses: {} });
  let seq = 0;
  const write = (text: string, sent_at: number): WireMessage => {
    const fields = { origin: rogue.id, room: lobby.id, seq: ++seq, peer_id: "rogue", text, sent_at };
    return { ...fields, ...signMessage(fields, identity) };
  };
  return { rogue, write };
}

const page = (a: Instance) => fetch(`${a.http}/?room=lobby&peer_id=owner`);
const search = (a: Instance, q: string) => fetch(`${a.http}/rooms/lobby/search?q=${q}&peer_id=owner`);

/** The room's stream from the start: its first `count` message events, or the status it answered. */
async function streamed(a: Instance, count: number): Promise<{ status: number; html: string }> {
  const res = await fetch(`${a.http}/rooms/lobby/events?since=0&peer_id=owner`, { signal: AbortSignal.timeout(5000) });
  if (res.status !== 200) return { status: res.status, html: await res.text() };
  const reader = res.body!.getReader();
  let text = "";
  try {
    while ((text.match(/^id: /gm) ?? []).length < count) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return { status: 200, html: text };
}

describe("a message's date", () => {
  it("past what a Date holds is refused by every member, and the room's page, stream and search still answer", async () => {
    await using a = await startInstance({ args: ["--transports", "websocket", "--room", "lobby"] });
    const { rogue, write } = await member(a);
    await using _ = rogue satisfies Rogue;
    await send(a, "lobby", "before the poison");
    // 8.64e15 ms is the last instant a Date can hold: Tuesday, 13 September 275760.
    rogue.send(a, { type: "messages", messages: [write("poison", 8.64e15 + 1)] });
    // A frame that breaks the schema closes the link it came on.
    await waitFor(() => a.output().includes(`bad frame from ${rogue.id}`), 10_000, "the poison refused");
    await send(a, "lobby", "after the poison");
    expect((await history(a, "lobby")).map((m) => m.text)).toEqual(["before the poison", "after the poison"]);
    expect((await page(a)).status).toBe(200);
    expect((await search(a, "poison")).status).toBe(200);
    const stream = await streamed(a, 2);
    expect(stream.status).toBe(200);
    expect(stream.html).toContain("after the poison");
  }, 30_000);

  it("an impossible date already stored (from before the bound) renders, and is never sent on", async () => {
    await using a = await startInstance({ args: ["--transports", "websocket", "--room", "lobby"] });
    const { rogue, write } = await member(a);
    await using _ = rogue satisfies Rogue;
    rogue.send(a, { type: "messages", messages: [write("poison from before", Date.now())] });
    await waitFor(async () => (await history(a, "lobby")).length === 1, 10_000, "the rogue's message");
    await a.stop();
    // As an older build stored it: the largest date the old schema let through.
    const db = new Database(a.db);
    db.run("UPDATE messages SET sent_at = ? WHERE text = 'poison from before'", [Number.MAX_SAFE_INTEGER]);
    db.close();
    await using again = await startInstance({ db: a.db, args: ["--transports", "websocket", "--room", "lobby"] });
    const res = await page(again);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("poison from before");
    expect(html).toContain("the author&#x27;s clock is off");
    expect((await search(again, "poison")).status).toBe(200);
    expect((await streamed(again, 1)).status).toBe(200);
    // A member that links now is not sent what it would refuse.
    await using b = await startInstance({ args: ["--transports", "websocket", "--room", "lobby", "--peer", again.http] });
    await send(b, "lobby", "hello from b");
    await waitFor(async () => (await history(again, "lobby")).length === 2, 15_000, "b's message at a");
    await Bun.sleep(500);
    expect((await history(b, "lobby")).map((m) => m.text)).toEqual(["hello from b"]);
    expect(b.output()).not.toContain("refused from");
  }, 60_000);

  it("far from its arrival shows when it arrived, and says how far the author's clock was off", async () => {
    await using a = await startInstance({ args: ["--transports", "websocket", "--room", "lobby"] });
    const { rogue, write } = await member(a);
    await using _ = rogue satisfies Rogue;
    const now = Date.now();
    rogue.send(a, { type: "messages", messages: [write("from the future", now + 3 * DAY), write("from the past", now - 3 * DAY), write("on time", now)] });
    await waitFor(async () => (await history(a, "lobby")).length === 3, 10_000, "the rogue's messages");
    const html = await (await page(a)).text();
    const item = (text: string) => html.slice(html.lastIndexOf("<li", html.indexOf(text)), html.indexOf("</li>", html.indexOf(text)));
    const arrived = new Date((await history(a, "lobby") as unknown as { text: string; timestamp: number }[]).find((m) => m.text === "from the future")!.timestamp);
    expect(item("from the future")).toContain(`datetime="${arrived.toISOString()}"`);
    expect(item("from the future")).toContain("dated 3 days after it arrived: the author&#x27;s clock is off");
    expect(item("from the past")).toContain("sent 3 days before it arrived");
    expect(item("on time")).not.toContain("arrived");
  }, 30_000);
});
