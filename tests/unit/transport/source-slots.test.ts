import { describe, expect, it } from "bun:test";
import { SourceSlots } from "../../../src/transport/source-slots.ts";

describe("connection slots per source", () => {
  it("a source takes its share, then borrows only while under half are taken; another source always finds its share", () => {
    const slots = new SourceSlots({ total: 100, perSource: 4 });
    const taken = [];
    for (let i = 0; i < 100; i++) {
      const release = slots.take("192.0.2.1");
      if (typeof release === "string") break;
      taken.push(release);
    }
    expect(taken).toHaveLength(50);
    expect(slots.take("192.0.2.1")).toMatch(/holds 50/);
    for (let i = 0; i < 4; i++) expect(slots.take("198.51.100.7")).toBeFunction();
    expect(slots.take("198.51.100.7")).toBeString();
    // One given back: under half again, the first source may borrow it back.
    taken.pop()!();
    taken[0]!();
    taken[0]!(); // a second call does nothing
    expect(slots.size).toBe(52);
    expect(slots.take("192.0.2.1")).toBeString();
  });

  it("an IPv6 /64 is one source, and the total is never passed", () => {
    const slots = new SourceSlots({ total: 4, perSource: 1 });
    expect(slots.take("2001:db8:1:2::1")).toBeFunction();
    expect(slots.take("2001:db8:1:2::ffff")).toBeFunction(); // borrowed: under half were taken
    expect(slots.take("2001:db8:1:2:abcd::9")).toBeString();
    expect(slots.take("2001:db8:1:3::1")).toBeFunction();
    expect(slots.take("192.0.2.9")).toBeFunction();
    expect(slots.take("192.0.2.10")).toMatch(/all 4 slots/);
  });
});
