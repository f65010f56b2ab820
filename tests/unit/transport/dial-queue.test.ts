// The dial queue's first round against transports whose dials the test settles by hand.
import { expect, it } from "bun:test";
import type { Tier } from "../../../src/domain/tiers.ts";
import { DialError } from "../../../src/transport/errors.ts";
import type { Link, Transport } from "../../../src/transport/link.ts";
import { DialQueue } from "../../../src/transport/links/dial-queue.ts";
import { Peer } from "../../../src/transport/links/peer.ts";
import { waitFor } from "../../helpers/instance.ts";

/** A tier whose every dial waits for the test to settle it. */
function handTier(tier: Tier) {
  const dials: PromiseWithResolvers<Link>[] = [];
  const transport = {
    tier,
    canDial: () => true,
    dial: () => {
      const dial = Promise.withResolvers<Link>();
      dials.push(dial);
      return dial.promise;
    },
  } as unknown as Transport;
  return { transport, dials };
}

it("ends its first round only once no retry is under way: a peer is not given up on just before it links", async () => {
  const webrtc = handTier("webrtc");
  const websocket = handTier("websocket");
  const closing = new AbortController();
  const linked: Tier[] = [];
  const queue: DialQueue = new DialQueue({
    transports: [webrtc.transport, websocket.transport],
    dialTimeoutMs: 60_000,
    staggerMs: 0,
    retryMinMs: 10,
    retryMaxMs: 10,
    closing: closing.signal,
    identify: async (link) => ({ nodeId: "b", link }),
    onLinked: (peer, _link, tier) => (linked.push(tier), queue.linked(peer, tier)),
    onDue: (peer) => queue.pump(peer),
  });
  const peer = new Peer("b");
  let outcome = null as string | null;
  queue.connect(peer).then(
    (tier) => (outcome = `linked on ${tier}`),
    () => (outcome = "given up"),
  );
  // webrtc fails at once (no signaling path yet); its retry starts and stays under way.
  webrtc.dials[0]!.reject(new DialError("no signaling path"));
  await waitFor(() => webrtc.dials.length === 2, 2000, "webrtc's retry");
  // Every tier has now failed once.
  websocket.dials[0]!.reject(new DialError("timed out"));
  await Bun.sleep(20);
  expect(outcome).toBeNull();
  // The retry links.
  webrtc.dials[1]!.resolve({ close() {} } as unknown as Link);
  await waitFor(() => outcome !== null, 2000, "the round's end");
  expect(outcome).toBe("linked on webrtc");
  expect(linked).toEqual(["webrtc"]);
  closing.abort();
});
