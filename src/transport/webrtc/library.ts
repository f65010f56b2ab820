import type { PeerConnection, RtcConfig } from "node-datachannel";
import { DialError, messageOf } from "../errors.ts";

/** What the WebRTC tiers use of node-datachannel. */
export interface WebRtcLibrary {
  PeerConnection: new (name: string, config: RtcConfig) => PeerConnection;
}

/** node-datachannel itself; importing it loads its native addon (in the compiled binary, see addon-cache.ts). */
export async function importNodeDataChannel(): Promise<WebRtcLibrary> {
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
