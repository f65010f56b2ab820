/**
 * Issue 22, medium: 10,000 one-message authors, invented by one member, took every author place of a room in 1.4 s,
 * after which no newcomer could write there. Now a source brings new authors at a bounded rate, and a newcomer to a
 * full room takes the place of an author brought by whoever brought the most: a flood displaces only the flood.
 */
import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "bun:test";
import { nodeIdOf } from "../../src/storage/identity.ts";
import { LIMITS, type WireMessage } from "../../src/sync/frames.ts";
import { signMessage } from "../../src/sync/signatures.ts";
import { startInstance, waitFor, type Instance } from "../helpers/instance.ts";
import { history, send, waitForLink } from "../helpers/mesh.ts";
import { openRoom, startRogue, type Rogue } from "../helpers/rogue.ts";

const lobby = ["--transports", "websocket", "--room", "lobby"];

/** `count` messages of `room`, each by an author invented for it (a key of its own, as a rogue can make at will). */
function invented(room: string, count: number, tag: string): WireMessage[] {
  return Array.from({ length: count }, (_, i) => {
    const { publicKey, privateKey } = generateKeyPairSync("ed25519");
    const fields = { origin: nodeIdOf(publicKey), room, seq: 1, peer_id: "x", text: `${tag} ${i}`, sent_at: Date.now() };
    return { ...fields, ...signMessage(fields, { publicKey, privateKey }) };
  });
}

/** A rogue member of `lobby` at `a`. */
async function member(a: Instance): Promise<Rogue & { room: string }> {
  const rogue = await startRogue();
  await rogue.link(a);
  const { proof, id } = openRoom("lobby", rogue.id, a.nodeId);
  rogue.send(a, { type: "hello", name: "flood", proofs: [proof], addresses: {} });
  return Object.assign(rogue, { room: id });
}

function flood(rogue: Rogue, a: Instance, messages: WireMessage[]) {
  for (let i = 0; i < messages.length; i += LIMITS.messagesPerFrame) rogue.send(a, { type: "messages", messages: messages.slice(i, i + LIMITS.messagesPerFrame) });
}

describe("the authors of a room", () => {
  it("one source brings new authors at a bounded rate: a flood of 10,050 from one member stops at its burst", async () => {
    await using a = await startInstance({ args: lobby });
    await using rogue = await member(a);
    await send(a, "lobby", "from the owner");
    flood(rogue, a, invented(rogue.room, LIMITS.originsPerRoom + 50, "flood"));
    await waitFor(async () => a.output().includes("new authors"), 20_000, "the rate reached");
    await Bun.sleep(1000);
    const held = (await history(a, "lobby")).length;
    console.log(`held after a flood of ${LIMITS.originsPerRoom + 50} authors from one member: ${held}`);
    expect(held).toBeLessThan(LIMITS.originsPerRoom / 2 + 2200);
  }, 60_000);

  it("a room filled by many rogue members still takes a newcomer's message, and keeps its honest authors", async () => {
    await using a = await startInstance({ args: lobby });
    await using b = await startInstance({ args: [...lobby, "--peer", a.http] });
    await waitForLink(a, b);
    await send(b, "lobby", "an honest author from before");
    // Eleven members, each within its own rate, bring 11,000 invented authors: more places than the room has.
    const rogues: Rogue[] = [];
    try {
      for (let r = 0; r < 11; r++) {
        const rogue = await member(a);
        rogues.push(rogue);
        flood(rogue, a, invented(rogue.room, 1000, `flood ${r}`));
      }
      await waitFor(async () => (await history(a, "lobby")).length >= LIMITS.originsPerRoom, 60_000, "the room full");
      await using c = await startInstance({ args: [...lobby, "--peer", a.http] });
      await waitForLink(a, c);
      await send(c, "lobby", "a newcomer writes");
      await waitFor(async () => (await history(a, "lobby")).some((m) => m.text === "a newcomer writes"), 15_000, "the newcomer's message at a");
      const texts = (await history(a, "lobby")).map((m) => m.text);
      expect(texts).toContain("an honest author from before");
      expect(texts).toContain("a newcomer writes");
      expect(new Set((await history(a, "lobby")).map((m) => m.origin)).size).toBeLessThanOrEqual(LIMITS.originsPerRoom);
    } finally {
      await Promise.all(rogues.map((r) => r[Symbol.asyncDispose]()));
    }
  }, 120_000);
});
