import { describe, expect, it } from "bun:test";
import { decodeFrame, encodeFrame, FrameError } from "../../../src/sync/codec.ts";
import type { Frame } from "../../../src/sync/frames.ts";

const A = "0123456789abcdef0123456789abcdef";
const B = "fedcba9876543210fedcba9876543210";
/** Room ids, as frames carry rooms (22 characters of base64url). */
const R = "r".repeat(22);
const S = "s-T_".repeat(5) + "xy";
const message = { sig: "s".repeat(86), key: "k".repeat(43), origin: A, room: R, seq: 1, peer_id: "ann", text: "hi\nthere", sent_at: 1 };

const valid: Frame[] = [
  { type: "hello", name: "Ann's laptop", proofs: [R, S], addresses: { http: "http://10.0.0.1:8080", ws: "ws://10.0.0.1:9000" } },
  { type: "vector", rooms: { [R]: { [A]: 3, [B]: 0 } } },
  { type: "vector", rooms: { [R]: { [A]: 3, [B]: 0 } }, digests: { [R]: { [A]: "d".repeat(43) } } },
  { type: "messages", messages: [message, { ...message, seq: 2, text: "é".repeat(8192) }] },
  { type: "peers", peers: [{ node_id: B, name: "B", rooms: [R], addresses: {} }] },
];

/** Builds raw bytes with a given type code and JSON text, bypassing the encoder's checks. */
function raw(code: number, json: string, declared?: number): Uint8Array {
  const body = new TextEncoder().encode(json);
  const out = new Uint8Array(5 + body.length);
  const view = new DataView(out.buffer);
  view.setUint8(0, code);
  view.setUint32(1, declared ?? body.length);
  out.set(body, 5);
  return out;
}

describe("sync frame codec", () => {
  for (const frame of valid) {
    it(`round-trips a ${frame.type} frame`, () => {
      expect(decodeFrame(encodeFrame(frame)).frame).toEqual(frame);
    });
  }

  it("carries a binary tail as raw bytes", () => {
    const tail = new Uint8Array(1000).map((_, i) => i % 256);
    const bytes = encodeFrame(valid[0]!, tail);
    const { binary } = decodeFrame(bytes);
    expect(binary).toEqual(tail);
    expect(bytes.byteLength).toBeLessThan(1000 + 200);
  });

  const invalid: [string, Uint8Array][] = [
    ["an empty buffer", new Uint8Array(0)],
    ["a truncated header", Uint8Array.of(1, 0, 0)],
    ["an unknown type code", raw(99, "{}")],
    ["a length past the end", raw(1, "{}", 50)],
    ["a huge declared length", raw(1, "{}", 0xffffffff)],
    ["bad JSON", raw(3, "{nope")],
    ["bad UTF-8", (() => { const b = raw(3, "{\"a\":\"xx\"}"); b[10] = 0xff; return b; })()],
    ["a type that disagrees with its code", raw(1, JSON.stringify(valid[1]))],
    ["a bad node id", raw(1, JSON.stringify({ ...valid[0], node_id: "NOT-HEX" }))],
    ["a room with a space", raw(3, JSON.stringify({ type: "messages", messages: [{ ...message, room: "a b" }] }))],
    ["a room by name, not id", raw(3, JSON.stringify({ type: "messages", messages: [{ ...message, room: "family" }] }))],
    // Addresses are origins: a path (or a user, or a query) would let a peer choose what this instance requests.
    ...["http://10.0.0.1:8080/mesh/evil", "http://user@10.0.0.1:8080", "http://10.0.0.1:8080?x=1", "file:///etc/passwd"].map(
      (http) => [`an advertised address ${http}`, raw(1, JSON.stringify({ type: "hello", name: "x", proofs: [], addresses: { http } }))] as [string, Uint8Array],
    ),
    ["a sequence of 0", raw(3, JSON.stringify({ type: "messages", messages: [{ ...message, seq: 0 }] }))],
    ["a fractional sequence", raw(3, JSON.stringify({ type: "messages", messages: [{ ...message, seq: 1.5 }] }))],
    ["an empty text", raw(3, JSON.stringify({ type: "messages", messages: [{ ...message, text: "" }] }))],
    ["a text over 16384 characters", raw(3, JSON.stringify({ type: "messages", messages: [{ ...message, text: "é".repeat(16385) }] }))],
    ["an extra property", raw(3, JSON.stringify({ type: "messages", messages: [{ ...message, evil: 1 }] }))],
    ["too many messages", raw(3, JSON.stringify({ type: "messages", messages: Array.from({ length: 501 }, (_, i) => ({ ...message, seq: i + 1 })) }))],
    ["a name with a control character", raw(4, JSON.stringify({ type: "peers", peers: [{ node_id: B, name: "a\u0001", rooms: [], addresses: {} }] }))],
    ["an address that is not a URL", raw(1, JSON.stringify({ ...valid[0], addresses: { http: "javascript:alert(1)" } }))],
    ["a negative vector entry", raw(2, JSON.stringify({ type: "vector", rooms: { [R]: { [A]: -1 } } }))],
    ["a digest that is not 43 characters of base64url", raw(2, JSON.stringify({ type: "vector", rooms: {}, digests: { [R]: { [A]: "d".repeat(44) } } }))],
    // 8.64e15 + 1 ms: past what a Date can hold (year 275760), and past the end of year 9999 that members accept.
    ["a date no calendar holds", raw(3, JSON.stringify({ type: "messages", messages: [{ ...message, sent_at: 8.64e15 + 1 }] }))],
    ["a date past year 9999", raw(3, JSON.stringify({ type: "messages", messages: [{ ...message, sent_at: Date.UTC(10000, 0, 1) }] }))],
    ["a date before 1970", raw(3, JSON.stringify({ type: "messages", messages: [{ ...message, sent_at: -1 }] }))],
  ];
  for (const [what, bytes] of invalid) {
    it(`refuses ${what}`, () => {
      expect(() => decodeFrame(bytes)).toThrow(FrameError);
    });
  }
});
