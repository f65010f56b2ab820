/** The window of chunk requests per member: as large as the link carries without chunks queueing in it. */
import { expect, it } from "bun:test";
import { ChunkWindow, MAX_WINDOW, MIN_WINDOW, QUEUE_TARGET_MS } from "../../../../src/sync/files/chunk-window.ts";

it("grows while chunks come in their path's own time, up to the most", () => {
  const w = new ChunkWindow(0);
  const start = w.size;
  for (let i = 0; i < 20; i++) w.arrived(5, i);
  expect(w.size).toBeGreaterThan(start);
  for (let i = 0; i < 2000; i++) w.arrived(5, i);
  expect(w.size).toBe(MAX_WINDOW);
});

it("starts by doubling each window's worth of chunks that come without queueing, until chunks first queue", () => {
  const w = new ChunkWindow(0);
  const start = w.size;
  for (let i = 0; i < start; i++) w.arrived(5, i);
  expect(w.size).toBe(2 * start);
  // Queueing of half the target ends the fast start: from then on it grows by about one per window's worth.
  w.arrived(5 + QUEUE_TARGET_MS / 2, start);
  const after = w.size;
  for (let i = 0; i < after; i++) w.arrived(5, start + 1 + i);
  expect(w.size).toBeLessThanOrEqual(after + 1);
});

it("shrinks when chunks queue past the target, down to the least, and grows again when the queue is gone", () => {
  const w = new ChunkWindow(0);
  for (let i = 0; i < 2000; i++) w.arrived(5, i);
  for (let i = 0; i < 200; i++) w.arrived(5 + 4 * QUEUE_TARGET_MS, 2000 + i);
  expect(w.size).toBe(MIN_WINDOW);
  for (let i = 0; i < 100; i++) w.arrived(5, 2200 + i);
  expect(w.size).toBeGreaterThan(MIN_WINDOW);
});

it("settles where the queueing is about the target", () => {
  // A member 0.5 ms away that serves one chunk per 2 ms, in order: with n in flight a chunk waits behind the others.
  const w = new ChunkWindow(0);
  const asked: number[] = [];
  let now = 0;
  let free = 0;
  const queueings: number[] = [];
  for (let i = 0; i < 3000; i++) {
    while (asked.length < w.size) asked.push(now);
    const at = asked.shift()!;
    free = Math.max(free, at + 0.5) + 2;
    now = free + 0.5;
    w.arrived(now - at, now);
    if (i > 2000) queueings.push(now - at - 2.5);
  }
  const mean = queueings.reduce((a, b) => a + b, 0) / queueings.length;
  expect(mean).toBeGreaterThanOrEqual(QUEUE_TARGET_MS - 4);
  expect(mean).toBeLessThanOrEqual(QUEUE_TARGET_MS + 4);
});

it("halves when a request goes unanswered, never below the least", () => {
  const w = new ChunkWindow(0);
  for (let i = 0; i < 2000; i++) w.arrived(5, i);
  w.lost();
  expect(w.size).toBe(MAX_WINDOW / 2);
  for (let i = 0; i < 10; i++) w.lost();
  expect(w.size).toBe(MIN_WINDOW);
});

it("learns a path's round trip again after a while: a slower path is not taken for a queue forever", () => {
  const w = new ChunkWindow(0);
  for (let i = 0; i < 100; i++) w.arrived(1, i);
  // The path now takes 30 ms however little is in flight: after two periods that is its own time, not queueing.
  for (let t = 100; t < 25_000; t += 10) w.arrived(30, t);
  for (let t = 25_000; t < 45_000; t += 10) w.arrived(30, t);
  expect(w.size).toBe(MAX_WINDOW);
});
