/**
 * The two seams of the transport layer: a Transport is one tier, a Link one open path to one other instance.
 * Every tier keeps the same rules, written here once and held by the compliance suite (tests/helpers/compliance.ts):
 *
 * - **Frames** arrive whole, in order, once. A frame is at most MAX_FRAME_BYTES (limits.ts): `send` of a bigger one
 *   throws FrameTooLargeError, sends nothing and leaves the link open; a far end that sends a bigger one loses the link.
 *   Until the secure handshake is done (`authenticate`), a far end may send only PRE_HANDSHAKE_FRAME_BYTES, checked
 *   before the tier buffers more: an outsider cannot make the process hold a large frame per connection.
 *   `send` takes a frame whole or in parts (a header and a file chunk), so a sender need not join them first.
 * - **Backpressure**: `send` never blocks and copies the frame, so the caller may reuse its buffer at once. When the bytes
 *   waiting for the far end pass the tier's queue limit (MAX_QUEUED_BYTES by default), the far end has stopped reading:
 *   the link closes with a reason that says so, and that `send` throws LinkClosedError. `send` on a closed link throws
 *   LinkClosedError too. All links together hold at most MAX_QUEUED_TOTAL_BYTES: past it the one holding the most closes.
 * - **Handlers**: every `on*` adds a handler and returns the function that removes it. Frames that arrive while no frame
 *   handler is registered are held (within the same queue limit) for the first one. A handler that throws closes its
 *   link with a reason naming the error; it never breaks the tier or other links.
 * - **Closing**: a link closes once, from either end; the other end closes too. Close handlers run once with the
 *   reason; one added after the close runs on the next microtask.
 * - **Dials** reject with a DialError subclass (errors.ts), or with the signal's reason when the caller aborts.
 * - **Packet keys**: the secure handshake calls `authenticate` with per-direction keys. Every tier then takes frames of
 *   any size; a tier whose own packets bystanders see and could forge (lan) also drops every packet of the link not
 *   tagged with them. Raw links without keys (as the compliance suite runs them, with a pre-handshake limit as large
 *   as MAX_FRAME_BYTES) work as before.
 */
import { isIP } from "node:net";
import type { Tier } from "../domain/tiers.ts";

export type { Tier } from "../domain/tiers.ts";

/** A frame to send, whole or as the parts that make it up, in order. */
export type FrameData = Uint8Array | readonly Uint8Array[];

/** Bytes in a frame given whole or in parts. */
export function frameSize(frame: FrameData): number {
  return frame instanceof Uint8Array ? frame.byteLength : frame.reduce((sum, part) => sum + part.byteLength, 0);
}

/** A frame given whole or in parts, as one buffer (the frame itself when whole; parts are joined into a new one). */
export function wholeFrame(frame: FrameData): Uint8Array {
  if (frame instanceof Uint8Array) return frame;
  if (frame.length === 1) return frame[0]!;
  const out = Buffer.allocUnsafe(frameSize(frame));
  let at = 0;
  for (const part of frame) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

/** The IP address a URL names, when it names one rather than a host name. */
export function ipOfUrl(url: string): string | undefined {
  let host: string;
  try {
    host = new URL(url).hostname.replace(/^\[|\]$/g, "");
  } catch {
    return undefined;
  }
  return isIP(host) ? host : undefined;
}

/** A frame given whole or in parts, in a buffer of its own (a copy when whole: parts are joined into a new one anyway). */
export function copiedFrame(frame: FrameData): Uint8Array {
  return frame instanceof Uint8Array ? frame.slice() : wholeFrame(frame);
}

/** How to reach another instance; each tier dials the fields it understands. */
export interface PeerAddress {
  /** The instance's node id, when known (WebRTC and LAN need it; the others learn it in the link handshake). */
  nodeId?: string;
  /** HTTP base URL, e.g. http://192.168.1.5:8080 (the HTTP tier, and where /mesh/info is) */
  http?: string;
  /** WebSocket base URL, e.g. ws://192.168.1.5:9000 (the WebSocket tier at /link, the signaling hub at /signal) */
  ws?: string;
  /** Where its LAN beacons came from, host:port; set only by LAN discovery */
  lan?: string;
  /** An address only the in-memory transport understands */
  memory?: string;
}

/** An address whose node id is known: what the link manager dials and signaling sends to. */
export type NodeAddress = PeerAddress & { nodeId: string };

/** One open path to one other instance. Frames are opaque bytes here; sync/ gives them meaning. */
export interface Link {
  /** The tier this link runs over. */
  readonly tier: Tier;
  /** A readable description of the far end, for logs. */
  readonly remote: string;
  /**
   * The far end's IP address as this side knows it: where an accepted connection came from, or the literal address a
   * dial went to. Absent where the tier knows none (webrtc, lan, relay) or a dial went to a name.
   */
  readonly remoteIp?: string;
  /** True once either side closed the link or it failed. */
  readonly closed: boolean;
  /** Bytes sent that have not left for the far end yet: bulk senders (file chunks) wait while it is high. */
  readonly bufferedBytes: number;
  /** Sends one frame (copied); throws FrameTooLargeError, or LinkClosedError when closed or when the far end stopped reading. */
  send(frame: FrameData): void;
  /** Adds a handler for frames from the far end; returns its removal. */
  onFrame(handler: (frame: Uint8Array) => void): () => void;
  /** Adds a handler called once when the link closes, with the reason; returns its removal. */
  onClose(handler: (reason: string) => void): () => void;
  /** Closes the link; the far end sees it close too. Idempotent. */
  close(reason?: string): void;
  /**
   * The secure handshake is done: from now on the far end may send frames of any size. Its keys are for a tier whose
   * own packets are open to bystanders (lan), to authenticate each of its packets, so none can be forged, even those
   * that close a link. Called synchronously with the handshake's last frame (read, or sent), so no later frame travels
   * unauthenticated. Every tier's links have it (BaseLink); links of other kinds may leave it out.
   */
  authenticate?(keys: LinkKeys): void;
}

/** One link's packet keys, from its secure handshake: what this side tags with, and what the far end does. */
export interface LinkKeys {
  send: Uint8Array;
  receive: Uint8Array;
}

/** One tier: dials out and accepts links in. */
export interface Transport {
  /** The tier whose links this transport makes. */
  readonly tier: Tier;
  /** Whether `dial` can try this address at all (the address has the fields this tier needs). */
  canDial(address: PeerAddress): boolean;
  /** Opens a link to the address; rejects with a DialError subclass, or with the signal's reason when aborted. */
  dial(address: PeerAddress, signal?: AbortSignal): Promise<Link>;
  /** Starts accepting links; every accepted link is passed to `onLink`. */
  listen(onLink: (link: Link) => void): Promise<void>;
  /** Stops listening and closes every link this transport made or accepted. */
  close(): Promise<void>;
}
