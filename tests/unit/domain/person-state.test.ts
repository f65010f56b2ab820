// What a person's devices share (src/domain/person-state.ts): events folded into one state whatever their order.
import { describe, expect, it } from "bun:test";
import { foldEvents, parseEvent, type PersonEvent, type Written } from "../../../src/domain/person-state.ts";
import { newPerson, revokeDevice } from "../../../src/domain/persons.ts";
import { newRoomKey } from "../../../src/domain/rooms.ts";

const LAPTOP = "1".repeat(32);
const DESKTOP = "2".repeat(32);
const PHONE = "3".repeat(32);
const key = newRoomKey();
let n = 0;
const w = (event: PersonEvent, at: number, origin = LAPTOP): Written => ({ event, at, origin, seq: ++n });

/** Every order of `events` (a few hundred shuffles) folds to the same state. */
function sameWhateverOrder(events: Written[]) {
  const first = JSON.stringify(foldEvents(events), (_, v: unknown) => (v instanceof Map ? [...v].sort() : v));
  for (let i = 0; i < 300; i++) {
    const shuffled = [...events].sort(() => Math.random() - 0.5);
    expect(JSON.stringify(foldEvents(shuffled), (_, v: unknown) => (v instanceof Map ? [...v].sort() : v))).toBe(first);
  }
  return foldEvents(events);
}

describe("a person's shared state", () => {
  it("is the same on every device whatever order the events came in: the latest wins, a read mark moves only forward", () => {
    const alice = newPerson();
    const state = sameWhateverOrder([
      w({ t: "join", room: "family", key }, 100),
      w({ t: "leave", room: "family" }, 200, DESKTOP),
      w({ t: "join", room: "work", key: null }, 150),
      w({ t: "name", name: "Alice" }, 100),
      w({ t: "name", name: "Alice L." }, 300, DESKTOP),
      // Read up to a later message on the laptop, then the desktop (behind) says an earlier one: the mark stays.
      w({ t: "read", room: "work", origin: PHONE, seq: 9, sent: 5000 }, 400),
      w({ t: "read", room: "work", origin: PHONE, seq: 4, sent: 3000 }, 500, DESKTOP),
      w({ t: "device", node: DESKTOP, label: "desktop" }, 50),
      w({ t: "device", node: PHONE, label: "phone" }, 60),
      w({ ...revokeDevice(alice, PHONE, 700), t: "revoke" }, 700, DESKTOP),
      // Named again after its revocation: it stays revoked.
      w({ t: "device", node: PHONE, label: "phone again" }, 800),
    ]);
    expect(state.rooms.get("family")).toEqual({ joined: false, key });
    expect(state.rooms.get("work")).toEqual({ joined: true, key: null });
    expect(state.name).toBe("Alice L.");
    expect(state.reads.get("work")).toEqual({ origin: PHONE, seq: 9, sent: 5000 });
    expect([...state.devices]).toEqual([[DESKTOP, "desktop"]]);
    expect(state.revoked.get(PHONE)).toBe(700);
  });

  it("takes from a message only an event of its shape, and a revocation only when the person signed it", () => {
    const alice = newPerson();
    const mallory = newPerson();
    expect(parseEvent(JSON.stringify({ t: "name", name: "Alice" }), alice.key)).toEqual({ t: "name", name: "Alice" });
    expect(parseEvent("hello", alice.key)).toBeNull();
    expect(parseEvent(JSON.stringify({ t: "name", name: "" }), alice.key)).toBeNull();
    expect(parseEvent(JSON.stringify({ t: "join", room: "a room", key: null }), alice.key)).toBeNull();
    expect(parseEvent(JSON.stringify({ t: "join", room: "x", key: null, extra: 1 }), alice.key)).toBeNull();
    const revoke = { t: "revoke", ...revokeDevice(alice, PHONE, 10) };
    expect(parseEvent(JSON.stringify(revoke), alice.key)).toEqual(revoke as PersonEvent);
    // Another person's revocation, or Alice's altered: none.
    expect(parseEvent(JSON.stringify({ t: "revoke", ...revokeDevice(mallory, PHONE, 10) }), alice.key)).toBeNull();
    expect(parseEvent(JSON.stringify({ ...revoke, device: DESKTOP }), alice.key)).toBeNull();
  });
});
