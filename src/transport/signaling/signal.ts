import { Type, type Static } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import type { NodeAddress } from "../link.ts";

const Text = (maxLength: number) => Type.String({ minLength: 1, maxLength });

/** One WebRTC negotiation message between two instances; `session` tells concurrent attempts apart. */
export const SignalMessage = Type.Union([
  Type.Object({ session: Text(100), kind: Type.Union([Type.Literal("offer"), Type.Literal("answer")]), sdp: Text(32 * 1024) }),
  Type.Object({ session: Text(100), kind: Type.Literal("candidate"), candidate: Text(1024), mid: Text(64) }),
]);
export type SignalMessage = Static<typeof SignalMessage>;

const check = TypeCompiler.Compile(SignalMessage);

/** True for a signaling message with the fields its kind needs, within size caps; anything else from the wire is dropped. */
export const isSignalMessage = (value: unknown): value is SignalMessage => check.Check(value);

/** A signal message sent as JSON in one frame, or what it is instead ("not JSON", "not a signal message"). */
export function decodeSignal(frame: Uint8Array): SignalMessage | string {
  let message: unknown;
  try {
    message = JSON.parse(new TextDecoder().decode(frame));
  } catch {
    return "not JSON";
  }
  return isSignalMessage(message) ? message : "not a signal message";
}

/** The path WebRTC negotiation travels: an existing link to the peer, or a signaling hub both can reach. */
export interface Signaling {
  /** Sends to the instance `to`; rejects with a DialError when no path to it exists. */
  send(to: NodeAddress, message: SignalMessage): Promise<void>;
  /** Adds a handler for messages from other instances; returns its removal. */
  onMessage(handler: (from: string, message: SignalMessage) => void): () => void;
}
