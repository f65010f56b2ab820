import type { RtcChannel, RtcPeer } from "./library.ts";
import { BaseLink } from "../base-link.ts";
import { wholeFrame, type FrameData } from "../link.ts";
import { LinkClosedError, messageOf } from "../errors.ts";
import { MAX_FRAME_BYTES, MAX_REASON_CHARS } from "../limits.ts";

/** SCTP messages are capped (libdatachannel announces 256 KiB), so frames travel as chunks of at most this size. */
const CHUNK_BYTES = 64 * 1024;
// The first byte of every RtcChannel message: more chunks of this frame follow, last chunk, or close with a reason.
const CHUNK_MORE = 0;
const CHUNK_LAST = 1;
const CHUNK_CLOSE = 2;

/** A link over one ordered, reliable RtcChannel; it owns its RtcPeer and closes it with the link. */
export class WebRtcLink extends BaseLink {
  #parts: Uint8Array[] = [];
  #partBytes = 0;
  readonly #chunkBytes: number;

  constructor(
    readonly tier: "webrtc" | "turn",
    readonly remote: string,
    private readonly pc: RtcPeer,
    private readonly channel: RtcChannel,
    maxQueuedBytes?: number,
  ) {
    super(maxQueuedBytes);
    this.#chunkBytes = Math.min(CHUNK_BYTES, channel.maxMessageSize()) - 1;
    pc.onLocalCandidate(() => {});
    pc.onDataChannel((extra) => extra.close());
    pc.onStateChange((state) => {
      if (state === "disconnected" || state === "failed" || state === "closed") this.ended(`connection ${state}`);
    });
    channel.onMessage((message) => this.#receive(message));
    channel.onClosed(() => void this.ended("closed by peer"));
    channel.onError((error) => void this.ended(`RtcChannel error: ${error}`));
  }

  /** The ICE candidate pair in use (its `local.type` is `relay` when a TURN server carries the traffic). */
  selectedCandidatePair() {
    return this.pc.getSelectedCandidatePair();
  }

  get bufferedBytes(): number {
    return this.closed ? 0 : this.channel.bufferedAmount();
  }

  send(data: FrameData): void {
    this.checkSend(data);
    const frame = wholeFrame(data);
    this.checkQueue(this.channel.bufferedAmount() + frame.byteLength);
    try {
      for (let start = 0; ; start += this.#chunkBytes) {
        const end = Math.min(start + this.#chunkBytes, frame.byteLength);
        const chunk = new Uint8Array(1 + end - start);
        chunk[0] = end === frame.byteLength ? CHUNK_LAST : CHUNK_MORE;
        chunk.set(frame.subarray(start, end), 1);
        // false only means "queued behind earlier messages"; checkQueue above bounds that queue.
        this.channel.sendMessageBinary(chunk);
        if (end === frame.byteLength) return;
      }
    } catch (error) {
      const reason = `send failed: ${messageOf(error)}`;
      this.ended(reason);
      throw new LinkClosedError(reason);
    }
  }

  close(reason = "closed"): void {
    if (this.closed) return;
    try {
      const text = new TextEncoder().encode(reason.slice(0, MAX_REASON_CHARS));
      const chunk = new Uint8Array(1 + text.length);
      chunk[0] = CHUNK_CLOSE;
      chunk.set(text, 1);
      this.channel.sendMessageBinary(chunk);
    } catch {
      // The channel is already gone: the far end learns of it from the connection instead.
    }
    this.ended(reason);
  }

  #receive(message: string | Buffer | ArrayBuffer | Uint8Array): void {
    if (this.closed) return;
    if (typeof message === "string") return this.close("protocol error: text message");
    const bytes = message instanceof ArrayBuffer ? new Uint8Array(message) : message;
    const kind = bytes[0];
    if (kind === CHUNK_CLOSE) return void this.ended(`closed by peer: ${new TextDecoder().decode(bytes.subarray(1))}`);
    if (kind !== CHUNK_MORE && kind !== CHUNK_LAST) return this.close(`protocol error: chunk kind ${kind}`);
    this.#partBytes += bytes.length - 1;
    if (this.#partBytes > MAX_FRAME_BYTES) return this.close(`peer sent a frame over ${MAX_FRAME_BYTES} bytes`);
    this.#parts.push(bytes.subarray(1));
    if (kind === CHUNK_MORE) return;
    const frame = new Uint8Array(this.#partBytes);
    let offset = 0;
    for (const part of this.#parts) {
      frame.set(part, offset);
      offset += part.length;
    }
    this.#parts = [];
    this.#partBytes = 0;
    this.deliver(frame);
  }

  protected override release(): void {
    this.#parts = [];
    this.channel.close();
    this.pc.close();
  }
}
