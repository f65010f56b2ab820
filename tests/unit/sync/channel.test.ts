import { describe, expect, it } from "bun:test";
import type { Tier } from "../../../src/domain/tiers.ts";
import { SyncChannel, type SyncHandler, type SyncLinks } from "../../../src/sync/channel.ts";
import { encodeFrame } from "../../../src/sync/codec.ts";
import { Handlers } from "../../../src/util/handlers.ts";

/** Links that only record: data and changes are driven by the test. */
function fakeLinks() {
  const data = new Handlers<[string, Uint8Array, Tier]>();
  const change = new Handlers<[string, Tier | null, Tier | null]>();
  const closed: string[] = [];
  const forgotten: string[] = [];
  const links: SyncLinks = {
    send: () => true,
    buffered: () => 0,
    onData: (h) => data.add(h),
    onChange: (h) => change.add(h),
    closeLink: (nodeId, tier, reason) => void closed.push(`${nodeId} ${tier} ${reason}`),
    forget: (nodeId) => void forgotten.push(nodeId),
  };
  return { links, data, change, closed, forgotten };
}

const hello = encodeFrame({ type: "hello", name: "b", proofs: [], addresses: {} });

describe("the sync channel", () => {
  it("routes each frame type to its handlers in registration order, and tells them of peers coming and going", () => {
    const f = fakeLinks();
    const channel = new SyncChannel({ links: f.links });
    const calls: string[] = [];
    const handler = (name: string, types: ("hello" | "vector")[]): SyncHandler<"hello" | "vector"> => ({
      types,
      receive: (from, frame) => void calls.push(`${name} ${frame.type} from ${from}`),
      primaryChanged: (nodeId) => void calls.push(`${name} changed ${nodeId}`),
      peerUp: (nodeId, first) => void calls.push(`${name} up ${nodeId} ${first}`),
      peerDown: (nodeId) => void calls.push(`${name} down ${nodeId}`),
      start: () => void calls.push(`${name} start`),
    });
    channel.register(handler("one", ["hello"]));
    channel.register(handler("two", ["hello", "vector"]));
    channel.start();
    f.change.emit("b", "websocket", null);
    f.change.emit("b", "webrtc", "websocket");
    expect([...channel.peers()]).toEqual(["b"]);
    f.data.emit("b", hello, "webrtc");
    f.data.emit("b", encodeFrame({ type: "vector", rooms: {} }), "webrtc");
    f.change.emit("b", null, "webrtc");
    expect(channel.isUp("b")).toBe(false);
    channel.stop();
    f.data.emit("b", hello, "webrtc");
    expect(calls).toEqual([
      "one start",
      "two start",
      "one changed b",
      "two changed b",
      "one up b true",
      "two up b true",
      "one changed b",
      "two changed b",
      "one up b false",
      "two up b false",
      "one hello from b",
      "two hello from b",
      "two vector from b",
      "one changed b",
      "two changed b",
      "one down b",
      "two down b",
    ]);
  });

  it("closes the link a bad frame came on, and passes it to no handler", () => {
    const f = fakeLinks();
    const channel = new SyncChannel({ links: f.links });
    const got: string[] = [];
    channel.register({ types: ["hello"], receive: (from) => void got.push(from) });
    channel.start();
    f.data.emit("b", new Uint8Array([1, 2, 3]), "websocket");
    expect(got).toEqual([]);
    expect(f.closed).toHaveLength(1);
    expect(f.closed[0]).toStartWith("b websocket ");
    channel.stop();
  });

  it("unlinks a peer once, at its thousandth refused thing, whichever handler refused them", () => {
    const f = fakeLinks();
    const channel = new SyncChannel({ links: f.links });
    for (let i = 0; i < 999; i++) channel.refuse("b", i % 2 ? "a bad chunk" : "a bad message");
    expect(f.forgotten).toEqual([]);
    channel.refuse("b", "a bad message");
    channel.refuse("b", "a bad message");
    expect(f.forgotten).toEqual(["b"]);
  });
});
