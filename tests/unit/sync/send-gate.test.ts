import { describe, expect, it } from "bun:test";
import { SEND_LIMITS, SendGate } from "../../../src/sync/send-gate.ts";

const MiB = 1024 * 1024;

/** Links whose buffered bytes the test sets. */
function links(held: Record<string, number | null>) {
  return { buffered: (nodeId: string) => (nodeId in held ? held[nodeId]! : null) };
}

describe("what replication may queue toward peers", () => {
  it("pushes go while a peer's link holds up to pushBytes, and all links together up to pushTotalBytes", () => {
    const held: Record<string, number | null> = { a: 0, b: 3 * MiB };
    const gate = new SendGate(links(held), () => Object.keys(held));
    expect(gate.mayPush("a")).toBe(true);
    expect(gate.mayPush("b")).toBe(false);
    expect(gate.mayPush("gone")).toBe(false);
    for (let i = 0; i < 31; i++) held[`p${i}`] = 2 * MiB;
    expect(gate.total()).toBe(65 * MiB);
    expect(gate.mayPush("a")).toBe(false);
  });

  it("a catch-up waits while the peer's link holds catchUpBytes or more, and stops when the link goes", async () => {
    const held: Record<string, number | null> = { a: 2 * MiB };
    const gate = new SendGate(links(held), () => Object.keys(held));
    let went: boolean | undefined;
    void gate.room("a").then((ok) => (went = ok));
    await Bun.sleep(SEND_LIMITS.pollMs * 3);
    expect(went).toBeUndefined();
    held.a = MiB - 1;
    await Bun.sleep(SEND_LIMITS.pollMs * 3);
    expect(went).toBe(true);
    held.a = 2 * MiB;
    const gone = gate.room("a");
    held.a = null;
    expect(await gone).toBe(false);
  });

  it("a link that holds bytes and drains none of them for stuckMs has a reader that stopped; one that drains has not", () => {
    const held: Record<string, number | null> = { stopped: 3 * MiB, slow: 3 * MiB, idle: 0 };
    const gate = new SendGate(links(held), () => Object.keys(held));
    let now = 0;
    expect(gate.stuck(now)).toEqual([]);
    for (let s = 1; s <= 40; s++) {
      now = s * 1000;
      // The slow one drains a little, and is given more: it goes up and down.
      held.slow = s % 2 === 0 ? 3 * MiB : 2 * MiB;
      const stuck = gate.stuck(now);
      if (now < SEND_LIMITS.stuckMs) expect(stuck).toEqual([]);
      if (now === SEND_LIMITS.stuckMs) expect(stuck).toEqual(["stopped"]);
      expect(stuck).not.toContain("slow");
      expect(stuck).not.toContain("idle");
    }
  });
});
