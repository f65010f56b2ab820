import { expect, it } from "bun:test";
import { RateLimiter } from "../../../src/util/rate-limit.ts";

it("allows a burst, then the rate, per key", () => {
  let now = 0;
  const limiter = new RateLimiter({ perSecond: 2, burst: 3, now: () => now });
  expect([1, 2, 3, 4].map(() => limiter.take("a"))).toEqual([true, true, true, false]);
  expect(limiter.take("b")).toBe(true);
  now += 500;
  expect(limiter.take("a")).toBe(true);
  expect(limiter.take("a")).toBe(false);
  now += 10_000;
  expect([1, 2, 3, 4].map(() => limiter.take("a"))).toEqual([true, true, true, false]);
});

it("forgets the stalest keys beyond its limit", () => {
  const limiter = new RateLimiter({ perSecond: 1, burst: 1, maxKeys: 2, now: () => 0 });
  expect(limiter.take("a")).toBe(true);
  expect(limiter.take("b")).toBe(true);
  expect(limiter.take("c")).toBe(true);
  // "a" was dropped, so it starts over with a full bucket; "c" is still spent.
  expect(limiter.take("a")).toBe(true);
  expect(limiter.take("c")).toBe(false);
});
