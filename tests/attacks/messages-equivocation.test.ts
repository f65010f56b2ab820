/**
 * Issue 22, medium: an author that signs two different messages with one sequence number went unnoticed, and members
 * kept different histories for good. Members now notice when the two meet, in a messages frame or in vectors (which
 * carry a digest of each author's messages), keep the one with the lower hash everywhere, and flag the author.
 */
import { createHash } from "node:crypto";
import { rmSync } from "node:fs";
import { describe, expect, it } from "bun:test";
import { signMessage } from "../../src/sync/signatures.ts";
import type { WireMessage } from "../../src/sync/frames.ts";
import { hasChromium, launch, openRoom as openPage } from "../helpers/browser.ts";
import { startInstance, waitFor, type Instance } from "../helpers/instance.ts";
import { waitForLink } from "../helpers/mesh.ts";
import { openRoom, rogueIdentity, startRogue } from "../helpers/rogue.ts";

interface Row {
  id: string;
  text: string;
  origin: string;
  seq: number;
  conflicting?: boolean;
}

const rows = async (at: Instance): Promise<Row[]> => (await (await fetch(`${at.http}/history?room=lobby`)).json()) as Row[];
const textAt = async (at: Instance, origin: string, seq: number) => (await rows(at)).find((m) => m.origin === origin && m.seq === seq)?.text;

/** A member of the open room `lobby` that signs what it likes with its own key, linked to each of `to`. */
async function equivocator(...to: Instance[]) {
  const identity = rogueIdentity();
  const rogue = await startRogue(identity);
  for (const at of to) {
    await rogue.link(at);
    rogue.send(at, { type: "hello", name: "twofaced", proofs: [openRoom("lobby", rogue.id, at.nodeId).proof], addresses: {} });
  }
  const room = openRoom("lobby", rogue.id, rogue.id).id;
  const sign = (seq: number, text: string): WireMessage => {
    const fields = { origin: rogue.id, room, seq, peer_id: "twofaced", text, sent_at: Date.now() };
    return { ...fields, ...signMessage(fields, identity) };
  };
  return { rogue, room, sign };
}

/** The rule every member keeps: of two messages at one (origin, room, seq), the one whose signature hashes lower. */
const lower = (a: WireMessage, b: WireMessage) => {
  const hash = (m: WireMessage) => createHash("sha256").update(Buffer.from(m.sig, "base64url")).digest();
  return Buffer.compare(hash(a), hash(b)) < 0 ? a : b;
};

const lobby = ["--transports", "websocket", "--room", "lobby"];

describe("an author that signs two messages with one sequence number", () => {
  it("is noticed by members that forward each other its messages: both keep the same one, and flag the author", async () => {
    await using a = await startInstance({ args: lobby });
    await using b = await startInstance({ args: [...lobby, "--peer", a.http] });
    await waitForLink(a, b);
    const { rogue, sign } = await equivocator(a, b);
    await using _ = rogue;
    const x = sign(1, "the first version");
    const y = sign(1, "the second version");
    rogue.send(a, { type: "messages", messages: [x] });
    rogue.send(b, { type: "messages", messages: [y] });
    const kept = lower(x, y).text;
    await waitFor(async () => (await textAt(a, rogue.id, 1)) === kept && (await textAt(b, rogue.id, 1)) === kept, 10_000, "both members on the lower hash");
    for (const at of [a, b]) {
      const theirs = (await rows(at)).filter((m) => m.origin === rogue.id);
      expect(theirs).toHaveLength(1);
      expect(theirs[0]!.conflicting).toBe(true);
      const page = await (await fetch(`${at.http}/?room=lobby&peer_id=owner`)).text();
      expect(page).toContain("this author sent conflicting messages");
    }
  }, 30_000);

  it("is noticed by members that meet later, even once a later message hides it from their vectors", async () => {
    await using a = await startInstance({ args: lobby });
    await using b = await startInstance({ args: lobby });
    const { rogue, room, sign } = await equivocator(a, b);
    await using _ = rogue;
    const x = sign(1, "told to a");
    const y = sign(1, "told to b");
    const later = sign(2, "the same to both");
    rogue.send(a, { type: "messages", messages: [x, later] });
    rogue.send(b, { type: "messages", messages: [y, later] });
    await waitFor(async () => (await rows(a)).length === 2 && (await rows(b)).length === 2, 10_000, "each holds its story");
    // The rogue introduces them: both hold sequence 2 of it, so vectors that carried only sequences would agree.
    rogue.send(b, { type: "peers", peers: [{ node_id: a.nodeId, name: "a", rooms: [room], addresses: { ws: a.ws, http: a.http } }] });
    await waitForLink(b, a);
    const kept = lower(x, y).text;
    await waitFor(async () => (await textAt(a, rogue.id, 1)) === kept && (await textAt(b, rogue.id, 1)) === kept, 15_000, "both members on the lower hash");
    for (const at of [a, b]) {
      expect((await rows(at)).map((m) => m.text).sort()).toEqual([kept, "the same to both"].sort());
      expect((await rows(at)).every((m) => m.conflicting === true)).toBe(true);
    }
  }, 30_000);
});

describe.skipIf(!hasChromium)("an open page, when a conflicting message replaces one it shows", () => {
  it("shows only the message kept, in place of the one replaced", async () => {
    await using a = await startInstance({ args: lobby });
    const { rogue, sign } = await equivocator(a);
    await using _ = rogue;
    const x = sign(1, "version x");
    const y = sign(1, "version y");
    const [loser, winner] = lower(x, y) === x ? [y, x] : [x, y];
    const { context, dir } = await launch();
    try {
      const page = await context.newPage();
      await openPage(page, a.http, "lobby", "owner");
      rogue.send(a, { type: "messages", messages: [loser] });
      await page.waitForSelector(`li.msg[data-origin="${rogue.id}"] >> text=${loser.text}`);
      rogue.send(a, { type: "messages", messages: [winner] });
      await page.waitForSelector(`li.msg[data-origin="${rogue.id}"] >> text=${winner.text}`);
      const shown = await page.locator(`li.msg[data-origin="${rogue.id}"][data-seq="1"]`).allInnerTexts();
      expect(shown).toHaveLength(1);
      expect(shown[0]).toContain(winner.text);
    } finally {
      await context.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
