/**
 * Signaling through a common peer (signaling/carrier.ts, signaling/sessions.ts `carried`): two members of a room
 * behind NATs, each linked only to a third, negotiate through it. It passes frames on only between members, one hop.
 */
import { expect, it } from "bun:test";
import { MemoryNetwork } from "../../../src/transport/memory/index.ts";
import type { SignalMessage } from "../../../src/transport/signaling/signal.ts";
import { waitFor } from "../../helpers/instance.ts";
import { signalingNode, type SignalingNode } from "../../helpers/signaling-nodes.ts";

const node = signalingNode;
type Node = SignalingNode;

/** Links `x` to `y` and has each vouch for the other as a member of a shared room, as replication would. */
async function link(x: Node, y: Node, members = true) {
  await x.m.connect({ nodeId: y.id, memory: y.name });
  await waitFor(() => x.m.status().some((s) => s.nodeId === y.id && s.state === "connected") && y.m.status().some((s) => s.nodeId === x.id && s.state === "connected"), 3000, "link");
  x.m.vouch(y.id, members);
  y.m.vouch(x.id, members);
}

const OFFER: SignalMessage = { session: "webrtc:s1", kind: "offer", sdp: "v=0 marker-5d1e" };

it("passes a signaling session between two members through a member both are linked to", async () => {
  const net = new MemoryNetwork();
  const [a, b, c] = [await node(net, "a"), await node(net, "b"), await node(net, "c")];
  await link(a, c);
  await link(b, c);
  await a.m.signaling.send({ nodeId: b.id }, OFFER);
  await waitFor(() => b.heard.length === 1, 3000, "the offer at B");
  expect(b.heard).toEqual([{ from: a.id, message: OFFER }]);
  await b.m.signaling.send({ nodeId: a.id }, { session: "webrtc:s1", kind: "answer", sdp: "v=0 answer" });
  await waitFor(() => a.heard.length === 1, 3000, "the answer at A");
  expect(a.heard[0]!.from).toBe(b.id);
  // Neither A nor B linked to the other: the negotiation is all that crossed.
  expect(a.m.status().map((s) => s.nodeId)).toEqual([c.id]);
});

it("passes nothing on for a peer that is no member, and never more than one hop", async () => {
  const net = new MemoryNetwork();
  const [a, b, c] = [await node(net, "a"), await node(net, "b"), await node(net, "c")];
  // A is linked to C but proved no room there: C passes nothing of A's on.
  await link(a, c, false);
  await link(b, c);
  c.m.vouch(b.id, true);
  a.m.vouch(c.id, true); // A would use C, which refuses
  await expect(a.m.signaling.send({ nodeId: b.id }, OFFER)).rejects.toThrow(/no common peer passed a session on/);
  expect(b.heard).toEqual([]);

  // A chain A - C - D - B, every one a member: C is linked to D but not to B, and sends nothing on toward B.
  const net2 = new MemoryNetwork();
  const [a2, b2, c2, d2] = [await node(net2, "a"), await node(net2, "b"), await node(net2, "c"), await node(net2, "d")];
  await link(a2, c2);
  await link(c2, d2);
  await link(d2, b2);
  await expect(a2.m.signaling.send({ nodeId: b2.id }, OFFER)).rejects.toThrow(/no common peer passed a session on/);
  expect(b2.heard).toEqual([]);
  expect(d2.heard).toEqual([]);
});
