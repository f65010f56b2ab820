import { afterAll, afterEach, beforeAll, describe, expect, it } from "bun:test";
import type { TurnServer } from "../../src/config.ts";
import { WebRtcLink, webrtcTransport } from "../../src/transport/webrtc.ts";
import { DialError, type Link, type SignalMessage, type Signaling, type Transport } from "../../src/transport/types.ts";
import { startCoturn, TURNSERVER, type Coturn } from "../helpers/coturn.ts";
import { transportCompliance } from "./compliance.ts";

if (!TURNSERVER) console.warn("skipping the TURN tier tests: coturn missing: apt-get install coturn");

/** Signaling between in-process nodes, delivered on a later turn as JSON; unknown nodes are unreachable. */
function signalingNetwork() {
  const handlers = new Map<string, (from: string, message: SignalMessage) => void>();
  return (nodeId: string): Signaling => {
    handlers.set(nodeId, () => {});
    return {
      send: async (to, message) => {
        const handler = handlers.get(to.nodeId);
        if (!handler) throw new Error(`no signaling path to ${to.nodeId}`);
        const copy = JSON.parse(JSON.stringify(message)) as SignalMessage;
        queueMicrotask(() => handlers.get(to.nodeId)!(nodeId, copy));
      },
      onMessage: (handler) => void handlers.set(nodeId, handler),
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
  const pair = (turn: (server: TurnServer) => TurnServer = (s) => s, dialTimeoutMs?: number) => {
    const join = signalingNetwork();
    const make = (id: string) =>
      webrtcTransport({
        tier: "turn",
        localNodeId: id,
        signaling: join(id),
        iceServers: [],
        turnServers: [turn(coturn.server)],
        bindAddress: "127.0.0.1",
        ...(dialTimeoutMs !== undefined && { dialTimeoutMs }),
      });
    return { a: make("a"), b: make("b") };
  };

  transportCompliance("turn", async () => {
    const { a, b } = pair();
    return { a, b, addressOfB: { nodeId: "b" }, nowhere: { nodeId: "ghost" } };
  });

  describe("relaying", () => {
    let open: Transport[] = [];
    afterEach(async () => {
      for (const t of open) await t.close();
      open = [];
    });

    it("both ends of a turn link talk through relay candidates", async () => {
      const { a, b } = pair();
      open.push(a, b);
      const accepted = Promise.withResolvers<Link>();
      await b.listen(accepted.resolve);
      const mine = await a.dial({ nodeId: "b" });
      const theirs = await accepted.promise;
      for (const link of [mine, theirs]) {
        expect(link).toBeInstanceOf(WebRtcLink);
        const pair = (link as WebRtcLink).selectedCandidatePair();
        console.log(link === mine ? "mine" : "theirs", JSON.stringify(pair?.local), JSON.stringify(pair?.remote));
        expect(pair?.local.type).toBe("relay");
        expect(pair?.remote.type).toBe("relay");
      }
      const got = Promise.withResolvers<Uint8Array>();
      theirs.onFrame(got.resolve);
      mine.send(Uint8Array.of(1, 2, 3));
      expect(await got.promise).toEqual(Uint8Array.of(1, 2, 3));
    });

    it("with a wrong TURN password a relay-only dial fails with DialError", async () => {
      const { a, b } = pair((s) => ({ ...s, password: "wrong" }), 2000);
      open.push(a, b);
      await b.listen(() => {});
      await expect(a.dial({ nodeId: "b" })).rejects.toBeInstanceOf(DialError);
    });

    it("cannot dial without a TURN server", () => {
      const t = webrtcTransport({ tier: "turn", localNodeId: "a", signaling: signalingNetwork()("a"), iceServers: [] });
      open.push(t);
      expect(t.canDial({ nodeId: "b" })).toBe(false);
    });
  });
});
