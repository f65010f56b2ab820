import { BaseLink } from "../base-link.ts";
import { MAX_FRAME_BYTES } from "../limits.ts";
import type { LanStats, OutgoingDatagram } from "./socket.ts";
import { copiedFrame, frameSize, type FrameData, type LinkKeys } from "../link.ts";
import { decodeReason, encodeReason, headerBytes, MAX_HEADER_BYTES, TAG_BYTES, tagHolds, type Datagram } from "./wire.ts";

/** Most datagrams in flight on one link, whatever their size (each costs ~2 KiB of a receiver's socket buffer). */
const MAX_IN_FLIGHT = 64;
const RETRANSMIT_MS = 200;
const MAX_RETRANSMIT_MS = 2000;

/** What a link needs from its transport. */
export interface LinkContext {
  localNodeId: string;
  transmit(datagram: OutgoingDatagram): void;
  forget(link: LanLink): void;
  /** Bytes of half-assembled frames held by all links, and the most they may hold. */
  reassembly: { used: number; limit: number };
  stats: LanStats;
  maxDatagramBytes: number;
  windowBytes: number;
  maxQueuedBytes: number;
}

interface InFlight {
  seq: number;
  bytes: number;
  datagram: OutgoingDatagram;
}

/**
 * One LAN link: a reliable, ordered stream of frames over broadcast datagrams.
 * Lost datagrams are resent (cumulative acks, sliding window), duplicates and reordering are absorbed;
 * a link that cannot deliver within linkTimeoutMs closes instead of losing frames silently.
 */
export class LanLink extends BaseLink {
  readonly tier = "lan" as const;
  // Sending: fragments waiting for the window, then datagrams sent and not yet acknowledged.
  #queue: { index: number; count: number; payload: Uint8Array; tagKey?: Uint8Array }[] = [];
  #queueHead = 0;
  #queuedBytes = 0;
  #inFlight: InFlight[] = [];
  #inFlightBytes = 0;
  #nextSeq = 0;
  #retransmitMs = RETRANSMIT_MS;
  #timer: ReturnType<typeof setTimeout> | undefined;
  lastSendProgress = Date.now();
  // Receiving: out-of-order datagrams held until the gap fills, then the fragments of the current frame.
  #expected = 0;
  #held = new Map<number, Datagram>();
  #heldBytes = 0;
  #parts: Uint8Array[] = [];
  #partBytes = 0;
  #partCount = 0;
  #ackScheduled = false;
  lastReceiveProgress = Date.now();
  // Authentication: once set, every datagram sent is tagged and every one received must be.
  #keys: LinkKeys | null = null;
  /** The next sequence expected when the keys came: untagged data below it are resends from before, only acked. */
  #keyedAt = 0;

  constructor(
    private readonly context: LinkContext,
    readonly peer: string,
    readonly session: number,
    readonly remote: string,
    readonly dialer: boolean,
  ) {
    super(context.maxQueuedBytes);
  }

