/**
 * Member fuzz (issue 22): rogue members that pass the real handshake and prove the room send hostile frames for a
 * bounded time: sync frames from the wire schemas (mostly valid, now and then any shape), messages with valid
 * signatures and fields at their edges, control messages, and damaged or random bytes. The instance under fire and an
 * honest member linked to it must stay up, log no unhandled failure, and still replicate both ways afterwards.
 * FUZZ_SECONDS (default 20) sets the time, FUZZ_SEED the seed (printed, so a failure can be run again).
 */
import { describe, expect, it } from "bun:test";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import fc from "fast-check";
import { roomIdOf } from "../../../src/domain/rooms.ts";
import { encodeFrame, TYPE_CODES as CODEC_TYPE_CODES } from "../../../src/sync/codec.ts";
import { Frame, WireMessage } from "../../../src/sync/frames.ts";
import { signMessage } from "../../../src/sync/signatures.ts";
import { ControlMessage } from "../../../src/transport/links/control.ts";
import { upload } from "../../helpers/files.ts";
import { startInstance, waitFor, type Instance } from "../../helpers/instance.ts";
import { history, send, waitForCount, waitForLink } from "../../helpers/mesh.ts";
import { openRoom, rawRogue, rogueIdentity, type RawRogue } from "../../helpers/rogue.ts";
import { arbitraryOf, damaged, sampler } from "./arbitrary.ts";

const SECONDS = Number(process.env.FUZZ_SECONDS ?? 20);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
const ROGUES = 3;
const WS = ["--transports", "websocket"];
/** The codec's own type bytes: every frame kind, the mailbox frames too. */
const TYPE_CODES: Record<string, number> = CODEC_TYPE_CODES;

/** A sync frame as the codec lays it out, with the type byte its `type` names (or any, when that is no type). */
function encodeAny(value: unknown, binary: Uint8Array, typeByte?: number): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(value) ?? "null");
  const type = (value as { type?: unknown } | null)?.type;
  const out = new Uint8Array(5 + json.byteLength + binary.byteLength);
  const view = new DataView(out.buffer);
  view.setUint8(0, typeByte ?? (typeof type === "string" ? (TYPE_CODES[type] ?? 0) : 0));
  view.setUint32(1, json.byteLength);
  out.set(json, 5);
  out.set(binary, 5 + json.byteLength);
  return out;
}

/** Nothing the instance printed says a failure went unhandled. */
function expectNoUnhandled(instance: Instance): void {
  const said = `${instance.output()}\n${instance.errors()}`;
  expect(said).not.toMatch(/unhandled|uncaught|panic|segmentation/i);
}

