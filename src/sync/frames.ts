import type { NewMessage } from "../storage/index.ts";
import type { PeerAddress } from "../transport/types.ts";

/** Bumped when a frame changes shape; peers with another version refuse the link in `hello`. */
export const PROTOCOL_VERSION = 1;

/** Per room, per origin: the highest sequence held with no gap before it. */
export type VersionVector = Record<string, Record<string, number>>;

/** First frame on every link, each way: who I am, what I hold, where else I can be reached. */
export interface HelloFrame {
  type: "hello";
  protocol: number;
  node_id: string;
  name: string;
  rooms: string[];
  addresses: PeerAddress;
}

/** What I hold, so the other side can send what I lack. */
export interface VectorFrame {
  type: "vector";
  vector: VersionVector;
}

/** Messages pushed when new, or sent to fill a gap a vector showed. */
export interface MessagesFrame {
  type: "messages";
  messages: NewMessage[];
}

/** Other members of shared rooms, so a newcomer that knows one member meets all. */
export interface PeersFrame {
  type: "peers";
  peers: { node_id: string; name: string; rooms: string[]; addresses: PeerAddress }[];
}

/** Liveness and round-trip time on a link. */
export interface PingFrame {
  type: "ping" | "pong";
  nonce: number;
}

/** WebRTC offer, answer or candidate, carried over whatever link already exists. */
export interface SignalFrame {
  type: "signal";
  to: string;
  from: string;
  kind: "offer" | "answer" | "candidate";
  payload: string;
}

export type Frame = HelloFrame | VectorFrame | MessagesFrame | PeersFrame | PingFrame | SignalFrame;
