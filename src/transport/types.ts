import type { Tier } from "../domain/tiers.ts";

export type { Tier } from "../domain/tiers.ts";

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

/** One WebRTC negotiation message between two instances; `session` tells concurrent attempts apart. */
export interface SignalMessage {
  session: string;
  kind: "offer" | "answer" | "candidate";
  /** SDP, for offer and answer */
  sdp?: string;
  /** candidate line and its media id, for candidate */
  candidate?: string;
  mid?: string;
}

const MAX_SESSION_CHARS = 100;
const MAX_SDP_CHARS = 32 * 1024;
const MAX_CANDIDATE_CHARS = 1024;

const isText = (value: unknown, max: number): value is string => typeof value === "string" && value.length > 0 && value.length <= max;

/** True for a signaling message with the fields its kind needs, within size caps; anything else from the wire is dropped. */
export function isSignalMessage(m: unknown): m is SignalMessage {
  if (typeof m !== "object" || m === null) return false;
  const { session, kind, sdp, candidate, mid } = m as Record<string, unknown>;
  if (!isText(session, MAX_SESSION_CHARS)) return false;
  if (kind === "offer" || kind === "answer") return isText(sdp, MAX_SDP_CHARS);
  return kind === "candidate" && isText(candidate, MAX_CANDIDATE_CHARS) && isText(mid, 64);
}

/** The path WebRTC negotiation travels: an existing link to the peer, or a signaling hub both can reach. */
export interface Signaling {
  /** Sends to the instance `to`; rejects when no path to it exists. */
  send(to: PeerAddress & { nodeId: string }, message: SignalMessage): Promise<void>;
  /** Registers the handler for messages from other instances (one handler; a later call replaces it). */
  onMessage(handler: (from: string, message: SignalMessage) => void): void;
}

/** One open path to one other instance. Frames are opaque bytes here; sync/ gives them meaning. */
export interface Link {
  /** The tier this link runs over. */
  readonly tier: Tier;
  /** A readable description of the far end, for logs. */
  readonly remote: string;
  /** True once either side closed the link or it failed. */
  readonly closed: boolean;
  /** Sends one frame; throws LinkClosedError once the link is closed. */
  send(frame: Uint8Array): void;
  /** Registers the handler for frames arriving from the far end (one handler; a later call replaces it). */
  onFrame(handler: (frame: Uint8Array) => void): void;
  /** Registers a handler called once when the link closes, from either side, with the reason. */
  onClose(handler: (reason: string) => void): void;
  /** Closes the link; the far end sees it close too. Idempotent. */
  close(reason?: string): void;
}

/** One tier: dials out and accepts links in. */
export interface Transport {
  /** The tier whose links this transport makes. */
  readonly tier: Tier;
  /** Whether `dial` can try this address at all (the address has the fields this tier needs). */
  canDial(address: PeerAddress): boolean;
  /** Opens a link to the address; rejects with DialError, or with the signal's reason when aborted. */
  dial(address: PeerAddress, signal?: AbortSignal): Promise<Link>;
  /** Starts accepting links; every accepted link is passed to `onLink`. */
  listen(onLink: (link: Link) => void): Promise<void>;
  /** Stops listening and closes every link this transport made or accepted. */
  close(): Promise<void>;
}

export class LinkClosedError extends Error {
  override name = "LinkClosedError";
}

export class DialError extends Error {
  override name = "DialError";
}
