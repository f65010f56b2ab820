import { LIMITS, type WireMessage } from "./frames.ts";

/** Text bytes per messages frame, well under the codec's 4 MiB header limit whatever the texts are. */
const FRAME_TEXT_BYTES = 1024 * 1024;

/** The messages of one messages frame being filled: at most LIMITS.messagesPerFrame, and FRAME_TEXT_BYTES of text. */
export class Batch {
  messages: WireMessage[] = [];
  /** The frame's size so far, at most (see wireSize). */
  bytes = 0;

  /** Whether `m` would overfill the frame: it goes in the next one. */
  full(m: WireMessage): boolean {
    return this.messages.length === LIMITS.messagesPerFrame || (this.messages.length > 0 && this.bytes + wireSize(m) > FRAME_TEXT_BYTES);
  }

  add(m: WireMessage): void {
    this.messages.push(m);
    this.bytes += wireSize(m);
  }

  clear(): void {
    this.messages = [];
    this.bytes = 0;
  }
}

/** Messages in as many frames as their count and size need. */
export function inFrames(messages: readonly WireMessage[]): WireMessage[][] {
  const frames: WireMessage[][] = [];
  const batch = new Batch();
  for (const m of messages) {
    if (batch.full(m)) {
      frames.push(batch.messages);
      batch.clear();
    }
    batch.add(m);
  }
  if (batch.messages.length > 0) frames.push(batch.messages);
  return frames;
}

/** A message's size in a frame, at most: its text at 3 bytes a character, its files, and the rest (names, keys, signatures, its person). */
function wireSize(m: WireMessage): number {
  return m.text.length * 3 + (m.files ? JSON.stringify(m.files).length : 0) + 512;
}
