import { BaseLink } from "../base-link.ts";
import type { FrameData, Link, Tier } from "../link.ts";
import { MAX_FRAME_BYTES } from "../limits.ts";
import { TAG_BYTES, type FrameCipher } from "./frame-cipher.ts";

/** Largest frame a secure link carries: its ciphertext (frame and tag) must fit the tier's own limit. */
export const MAX_SECURE_FRAME_BYTES = MAX_FRAME_BYTES - TAG_BYTES;

/**
 * A link whose frames are sealed with the keys of its handshake (channel.ts): the tier underneath carries only
 * ciphertext. A frame that fails to open (altered, replayed, dropped, reordered, or not ours) closes the link.
 */
export class SecureLink extends BaseLink {
  readonly tier: Tier;
  readonly remote: string;
  readonly remoteIp?: string;

  constructor(
    private readonly raw: Link,
    private readonly tx: FrameCipher,
    private readonly rx: FrameCipher,
  ) {
    super(raw instanceof BaseLink ? raw.maxQueuedBytes : undefined);
    this.tier = raw.tier;
    this.remote = raw.remote;
    this.remoteIp = raw.remoteIp;
    raw.onFrame((ciphertext) => {
      let frame: Uint8Array;
      try {
        frame = this.rx.open(ciphertext);
      } catch {
        return this.close("a frame failed authentication");
      }
      this.deliver(frame);
    });
    raw.onClose((reason) => this.ended(reason));
  }

  get bufferedBytes(): number {
    return this.raw.bufferedBytes;
  }

  /** Seals a frame given in parts without joining them first: the cipher takes them in turn. */
  send(frame: FrameData): void {
    this.checkSend(frame, MAX_SECURE_FRAME_BYTES, " of a secure link");
    this.raw.send(this.tx.seal(frame));
  }

  close(reason = "closed"): void {
    this.raw.close(reason);
    this.ended(reason);
  }
}
