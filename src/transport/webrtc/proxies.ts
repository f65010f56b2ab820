/**
 * The WebRTC library's PeerConnection and DataChannel (library.ts `RtcPeer`, `RtcChannel`) as proxies of those the
 * helper process holds (helper-process.ts): each call is posted to it, and what it reports is fed back by the helper
 * client (helper-client.ts).
 */
import type { RtcConfig } from "node-datachannel";
import type { CandidatePair, Op } from "./helper-protocol.ts";
import type { RtcChannel, RtcPeer } from "./library.ts";

/** What a proxy needs of the helper client. */
export interface ProxyHost {
  post(op: Op): void;
  /** A new DataChannel of `peer`, numbered. */
  channel(peer: PeerProxy): ChannelProxy;
  forgetChannel(dc: number): void;
  forgetPeer(pc: number): void;
}

type Handler<A extends unknown[]> = ((...args: A) => void) | null;

/** A DataChannel in the helper, as the WebRTC tiers use one. */
export class ChannelProxy implements RtcChannel {
  #open = false;
  #closed = false;
  #maxMessageSize = 65_536;
  /** Bytes sent that the helper has not said it handed to the DataChannel, and what it said the channel holds. */
  #unreported = 0;
  #amount = 0;
  onOpenHandler: Handler<[]> = null;
  onMessageHandler: Handler<[Uint8Array]> = null;
  onClosedHandler: Handler<[]> = null;
  onErrorHandler: Handler<[string]> = null;

  constructor(
    private readonly helper: ProxyHost,
    readonly dc: number,
  ) {}

  onOpen(cb: () => void): void {
    this.onOpenHandler = cb;
  }
  onMessage(cb: (message: Uint8Array) => void): void {
    this.onMessageHandler = cb;
  }
  onClosed(cb: () => void): void {
    this.onClosedHandler = cb;
  }
  onError(cb: (error: string) => void): void {
    this.onErrorHandler = cb;
  }
  sendMessageBinary(data: Uint8Array): boolean {
    if (this.#closed) throw new Error("DataChannel is closed");
    this.#unreported += data.byteLength;
    this.helper.post({ op: "send", dc: this.dc, data });
    return true;
  }
  bufferedAmount(): number {
    return this.#unreported + this.#amount;
  }
  maxMessageSize(): number {
    return this.#maxMessageSize;
  }
  isOpen(): boolean {
    return this.#open && !this.#closed;
  }
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.helper.post({ op: "close-channel", dc: this.dc });
    this.helper.forgetChannel(this.dc);
  }

  opened(maxMessageSize: number): void {
    this.#open = true;
    this.#maxMessageSize = maxMessageSize;
  }
  buffered(taken: number, amount: number): void {
    this.#unreported = Math.max(0, this.#unreported - taken);
    this.#amount = amount;
  }
  /** Closed by the far end, or its helper is gone. */
  ended(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.helper.forgetChannel(this.dc);
    this.onClosedHandler?.();
  }
}

/** A PeerConnection in the helper, as the WebRTC tiers use one. */
export class PeerProxy implements RtcPeer {
  #closed = false;
  #localSdp: string | null = null;
  #pair: CandidatePair = null;
  onDescription: Handler<[string, string]> = null;
  onCandidate: Handler<[string, string]> = null;
  onGathering: Handler<[string]> = null;
  onState: Handler<[string]> = null;
  onChannel: Handler<[RtcChannel]> = null;

  constructor(
    private readonly helper: ProxyHost,
    readonly pc: number,
    name: string,
    config: RtcConfig,
  ) {
    helper.post({ op: "pc", pc, name, config });
  }

  createDataChannel(label: string): RtcChannel {
    const channel = this.helper.channel(this);
    this.helper.post({ op: "channel", pc: this.pc, dc: channel.dc, label });
    return channel;
  }
  onLocalDescription(cb: (sdp: string, type: string) => void): void {
    this.onDescription = cb;
  }
  onLocalCandidate(cb: (candidate: string, mid: string) => void): void {
    this.onCandidate = cb;
  }
  onGatheringStateChange(cb: (state: string) => void): void {
    this.onGathering = cb;
  }
  onStateChange(cb: (state: string) => void): void {
    this.onState = cb;
  }
  onDataChannel(cb: (channel: RtcChannel) => void): void {
    this.onChannel = cb;
  }
  setRemoteDescription(sdp: string, type: "offer" | "answer"): void {
    this.helper.post({ op: "remote", pc: this.pc, sdp, type });
  }
  addRemoteCandidate(candidate: string, mid: string): void {
    this.helper.post({ op: "candidate", pc: this.pc, candidate, mid });
  }
  localDescription(): { sdp: string } | null {
    return this.#localSdp === null ? null : { sdp: this.#localSdp };
  }
  getSelectedCandidatePair(): CandidatePair {
    return this.#pair;
  }
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.helper.post({ op: "close", pc: this.pc });
    this.helper.forgetPeer(this.pc);
  }

  described(sdp: string | null): void {
    if (sdp !== null) this.#localSdp = sdp;
  }
  paired(pair: CandidatePair): void {
    if (pair) this.#pair = pair;
  }
  /** Its helper is gone: as if the connection closed. */
  ended(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.onState?.("closed");
  }
}
