/**
 * Signaling sessions passed on by a carrier (a rendezvous, a common member): a peer that opens one session after
 * another through the same carrier, as a restarted peer met again does, is never refused for the sessions it
 * finished before. The carrier's share bounds handshakes under way, not proven sessions.
 */
import { afterEach, describe, expect, it } from "bun:test";
import { SignalSessions } from "../../../src/transport/signaling/sessions.ts";
import type { SignalMessage } from "../../../src/transport/signaling/signal.ts";
import { rogueIdentity } from "../../helpers/rogue.ts";
import { waitFor } from "../../helpers/instance.ts";

const CARRIER = "c".repeat(32);
const noHub = { joinLocal: () => ({ send: () => {}, leave: () => {} }) };

/** Two instances whose sessions a carrier passes on (synchronously, as a link would, frame by frame). */
function pair() {
  const a = rogueIdentity();
  const b = rogueIdentity();
  const heard: { from: string; message: SignalMessage }[] = [];
  const paths: Record<string, SignalSessions> = {};
  const make = (identity: typeof a, other: () => string) =>
    new SignalSessions({
      identity,
      hub: noHub,
      onMessage: (from, message) => heard.push({ from, message }),
      carriers: () => [CARRIER],
      carry: (_carrier, to, payload) => {
        queueMicrotask(() => paths[to]?.carried(CARRIER, identity.nodeId, payload));
        return to === other();
      },
    });
  paths[a.nodeId] = make(a, () => b.nodeId);
  paths[b.nodeId] = make(b, () => a.nodeId);
  for (const path of Object.values(paths)) path.start();
  return { a: paths[a.nodeId]!, b: paths[b.nodeId]!, to: { nodeId: b.nodeId }, heard, close: () => Object.values(paths).forEach((p) => p.close()) };
}

describe("sessions through a carrier", () => {
  const closers: (() => void)[] = [];
  afterEach(() => closers.splice(0).forEach((close) => close()));

  it("a peer that opens a fresh session twenty times (a peer met again and again) is heard every time", async () => {
    const { a, to, heard, close } = pair();
    closers.push(close);
    for (let n = 1; n <= 20; n++) {
      a.renew(to.nodeId);
      await a.send(to, { session: `s${n}`, kind: "offer", sdp: `offer ${n}` });
      await waitFor(() => heard.some((h) => h.message.session === `s${n}`), 6000, `offer ${n} heard`);
    }
    expect(heard.map((h) => h.message.session)).toEqual(Array.from({ length: 20 }, (_, i) => `s${i + 1}`));
  }, 60_000);
});
