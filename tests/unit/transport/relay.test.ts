/**
 * The `relay` tier (protocols/circuits.ts, circuit-relay.ts): relayed links between two ends through a relay, over
 * plain memory links that carry the link manager's frames (links/control.ts), as the Circuits protocol wires them.
 * Meeting at the rendezvous and the secure handshake are left out here (tests/transport/rendezvous.test.ts runs the
 * tier between link managers): what is tested is the tier's transport, as every tier's is.
 */
import { describe, expect, it } from "bun:test";
import { LinkClosedError } from "../../../src/transport/errors.ts";
import { decodeFrame, sendControl, type ControlMessage } from "../../../src/transport/links/control.ts";
import type { Link } from "../../../src/transport/link.ts";
import { MemoryNetwork, memoryTransport } from "../../../src/transport/memory/index.ts";
import { CircuitRelay, type CircuitWire } from "../../../src/transport/protocols/circuit-relay.ts";
import { CircuitTransport } from "../../../src/transport/protocols/circuits.ts";
import { waitFor } from "../../helpers/instance.ts";
import { closeReason, transportCompliance, type ComplianceOptions } from "../../helpers/compliance.ts";

/** Node ids (the wire takes no other), each also the instance's memory address: ends, relay, and two out of reach. */
const [A, B, R, GHOST, GONE] = ["a", "b", "c", "d", "e"].map((digit) => digit.repeat(32)) as [string, string, string, string, string];

/** One instance of the miniature: its links to the others by name, and the wire over them. */
function node() {
  const links = new Map<string, Link>();
  const wire: CircuitWire = {
    control: (to, message) => {
      const link = links.get(to);
      return !!link && sendControl({ link }, message);
    },
    frame: (to, parts) => {
      try {
        links.get(to)?.send(parts);
        return links.has(to);
      } catch {
        return false;
      }
    },
    buffered: (to) => links.get(to)?.bufferedBytes ?? null,
  };
  return { links, wire };
}

/** Feeds a node's link from `from` to its handlers: control messages, relayed links' frames, and the link's close. */
function wireUp(
  at: ReturnType<typeof node>,
  from: string,
  link: Link,
  on: { control: (message: ControlMessage) => void; circuit: (circuit: string, data: Uint8Array) => void; gone: () => void },
) {
  at.links.set(from, link);
  link.onFrame((frame) => {
    const decoded = decodeFrame(frame);
    if (decoded.kind === "control") on.control(decoded.message);
    else if (decoded.kind === "circuit") on.circuit(decoded.circuit, decoded.data);
  });
  link.onClose(() => {
    at.links.delete(from);
    on.gone();
  });
}

/** Ends A and B, each linked to the relay R; GHOST is reached through a relay (GONE) neither is linked to. */
async function relayTier({ maxQueuedBytes }: ComplianceOptions = {}) {
  const net = new MemoryNetwork();
  const r = node();
  const relay = new CircuitRelay({ wire: r.wire, allowed: () => true });
  const outer = memoryTransport(net, R, { maxQueuedBytes });
  await outer.listen((link) =>
    wireUp(r, link.remote, link, {
      control: (m) => {
        if (m.t === "open") relay.open(link.remote, m.c, m.to);
        if (m.t === "shut") relay.shut(link.remote, m.c, m.why);
      },
      circuit: (circuit, data) => relay.frame(link.remote, circuit, data),
      gone: () => relay.gone(link.remote),
    }),
  );
  const end = async (name: string) => {
    const at = node();
    const transport = new CircuitTransport({ wire: at.wire, ways: (to) => [to === GHOST ? GONE : R], accepts: (via) => via === R });
    const link = await memoryTransport(net, name, { maxQueuedBytes }).dial({ memory: R });
    wireUp(at, R, link, {
      control: (m) => {
        if (m.t === "opened") transport.opened(R, m.c, m.from);
        if (m.t === "shut") transport.shut(R, m.c, m.why);
      },
      circuit: (circuit, data) => transport.frame(R, circuit, data),
      gone: () => transport.relayGone(R),
    });
    return { transport, link };
  };
  const a = await end(A);
  const b = await end(B);
  return {
    a: a.transport,
    b: b.transport,
    addressOfB: { nodeId: B },
    nowhere: { nodeId: GHOST },
    /** The ends' links to the relay. */
    toRelay: { a: a.link, b: b.link },
    teardown: async () => {
      relay.close();
      for (const link of [a.link, b.link]) link.close("done");
      await outer.close();
    },
  };
}

const NO_QUEUE = "its bytes wait in the link to the relay, which closes past its limit, and every relayed link through it";
transportCompliance("relay", relayTier, { queue: NO_QUEUE });

describe("relay transport", () => {
  it("a sender past the queue limit of its link to the relay gets LinkClosedError; that link closes as not read, and every relayed link through it", async () => {
    const s = await relayTier({ maxQueuedBytes: 1024 * 1024 });
    try {
      const accepted: Link[] = [];
      await s.b.listen((link) => accepted.push(link));
      const mine = await s.a.dial(s.addressOfB);
      const other = await s.a.dial(s.addressOfB);
      await waitFor(() => accepted.length === 2, 5000, "both relayed links accepted");
      const toRelay = closeReason(s.toRelay.a);
      const theirs = closeReason(accepted[0]!);
      const frame = new Uint8Array(256 * 1024);
      expect(() => {
        for (let i = 0; i < 256; i++) mine.send(frame);
      }).toThrow(LinkClosedError);
      expect(mine.closed).toBe(true);
      expect(await toRelay).toContain("not reading");
      await theirs;
      await waitFor(() => other.closed, 5000, "the other relayed link through it closed");
    } finally {
      await s.a.close();
      await s.b.close();
      await s.teardown();
    }
  });
});
