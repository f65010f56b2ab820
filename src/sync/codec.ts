import { TypeCompiler } from "@sinclair/typebox/compiler";
import { wholeFrame } from "../transport/link.ts";
import { Frame } from "./frames.ts";

/** A frame that is not well-formed or breaks a limit; the link it came on is closed with this reason. */
export class FrameError extends Error {
  override name = "FrameError";
}

/**
 * Wire layout of a sync frame: [u8 type][u32 big-endian JSON length][JSON][binary payload].
 * The binary tail lets file chunks travel as raw bytes next to a small JSON header, not as base64.
 */
export const TYPE_CODES = { hello: 1, vector: 2, messages: 3, peers: 4, want: 5, manifest: 6, chunk: 7, lack: 8, have: 9, "box-push": 10, "box-pushed": 11, "box-get": 12, "box-items": 13, mailboxes: 14 } as const satisfies Record<Frame["type"], number>;
const TYPE_NAMES = Object.fromEntries(Object.entries(TYPE_CODES).map(([name, code]) => [code, name])) as Record<number, Frame["type"]>;
const HEADER_BYTES = 5;
export const MAX_JSON_BYTES = 4 * 1024 * 1024;

const check = TypeCompiler.Compile(Frame);
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

export function encodeFrame(frame: Frame, binary: Uint8Array = new Uint8Array(0)): Uint8Array {
  return wholeFrame(encodeFrameParts(frame, binary));
}

/** A frame as its header (type, length, JSON) and its binary tail: a link takes the two as they are (a chunk is not copied to join them). */
export function encodeFrameParts(frame: Frame, binary: Uint8Array): [Uint8Array, Uint8Array] {
  const json = encoder.encode(JSON.stringify(frame));
  const head = new Uint8Array(HEADER_BYTES + json.byteLength);
  const view = new DataView(head.buffer);
  view.setUint8(0, TYPE_CODES[frame.type]);
  view.setUint32(1, json.byteLength);
  head.set(json, HEADER_BYTES);
  return [head, binary];
}

/** Decodes and validates one frame; throws FrameError naming what is wrong. */
export function decodeFrame(bytes: Uint8Array): { frame: Frame; binary: Uint8Array } {
  if (bytes.byteLength < HEADER_BYTES) throw new FrameError(`frame of ${bytes.byteLength} bytes is too short`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = TYPE_NAMES[view.getUint8(0)];
  if (!type) throw new FrameError(`unknown frame type ${view.getUint8(0)}`);
  const length = view.getUint32(1);
  if (length > MAX_JSON_BYTES) throw new FrameError(`frame header of ${length} bytes is over the limit`);
  if (HEADER_BYTES + length > bytes.byteLength) throw new FrameError("frame is shorter than its header says");
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes.subarray(HEADER_BYTES, HEADER_BYTES + length)));
  } catch {
    throw new FrameError(`${type} frame is not valid UTF-8 JSON`);
  }
  if (!check.Check(value)) {
    const first = check.Errors(value).First();
    throw new FrameError(`invalid ${type} frame: ${first ? `${first.path || "/"} ${first.message}` : "bad shape"}`);
  }
  const frame = value as Frame;
  if (frame.type !== type) throw new FrameError(`frame says ${frame.type} but is coded as ${type}`);
  if (frame.type === "messages") {
    for (const m of frame.messages) {
      if (m.text === "" && !m.files) throw new FrameError("a message has neither text nor files");
    }
  }
  const binary = bytes.subarray(HEADER_BYTES + length);
  if (frame.type === "box-push" || frame.type === "box-items") {
    const said = frame.items.reduce((sum, item) => sum + item.bytes, 0);
    if (said !== binary.byteLength) throw new FrameError(`${frame.type} frame says ${said} bytes of items and carries ${binary.byteLength}`);
  }
  return { frame, binary };
}
