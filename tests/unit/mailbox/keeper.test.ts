// The mailbox's side (src/mailbox/keeper.ts), through a real sync channel and store: frames encoded and decoded as on
// the wire, items sealed as members seal them.
import { describe, expect, it } from "bun:test";
import type { Tier } from "../../../src/domain/tiers.ts";
import { newRoomKey } from "../../../src/domain/rooms.ts";
import { MailboxKeeper } from "../../../src/mailbox/keeper.ts";
import { itemId, mailboxKeys, openItem, sealItem } from "../../../src/mailbox/seal.ts";
import { openDatabase } from "../../../src/storage/db.ts";
import { MailboxStore } from "../../../src/storage/mailbox.ts";
import { SyncChannel, type SyncLinks } from "../../../src/sync/channel.ts";
import { decodeFrame, encodeFrame, FrameError } from "../../../src/sync/codec.ts";
import type { BoxItemsFrame, BoxPushedFrame, Frame } from "../../../src/sync/frames.ts";
import { Handlers } from "../../../src/util/handlers.ts";

const MAILBOX = "m".repeat(32);
const ALICE = "a".repeat(32);
const BOB = "b".repeat(32);
const EVE = "e".repeat(32);
const room = { name: "trip", key: newRoomKey() };
const keys = mailboxKeys(room, MAILBOX);
const text = (s: string) => new TextEncoder().encode(s);

/** A mailbox over links the test drives: what members send arrives as bytes, what it answers is decoded. */
function mailbox(opts: { maxBytes?: number; waiting?: Record<string, string[]>; framesPerSecond?: number } = {}) {
  const data = new Handlers<[string, Uint8Array, Tier]>();
  const answers: { to: string; frame: Frame; binary: Uint8Array }[] = [];
  const closed: string[] = [];
  const links: SyncLinks = {
    send: (to, bytes) => {
      answers.push({ to, ...decodeFrame(bytes) });
      return true;
    },
    buffered: () => 0,
    onData: (h) => data.add(h),
    onChange: () => () => {},
    closeLink: (nodeId, _tier, reason) => void closed.push(`${nodeId}: ${reason}`),
    forget: () => {},
  };
  const channel = new SyncChannel({ links });
  const store = new MailboxStore(openDatabase(":memory:"), { maxBytes: opts.maxBytes ?? 16 * 1024 * 1024, days: 30 });
  const waiting = opts.waiting ?? { [ALICE]: [keys.topic], [BOB]: [keys.topic] };
  channel.register(new MailboxKeeper({ channel, store, waits: (nodeId, topic) => waiting[nodeId]?.includes(topic) ?? false, framesPerSecond: opts.framesPerSecond }));
  channel.start();
  const from = (nodeId: string, frame: Frame, binary?: Uint8Array) => data.emit(nodeId, encodeFrame(frame, binary), "websocket");
  const last = <T extends Frame>(to: string) => answers.filter((a) => a.to === to).at(-1) as unknown as { frame: T; binary: Uint8Array };
  /** Pushes messages "1".."n" as `nodeId`; answers the results. */
  const push = (nodeId: string, refs: string[]) => {
    const items = refs.map((ref) => ({ id: itemId(keys, "message", ref), sealed: sealItem(keys, itemId(keys, "message", ref), text(`message ${ref}`)) }));
    from(nodeId, { type: "box-push", topic: keys.topic, items: items.map((i) => ({ id: i.id, bytes: i.sealed.byteLength })) }, Buffer.concat(items.map((i) => i.sealed)));
    return last<BoxPushedFrame>(nodeId).frame;
  };
  /** Reads the topic after `after` as `nodeId`: the frame, and each item opened. */
  const get = (nodeId: string, after: number, limit = 256) => {
    from(nodeId, { type: "box-get", topic: keys.topic, after, limit });
    const { frame, binary } = last<BoxItemsFrame>(nodeId);
    let at = 0;
    const opened = frame.items.map((item) => new TextDecoder().decode(openItem(keys, item.id, binary.subarray(at, (at += item.bytes)))!));
    return { frame, opened };
  };
  return { push, get, from, store, closed, answers };
}

describe("a mailbox", () => {
  it("keeps what a member pushes and hands it to another, in the order it came, once, from a cursor", () => {
    const m = mailbox();
    expect(m.push(ALICE, ["1", "2", "3"]).results.map((r) => r.kind)).toEqual(["stored", "stored", "stored"]);
    // Bob holds 2 and 4 too: 2 is kept once, 4 is new.
    expect(m.push(BOB, ["2", "4"]).results.map((r) => r.kind)).toEqual(["held", "stored"]);
    const all = m.get(BOB, 0);
    expect(all.opened).toEqual(["message 1", "message 2", "message 3", "message 4"]);
    expect(all.frame.more).toBe(false);
    const cursor = all.frame.items[1]!.stamp;
    expect(m.get(BOB, cursor).opened).toEqual(["message 3", "message 4"]);
    const page = m.get(BOB, 0, 2);
    expect(page.opened).toEqual(["message 1", "message 2"]);
    expect(page.frame.more).toBe(true);
  });

  it("gives nothing to, and keeps nothing from, an instance that does not wait at the topic here; it says why", () => {
    const m = mailbox();
    m.push(ALICE, ["1"]);
    const pushed = m.push(EVE, ["9"]);
    expect(pushed.results).toEqual([{ id: itemId(keys, "message", "9"), kind: "refused", reason: expect.stringContaining("wait at this topic") }]);
    const read = m.get(EVE, 0);
    expect(read.frame.items).toEqual([]);
    expect(read.frame.refused).toContain("wait at this topic");
    expect(m.store.stats().items).toBe(1);
  });

  it("refuses a member past its share, saying why, and one asking too often, while others go on", () => {
    const m = mailbox({ maxBytes: 8 * 256, framesPerSecond: 1 });
    const refs = Array.from({ length: 3 }, (_, i) => `${i}`);
    const results = m.push(ALICE, refs).results;
    expect(results.map((r) => r.kind)).toEqual(["stored", "stored", "refused"]);
    expect(results[2]!.reason).toContain("share");
    for (let i = 0; i < 20; i++) m.get(ALICE, 0);
    expect(m.get(ALICE, 0).frame.refused).toContain("too many");
    expect(m.get(BOB, 0).opened).toEqual(["message 0", "message 1"]);
  });

  it("a frame whose items and bytes disagree closes the link it came on", () => {
    const m = mailbox();
    const sealed = sealItem(keys, itemId(keys, "message", "1"), text("x"));
    m.from(ALICE, { type: "box-push", topic: keys.topic, items: [{ id: itemId(keys, "message", "1"), bytes: sealed.byteLength + 1 }] }, sealed);
    expect(m.closed).toEqual([expect.stringContaining("says 257 bytes of items and carries 256")]);
    expect(m.store.stats().items).toBe(0);
    expect(() => decodeFrame(encodeFrame({ type: "box-get", topic: keys.topic, after: 0, limit: 0 }))).toThrow(FrameError);
  });
});