describe("member fuzz", () => {
  it(`hostile frames from members for ${SECONDS} s (seed ${SEED}): both instances stay up and still replicate`, async () => {
    console.log(`member fuzz: seed ${SEED}, ${SECONDS} s`);
    // The instance under fire also relays (--relay): control messages reach the rendezvous and relay code too.
    await using a = await startInstance({ args: ["--transports", "websocket,relay", "--relay", "--room", "lobby"] });
    await using b = await startInstance({ args: [...WS, "--room", "lobby", "--peer", a.http] });
    await waitForLink(a, b);
    await send(a, "lobby", "before the fuzz");
    const { file } = await upload(a, "lobby", new Uint8Array(300_000).fill(7));
    const lobby = roomIdOf({ name: "lobby", key: null });
    const known = new Map<string, string[]>([
      ["^[A-Za-z0-9_-]{22}$", [lobby]],
      ["^[0-9a-f]{32}$", [a.nodeId, b.nodeId]],
      ["^[0-9a-f]{64}$", [file.id]],
    ]);
    // Rogue 0 sends anything (most links end at its first bad frame); the others only what the schemas accept, so
    // their links last and the frames reach the code behind the checks.
    const frames = [sampler(arbitraryOf(Frame, { known }), SEED), sampler(arbitraryOf(Frame, { known, hostile: 0 }), SEED + 7)];
    const controls = [sampler(arbitraryOf(ControlMessage, { known }), SEED + 1), sampler(arbitraryOf(ControlMessage, { known, hostile: 0 }), SEED + 8)];
    const validFrame = TypeCompiler.Compile(Frame);
    const messages = sampler(fc.array(arbitraryOf(WireMessage, { known, hostile: 0 }), { minLength: 1, maxLength: 5 }), SEED + 2);
    const seqs = sampler(fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })), SEED + 3);
    const bytes = sampler(fc.uint8Array({ maxLength: 2048 }), SEED + 4);
    const picks = sampler(fc.integer({ min: 0, max: 99 }), SEED + 5);
    const valid = encodeFrame({ type: "want", file: file.id, room: lobby, chunks: [0] });
    const damage = sampler(damaged(valid), SEED + 6);
    const counts: Record<string, number> = { frames: 0, signed: 0, control: 0, raw: 0, links: 0, deepLinks: 0 };

    const deadline = Date.now() + SECONDS * 1000;
    const fuzzer = async (n: number) => {
      const deep = n > 0 ? 1 : 0;
      while (Date.now() < deadline) {
        const identity = rogueIdentity();
        let rogue: RawRogue;
        try {
          rogue = await rawRogue(a, { identity, pong: true });
        } catch {
          await Bun.sleep(100); // refused (a budget, a full table): try again shortly
          continue;
        }
        counts[deep ? "deepLinks" : "links"]!++;
        const proof = openRoom("lobby", rogue.id, a.nodeId).proof;
        try {
          rogue.send({ type: "hello", name: `rogue ${n}`, proofs: [proof], addresses: {} });
          while (Date.now() < deadline && rogue.closed() === null) {
            for (let i = 0; i < 20; i++) {
              const pick = picks();
              if (pick < 35) {
                const frame = frames[deep]!() as Frame;
                // A messages frame the codec accepts but whose texts and files are empty is refused too: none from deep rogues.
                if (deep && (!validFrame.Check(frame) || (frame.type === "messages" && frame.messages.some((m) => m.text === "" && !m.files)))) continue;
                // A deep rogue's hellos keep proving the room, so its link lasts.
                if (deep && frame.type === "hello") frame.proofs.push(proof);
                counts.frames++;
                rogue.sendRaw([new Uint8Array([1]), encodeAny(frame, pick % 7 === 0 && !deep ? bytes() : new Uint8Array(0))]);
              } else if (pick < 60) {
                counts.signed++;
                const signed = (messages() as WireMessage[]).map((m) => {
                  const fields = { ...m, origin: rogue.id, room: pick % 5 === 0 ? m.room : lobby, seq: seqs(), text: deep && m.text === "" && !m.files ? "…" : m.text };
                  return { ...fields, ...signMessage(fields, identity) };
                });
                rogue.send({ type: "messages", messages: signed });
              } else if (pick < 80) {
                counts.control++;
                rogue.sendRaw(new Uint8Array([0, ...new TextEncoder().encode(JSON.stringify(controls[deep]!()))]));
              } else if (!deep) {
                counts.raw++;
                rogue.sendRaw(pick < 90 ? [new Uint8Array([1]), damage()] : bytes());
              }
            }
            await Bun.sleep(20);
          }
        } catch {
          // the instance closed the link under a send: that is its right; link again
        } finally {
          rogue[Symbol.dispose]();
        }
      }
    };
    await Promise.all(Array.from({ length: ROGUES }, (_, n) => fuzzer(n)));
    console.log(`member fuzz: ${JSON.stringify(counts)}`);
    // Why the instance closed rogue links, most common first: what the fuzz reached.
    const reasons = new Map<string, number>();
    for (const m of a.output().matchAll(/(?:link to \w+ closed|forgot \w+): ([^\n]{0,60})/g)) reasons.set(m[1]!, (reasons.get(m[1]!) ?? 0) + 1);
    console.log(`member fuzz: links closed for ${JSON.stringify([...reasons].sort((x, y) => y[1] - x[1]).slice(0, 8))}`);

    for (const instance of [a, b]) {
      expect(instance.proc.exitCode).toBeNull();
      expect((await fetch(`${instance.http}/healthz`)).status).toBe(200);
      expectNoUnhandled(instance);
    }
    // The honest pair still replicates both ways.
    await waitForLink(a, b);
    const before = { a: (await history(a, "lobby")).length, b: (await history(b, "lobby")).length };
    await send(a, "lobby", "after the fuzz, from a");
    await send(b, "lobby", "after the fuzz, from b");
    await waitFor(async () => (await history(b, "lobby")).some((m) => m.text === "after the fuzz, from a"), 20_000, "a's message at b");
    await waitFor(async () => (await history(a, "lobby")).some((m) => m.text === "after the fuzz, from b"), 20_000, "b's message at a");
    expect((await history(a, "lobby")).length).toBeGreaterThanOrEqual(before.a + 2);
    await waitForCount(b, "lobby", before.b + 2);
  }, (SECONDS + 90) * 1000);
});