  /** True when something is owed in either direction, so silence means trouble. */
  get waiting(): { sending: boolean; receiving: boolean } {
    return { sending: this.#inFlight.length > 0, receiving: this.#held.size > 0 || this.#parts.length > 0 };
  }

  get bufferedBytes(): number {
    return this.#queuedBytes;
  }

  send(frame: FrameData): void {
    this.checkSend(frame);
    this.checkQueue(this.#queuedBytes + frameSize(frame));
    const copy = copiedFrame(frame);
    const chunk = this.context.maxDatagramBytes - headerBytes(this.context.localNodeId, this.peer) - TAG_BYTES;
    const count = Math.max(1, Math.ceil(copy.byteLength / chunk));
    // Tagged or not as the link is now: a handshake frame waiting for the window must not go out tagged.
    const tag = this.#tagged();
    for (let index = 0; index < count; index++) {
      this.#queue.push({ index, count, payload: copy.subarray(index * chunk, (index + 1) * chunk), ...tag });
    }
    this.#queuedBytes += copy.byteLength;
    this.#pump();
  }

  /**
   * From now on, tags every datagram with `keys.send` and takes only those tagged with `keys.receive` (see wire.ts).
   * Frames sent before, queued or in flight, go (and are resent) untagged, so the two ends may switch at different
   * moments; the far end's untagged acks then still free them, and only them.
   */
  override authenticate(keys: LinkKeys): void {
    if (this.#keys || this.closed) return;
    super.authenticate(keys);
    this.#keys = keys;
    this.#keyedAt = this.#expected;
    // Called once the handshake's last frame is delivered: anything held past it came untagged from a bystander.
    this.#held.clear();
    this.#heldBytes = 0;
  }

  /** A datagram of this link's session from the peer: checked against the keys, if any, then acted on. */
  incoming(d: Datagram): void {
    if (!this.#keys) {
      // Tagged before we have the keys: the far end switched first, and resends it until we have them too.
      if (d.tag) return;
    } else if (!d.tag || !tagHolds(this.#keys.receive, d.tag)) {
      this.context.stats.unauthenticated++;
      // The far end switches after us: a resend of its data from before needs our ack, and its untagged acks may
      // still free what we sent untagged (the handshake), or each side would resend forever.
      if (!d.tag && d.type === "data" && d.seq < this.#keyedAt) this.#scheduleAck();
      if (!d.tag && d.type === "ack") this.acknowledge(d.seq, true);
      return;
    }
    switch (d.type) {
      case "data":
        return this.receive(d);
      case "ack":
        return this.acknowledge(d.seq);
      case "fin":
        return this.end(`closed by peer: ${decodeReason(d.payload)}`);
      case "reset":
        return this.end("reset by peer");
    }
  }

  close(reason = "closed"): void {
    if (this.closed) return;
    const fin = { type: "fin", to: this.peer, session: this.session, seq: 0, index: 0, count: 0, payload: encodeReason(reason), ...this.#tagged() } as const;
    // Sent twice: a lost FIN would leave the far end open until its own timeouts notice.
    this.context.transmit(fin);
    this.context.transmit(fin);
    this.ended(reason);
  }

  /** Closes this side only, without telling the peer (it told us, or is gone). */
  end(reason: string): void {
    this.ended(reason);
  }

  protected override release(): void {
    clearTimeout(this.#timer);
    this.context.reassembly.used -= this.#partBytes;
    this.#parts = [];
    this.#held.clear();
    this.#queue = [];
    this.#inFlight = [];
    this.context.forget(this);
  }

  /** Handles a data datagram from the peer: hold it, deliver what is now in order, and acknowledge. */
  private receive(d: Datagram): void {
    this.#scheduleAck();
    const ahead = d.seq - this.#expected;
    if (ahead < 0 || this.#held.has(d.seq)) return;
    if (ahead >= 2 * MAX_IN_FLIGHT || this.#heldBytes + d.payload.byteLength > 2 * this.context.windowBytes) return;
    this.#held.set(d.seq, d);
    this.#heldBytes += d.payload.byteLength;
    for (let next = this.#held.get(this.#expected); next && !this.closed; next = this.#held.get(this.#expected)) {
      this.#held.delete(this.#expected);
      this.#heldBytes -= next.payload.byteLength;
      this.#expected++;
      this.lastReceiveProgress = Date.now();
      this.#assemble(next);
    }
  }

  /** Handles the peer's cumulative ack: everything below `next` arrived (only what went out untagged, for an untagged ack). */
  private acknowledge(next: number, untaggedOnly = false): void {
    if (next > this.#nextSeq) return;
    let acked = 0;
    const covered = (sent: InFlight) => sent.seq < next && !(untaggedOnly && sent.datagram.tagKey);
    while (acked < this.#inFlight.length && covered(this.#inFlight[acked]!)) this.#inFlightBytes -= this.#inFlight[acked++]!.bytes;
    if (acked === 0) return;
    this.#inFlight.splice(0, acked);
    this.lastSendProgress = Date.now();
    this.#retransmitMs = RETRANSMIT_MS;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pump();
  }

  #assemble(d: Datagram): void {
    if (this.#parts.length === 0) this.#partCount = d.count;
    if (d.index !== this.#parts.length || d.count !== this.#partCount) return this.close("fragments out of sequence");
    const reassembly = this.context.reassembly;
    if (d.count > 1) {
      if (this.#partBytes + d.payload.byteLength > MAX_FRAME_BYTES) return this.close(`a frame over the ${MAX_FRAME_BYTES}-byte limit arrived`);
      if (reassembly.used + d.payload.byteLength > reassembly.limit) return this.close("reassembly budget exhausted");
      reassembly.used += d.payload.byteLength;
      this.#partBytes += d.payload.byteLength;
    }
    this.#parts.push(d.payload);
    if (d.index + 1 < d.count) return;
    const frame = new Uint8Array(this.#parts.reduce((sum, part) => sum + part.byteLength, 0));
    let at = 0;
    for (const part of this.#parts) {
      frame.set(part, at);
      at += part.byteLength;
    }
    reassembly.used -= this.#partBytes;
    this.#parts = [];
    this.#partBytes = 0;
    this.deliver(frame);
  }

  #tagged(): { tagKey?: Uint8Array } {
    return this.#keys ? { tagKey: this.#keys.send } : {};
  }

  #scheduleAck(): void {
    if (this.#ackScheduled) return;
    this.#ackScheduled = true;
    // One ack per batch of datagrams read in this turn of the event loop.
    setImmediate(() => {
      this.#ackScheduled = false;
      if (this.closed) return;
      this.context.transmit({ type: "ack", to: this.peer, session: this.session, seq: this.#expected, index: 0, count: 0, payload: new Uint8Array(0), ...this.#tagged() });
    });
  }

  #pump(): void {
    while (this.#queueHead < this.#queue.length && this.#inFlight.length < MAX_IN_FLIGHT) {
      const next = this.#queue[this.#queueHead]!;
      const bytes = next.payload.byteLength + MAX_HEADER_BYTES;
      if (this.#inFlight.length > 0 && this.#inFlightBytes + bytes > this.context.windowBytes) break;
      if (this.#nextSeq === 0xffff_ffff) return this.close("sequence numbers exhausted");
      this.#queueHead++;
      this.#queuedBytes -= next.payload.byteLength;
      // A resend goes out exactly as the first send did, tagged or not.
      const datagram = { type: "data", to: this.peer, session: this.session, seq: this.#nextSeq++, ...next } as const;
      if (this.#inFlight.length === 0) this.lastSendProgress = Date.now();
      this.#inFlight.push({ seq: datagram.seq, bytes, datagram });
      this.#inFlightBytes += bytes;
      this.context.transmit(datagram);
    }
    if (this.#queueHead === this.#queue.length) {
      this.#queue = [];
      this.#queueHead = 0;
    } else if (this.#queueHead > 1024) {
      this.#queue = this.#queue.slice(this.#queueHead);
      this.#queueHead = 0;
    }
    if (this.#inFlight.length > 0 && !this.#timer) this.#arm();
  }

  #arm(): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.closed || this.#inFlight.length === 0) return;
      // Everything unacknowledged goes again; the receiver drops what it already has.
      for (const { datagram } of this.#inFlight) this.context.transmit(datagram);
      this.context.stats.retransmitted += this.#inFlight.length;
      this.#retransmitMs = Math.min(this.#retransmitMs * 2, MAX_RETRANSMIT_MS);
      this.#arm();
    }, this.#retransmitMs);
    this.#timer.unref();
  }
}
