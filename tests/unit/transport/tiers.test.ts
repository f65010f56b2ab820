import { expect, it } from "bun:test";
import { TIER_PRIORITY, TIERS } from "../../../src/domain/tiers.ts";
import { parseArgs } from "../../../src/config.ts";

it("orders the five direct tiers by priority, best first, and the relayed one last", () => {
  expect(TIERS).toEqual(["webrtc", "turn", "websocket", "http", "lan", "relay"]);
  expect(TIERS.map((t) => TIER_PRIORITY[t])).toEqual([100, 80, 60, 40, 20, 10]);
});

it("the --transports flag knows exactly the transport tiers", () => {
  const parsed = parseArgs([]);
  expect(parsed.kind === "run" && parsed.config.transports).toEqual([...TIERS]);
});
