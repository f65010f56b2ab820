// Items a mailbox keeps: sealed under keys of the room at that mailbox (src/mailbox/seal.ts).
import { describe, expect, it } from "bun:test";
import { itemId, mailboxKeys, openItem, PAD_BYTES, sealItem } from "../../../src/mailbox/seal.ts";
import { newRoomKey, rendezvousTopic } from "../../../src/domain/rooms.ts";

const MAILBOX = "a".repeat(32);
const OTHER_MAILBOX = "b".repeat(32);
const room = { name: "trip", key: newRoomKey() };
const text = (s: string) => new TextEncoder().encode(s);

describe("a mailbox's items", () => {
  it("open to the room's members, byte for byte, under the room's topic at that mailbox", () => {
    const keys = mailboxKeys(room, MAILBOX);
    expect(keys.topic).toBe(rendezvousTopic(room, MAILBOX));
    const id = itemId(keys, "message", "origin:1");
    for (const plain of [text(""), text("hello"), new Uint8Array(100_000).fill(7)]) {
      expect(openItem(keys, id, sealItem(keys, id, plain))).toEqual(plain);
    }
  });

  it("hold nothing in clear, and say little by their length: every sealed item is a multiple of 256 bytes", () => {
    const keys = mailboxKeys(room, MAILBOX);
    const id = itemId(keys, "message", "origin:1");
    const short = sealItem(keys, id, text("hi"));
    const longer = sealItem(keys, id, text("a message of some two hundred characters ".repeat(5)));
    expect(short.length % PAD_BYTES).toBe(0);
    expect(longer.length % PAD_BYTES).toBe(0);
    expect(short.length).toBe(longer.length);
    expect(Buffer.from(longer).toString("latin1")).not.toContain("message");
    // Sealed twice, the same item looks different (a fresh nonce): a mailbox cannot tell repeats by their bytes.
    expect(Buffer.from(sealItem(keys, id, text("hi")))).not.toEqual(Buffer.from(short));
  });

  it("do not open altered, under another id, at another mailbox, or in another room", () => {
    const keys = mailboxKeys(room, MAILBOX);
    const id = itemId(keys, "message", "origin:1");
    const sealed = sealItem(keys, id, text("hello"));
    const altered = new Uint8Array(sealed);
    altered[20]! ^= 1;
    expect(openItem(keys, id, altered)).toBeNull();
    expect(openItem(keys, itemId(keys, "message", "origin:2"), sealed)).toBeNull();
    expect(openItem(mailboxKeys(room, OTHER_MAILBOX), id, sealed)).toBeNull();
    expect(openItem(mailboxKeys({ name: "trip", key: newRoomKey() }, MAILBOX), id, sealed)).toBeNull();
    expect(openItem(mailboxKeys({ name: "trip", key: null }, MAILBOX), id, sealed)).toBeNull();
    expect(openItem(keys, id, sealed.subarray(0, 20))).toBeNull();
  });

  it("have ids the mailbox cannot tie to what they name: per room, per mailbox, per kind", () => {
    const keys = mailboxKeys(room, MAILBOX);
    const id = itemId(keys, "message", "origin:1");
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(id).not.toContain("origin");
    expect(itemId(keys, "message", "origin:1")).toBe(id);
    expect(itemId(keys, "chunk", "origin:1")).not.toBe(id);
    expect(itemId(mailboxKeys(room, OTHER_MAILBOX), "message", "origin:1")).not.toBe(id);
    expect(itemId(mailboxKeys({ name: "trip", key: newRoomKey() }, MAILBOX), "message", "origin:1")).not.toBe(id);
  });
});
