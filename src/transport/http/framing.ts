/** The body format of the tier, and the headers a poll response carries beside it. */

/** Header of a poll response: the number of the last frame in it. */
export const SEQ_HEADER = "x-mesh-seq";
/** Header of a poll response from a listener that closed the link: the reason, URI-encoded. */
export const CLOSE_HEADER = "x-mesh-close";

/** Frames as one body: each a u32 big-endian length, then its bytes. */
export function encodeFrames(frames: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(frames.reduce((sum, f) => sum + 4 + f.byteLength, 0));
  const view = new DataView(out.buffer);
  let at = 0;
  for (const frame of frames) {
    view.setUint32(at, frame.byteLength);
    out.set(frame, at + 4);
    at += 4 + frame.byteLength;
  }
  return out;
}

/** Splits a body made by `encodeFrames`; throws on a truncated body or a frame over `maxFrameBytes`. */
export function decodeFrames(body: Uint8Array, maxFrameBytes: number): Uint8Array[] {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const frames: Uint8Array[] = [];
  let at = 0;
  while (at < body.byteLength) {
    if (at + 4 > body.byteLength) throw new Error(`the body ends inside a frame length at byte ${at}`);
    const length = view.getUint32(at);
    if (length > maxFrameBytes) throw new Error(`a frame of ${length} bytes is over the ${maxFrameBytes}-byte limit`);
    if (at + 4 + length > body.byteLength) throw new Error(`the body ends inside a frame of ${length} bytes at byte ${at}`);
    frames.push(body.slice(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return frames;
}

/** The largest body either side sends or takes: one largest frame and its length. */
export function maxBodyBytes(maxFrameBytes: number): number {
  return maxFrameBytes + 4;
}
