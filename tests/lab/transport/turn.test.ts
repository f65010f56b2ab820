import { afterAll, afterEach, beforeAll, describe, expect, it, setDefaultTimeout } from "bun:test";

// A WebRTC dial is a handshake of ICE and DTLS (a lost DTLS flight is resent after 1 s); a test that makes two or three
// on a busy machine can pass bun's 5 s default without anything being wrong.
setDefaultTimeout(20_000);
import type { TurnServer } from "../../../src/domain/tiers.ts";
import { DialRefusedError } from "../../../src/transport/errors.ts";
import type { Link, Transport } from "../../../src/transport/link.ts";
import type { Signaling, SignalMessage } from "../../../src/transport/signaling/signal.ts";
import { WebRtcLink, webrtcTransport, type WebRtcTransportInit } from "../../../src/transport/webrtc/index.ts";
import { Handlers } from "../../../src/util/handlers.ts";
import { startCoturn, TURNSERVER, type Coturn } from "../../helpers/coturn.ts";
import { transportCompliance } from "../../helpers/compliance.ts";

if (!TURNSERVER) console.warn("skipping the TURN tier tests: coturn missing: apt-get install coturn");

/**
 * Signaling between in-process nodes, delivered on a later turn as JSON; unknown nodes are unreachable.
 * `sent` records every message, to see which candidates each side offered.
 */
function signalingNetwork(sent: { from: string; message: SignalMessage }[] = []) {
  const handlers = new Map<string, Handlers<[string, SignalMessage]>>();
  return (nodeId: string): Signaling => {
    handlers.set(nodeId, new Handlers());
    return {
      send: async (to, message) => {
        const handler = handlers.get(to.nodeId);
        if (!handler) throw new Error(`no signaling path to ${to.nodeId}`);
        sent.push({ from: nodeId, message });
        const copy = JSON.parse(JSON.stringify(message)) as SignalMessage;
        queueMicrotask(() => handler.emit(nodeId, copy));
      },
      onMessage: (handler) => handlers.get(nodeId)!.add(handler),
    };
  };
}

describe.skipIf(!TURNSERVER)("turn tier through a real coturn on loopback", () => {
  let coturn: Coturn;
  beforeAll(async () => {
    coturn = await startCoturn();
  });
  afterAll(async () => {
    await coturn?.stop();
  });

  /** Relay-only transports "a" and "b" that reach the TURN server as `turn`. */
  const pair = (turn: (server: TurnServer) => TurnServer = (s) => s, init: Partial<WebRtcTransportInit> = {}) => {
    const sent: { from: string; message: SignalMessage }[] = [];
    const join = signalingNetwork(sent);
    const make = (id: string) =>
      webrtcTransport({
        tier: "turn",
        localNodeId: id,
        signaling: join(id),
        iceServers: [],
        turnServers: [turn(coturn.server)],
        bindAddress: "127.0.0.1",
        ...init,
      });
    return { a: make("a"), b: make("b"), sent };
  };

  transportCompliance("turn", async (options) => {
    const { a, b } = pair(undefined, options);
    return { a, b, addressOfB: { nodeId: "b" }, nowhere: { nodeId: "ghost" } };
  });

  describe("relaying", () => {
    let open: Transport[] = [];
    afterEach(async () => {
      for (const t of open) await t.close();
      open = [];
    });

    it("each side offers only relay candidates, and frames cross", async () => {
      const { a, b, sent } = pair();
      open.push(a, b);
      const accepted = Promise.withResolvers<Link>();
      await b.listen(accepted.resolve);
      const mine = await a.dial({ nodeId: "b" });
      const theirs = await accepted.promise;
      const offered = (from: string) =>
        sent
          .filter((s) => s.from === from)
          .flatMap(({ message: m }) => (m.kind === "candidate" ? [m.candidate] : (m.sdp.match(/^a=candidate:.*$/gm) ?? [])));
      for (const side of ["a", "b"]) {
        expect(offered(side).length).toBeGreaterThan(0);
        for (const candidate of offered(side)) expect(candidate).toContain(" typ relay");
      }
      // libjuice may still settle on another pair it discovers through the relay (libdatachannel issue #1587),
      // so the pair in use is not asserted; that the relay is needed at all is shown by the wrong-password test.
      expect((mine as WebRtcLink).selectedCandidatePair()).not.toBeNull();
      const got = Promise.withResolvers<Uint8Array>();
      theirs.onFrame(got.resolve);
      mine.send(Uint8Array.of(1, 2, 3));
      expect(await got.promise).toEqual(Uint8Array.of(1, 2, 3));
    });

    it("with a wrong TURN password a relay-only dial fails with DialRefusedError, without waiting for the timeout", async () => {
      const { a, b } = pair((s) => ({ ...s, password: "wrong" }), { dialTimeoutMs: 5000 });
      open.push(a, b);
      await b.listen(() => {});
      const started = performance.now();
      const error = await a.dial({ nodeId: "b" }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DialRefusedError);
      expect((error as DialRefusedError).message).toContain("no relay candidate");
      expect(performance.now() - started).toBeLessThan(4000);
    });

    it("cannot dial without a TURN server", () => {
      const t = webrtcTransport({ tier: "turn", localNodeId: "a", signaling: signalingNetwork()("a"), iceServers: [] });
      open.push(t);
      expect(t.canDial({ nodeId: "b" })).toBe(false);
    });
  });
});
