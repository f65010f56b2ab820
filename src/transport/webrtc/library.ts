import type { RtcConfig } from "node-datachannel";
import { DialError, messageOf } from "../errors.ts";

/** What the WebRTC tiers use of a node-datachannel DataChannel (one in this process, or one in the helper's). */
export interface RtcChannel {
  onOpen(cb: () => void): void;
  onMessage(cb: (message: string | Buffer | ArrayBuffer | Uint8Array) => void): void;
  onClosed(cb: () => void): void;
  onError(cb: (error: string) => void): void;
  sendMessageBinary(data: Uint8Array): boolean;
  bufferedAmount(): number;
  maxMessageSize(): number;
  isOpen(): boolean;
  close(): void;
}

/** What the WebRTC tiers use of a node-datachannel PeerConnection. */
export interface RtcPeer {
  createDataChannel(label: string): RtcChannel;
  onLocalDescription(cb: (sdp: string, type: string) => void): void;
  onLocalCandidate(cb: (candidate: string, mid: string) => void): void;
  onGatheringStateChange(cb: (state: string) => void): void;
  onStateChange(cb: (state: string) => void): void;
  onDataChannel(cb: (channel: RtcChannel) => void): void;
  setRemoteDescription(sdp: string, type: "offer" | "answer"): void;
  addRemoteCandidate(candidate: string, mid: string): void;
  localDescription(): { sdp: string } | null;
  getSelectedCandidatePair(): { local: { type: string }; remote: { type: string } } | null;
  close(): void;
}

/** What the WebRTC tiers use of node-datachannel. */
export interface WebRtcLibrary {
  PeerConnection: new (name: string, config: RtcConfig) => RtcPeer;
}

/** node-datachannel itself; importing it loads its native addon (in the compiled binary, see addon-cache.ts). */
export async function importNodeDataChannel() {
  return (await import("node-datachannel")).default;
}

/**
 * Loads the WebRTC library once, on first need, never at start: `--help`, `--version` and the other tiers work
 * without it. A failure is remembered, reported once, and turns the WebRTC tiers off.
 */
export class WebRtcLibraryLoader {
  #loading: Promise<WebRtcLibrary> | undefined;
  #failure: string | undefined;

  constructor(
    private readonly importLibrary: () => Promise<WebRtcLibrary> = importNodeDataChannel,
    private readonly onFailure: (reason: string) => void = () => {},
  ) {}

  /** Why the library could not be loaded, once a load has failed. */
  get failure(): string | undefined {
    return this.#failure;
  }

  load(): Promise<WebRtcLibrary> {
    this.#loading ??= this.importLibrary().catch((error: unknown) => {
      this.#failure = messageOf(error).split("\n")[0];
      this.onFailure(this.#failure);
      // The reason was said once, by onFailure.
      throw new DialError("WebRTC is off: its native addon could not be loaded");
    });
    return this.#loading;
  }
}
