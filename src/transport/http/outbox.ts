import { maxBodyBytes } from "./framing.ts";

/** Frames waiting for the far end, oldest first, and their size (what the queue limit counts). */
export class Outbox {
  readonly #frames: Uint8Array[] = [];
  #bytes = 0;

  /** Bytes of all the frames waiting. */
  get bytes(): number {
    return this.#bytes;
  }

  get length(): number {
    return this.#frames.length;
  }

  /** Queues a copy of `frame`, so the sender may reuse its buffer. */
  push(frame: Uint8Array): void {
    this.#frames.push(frame.slice());
    this.#bytes += frame.byteLength;
  }

  /** Drops the oldest `count` frames: the far end has them. */
  drop(count: number): void {
    this.#bytes -= this.#frames.splice(0, count).reduce((sum, f) => sum + f.byteLength, 0);
  }

  /** The oldest frames that go in one body: as many as fit in the largest body, and at least one. */
  nextBody(maxFrameBytes: number): Uint8Array[] {
    const frames: Uint8Array[] = [];
    let size = 0;
    for (const frame of this.#frames) {
      if (frames.length > 0 && size + 4 + frame.byteLength > maxBodyBytes(maxFrameBytes)) break;
      frames.push(frame);
      size += 4 + frame.byteLength;
    }
    return frames;
  }
}
