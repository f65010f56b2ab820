import { expect, it } from "bun:test";
import { TIER_PRIORITY, TIERS_BY_PRIORITY } from "../../src/transport/types.ts";
import { TIER_NAMES } from "../../src/config.ts";

it("orders the five tiers by priority, best first", () => {
  expect(TIERS_BY_PRIORITY).toEqual(["webrtc", "turn", "websocket", "http", "lan"]);
  expect(TIERS_BY_PRIORITY.map((t) => TIER_PRIORITY[t])).toEqual([100, 80, 60, 40, 20]);
});

it("the --transports flag knows exactly the transport tiers", () => {
  expect([...TIER_NAMES].sort() as string[]).toEqual(Object.keys(TIER_PRIORITY).sort());
});
