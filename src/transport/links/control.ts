/**
 * The link manager's wire protocol, the first thing on every link of every tier. Each frame starts with one byte:
 * DATA frames carry what the layer above sends (sync frames); CONTROL frames carry one JSON message of this file's
 * schema: pings and pongs, WebRTC signaling between linked peers and through them, and meeting at a rendezvous.
 */
import { Type, type Static } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import type { FrameData, Link } from "../link.ts";
import { NodeId } from "../../domain/names.ts";
import { MAX_REASON_CHARS } from "../limits.ts";
import { RendezvousTopic } from "../../domain/rooms.ts";
import { SessionEnvelope } from "../signaling/hub-link.ts";
import { SignalMessage } from "../signaling/signal.ts";

const CONTROL = 0;
const DATA = 1;
/** A frame of a relayed link (../protocols/circuits.ts): the circuit's id in 16 bytes, then the frame, sealed end to end. */
const CIRCUIT = 2;
const CIRCUIT_ID_BYTES = 16;
/** Largest control frame: a signal message with a 32 KiB SDP fits with room to spare. */
const MAX_CONTROL_BYTES = 64 * 1024;

/** Topics one peer may wait at on one rendezvous: one per room. */
export const MAX_TOPICS = 64;
/** Peers one `met` names at most. */
export const MAX_MET = 64;

const Nonce = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
/** A relayed link's id between one end and the relay, chosen by whoever opened that side: 16 bytes in base64url. */
export const CircuitId = Type.String({ pattern: "^[A-Za-z0-9_-]{22}$" });
const Reason = Type.String({ maxLength: MAX_REASON_CHARS });
const Port = Type.Integer({ minimum: 1, maximum: 65535 });
const Ip = Type.String({ minLength: 2, maxLength: 45, pattern: "^[0-9A-Fa-f.:]+$" });

export const ControlMessage = Type.Union([
  Type.Object({ t: Type.Literal("ping"), n: Nonce }, { additionalProperties: false }),
  Type.Object({ t: Type.Literal("pong"), n: Nonce }, { additionalProperties: false }),
  /** WebRTC negotiation for a better tier, over a link the two already have. */
  Type.Object({ t: Type.Literal("signal"), m: SignalMessage }, { additionalProperties: false }),
  /** A frame of a signaling session (sealed end to end) for `to`, one of the receiver's linked peers: pass it on. */
  Type.Object({ t: Type.Literal("relay"), to: NodeId, p: SessionEnvelope }, { additionalProperties: false }),
  /** Such a frame, passed on from `from` (its claim; the session's handshake proves who it is). Never passed on again. */
  Type.Object({ t: Type.Literal("relayed"), from: NodeId, p: SessionEnvelope }, { additionalProperties: false }),
  /** To a rendezvous: the topics (rooms, unreadable there) where the sender waits to meet others; each replaces the last. */
  Type.Object({ t: Type.Literal("meet"), topics: Type.Array(RendezvousTopic, { maxItems: MAX_TOPICS }) }, { additionalProperties: false }),
  /** From a rendezvous: instances waiting at a topic the receiver waits at too, and whether it relays links (`--relay`). */
  Type.Object({ t: Type.Literal("met"), peers: Type.Array(NodeId, { maxItems: MAX_MET }), relays: Type.Boolean() }, { additionalProperties: false }),
  /** To a relay: open relayed link `c` to `to`. */
  Type.Object({ t: Type.Literal("open"), c: CircuitId, to: NodeId }, { additionalProperties: false }),
  /** From a relay: `from` opened relayed link `c` to the receiver. */
  Type.Object({ t: Type.Literal("opened"), c: CircuitId, from: NodeId }, { additionalProperties: false }),
  /** Either way: relayed link `c` is closed (refused, used up, or closed by an end), and why. */
  Type.Object({ t: Type.Literal("shut"), c: CircuitId, why: Reason }, { additionalProperties: false }),
  /** Asks the receiver to dial the sender back at these ports of the address the receiver sees it at (../protocols/reach.ts). */
  Type.Object({ t: Type.Literal("reach?"), http: Port, ws: Port }, { additionalProperties: false }),
  /** The answer: the sender's address as seen here, and which of its ports answered from here. */
  Type.Object({ t: Type.Literal("reach"), seen: Ip, http: Type.Boolean(), ws: Type.Boolean() }, { additionalProperties: false }),
]);
export type ControlMessage = Static<typeof ControlMessage>;

const checkControl = TypeCompiler.Compile(ControlMessage);
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** One frame off a link: data for the layer above, a valid control message, a relayed link's frame, or why it is none. */
export type Decoded =
  | { kind: "data"; data: Uint8Array }
  | { kind: "control"; message: ControlMessage }
  | { kind: "circuit"; circuit: string; data: Uint8Array }
  | { kind: "invalid"; reason: string };

export function encodeControl(message: ControlMessage): Uint8Array {
  const json = encoder.encode(JSON.stringify(message));
  const out = new Uint8Array(json.byteLength + 1);
  out[0] = CONTROL;
  out.set(json, 1);
  return out;
}

/** Sends a control message on a link; false when it closed under us (its close handler cleans up). */
export function sendControl(via: { link: Link }, message: ControlMessage): boolean {
  try {
    via.link.send(encodeControl(message));
    return true;
  } catch {
    return false;
  }
}

const DATA_PREFIX = new Uint8Array([DATA]);

/** A data frame of the layer above, given whole or in parts, as parts a link takes without joining them here. */
export function encodeData(data: FrameData): Uint8Array[] {
  return data instanceof Uint8Array ? [DATA_PREFIX, data] : [DATA_PREFIX, ...data];
}

/** A relayed link's frame (whole or in parts) under circuit id `circuit`, as parts a link takes without joining them. */
export function encodeCircuit(circuit: string, data: FrameData): Uint8Array[] {
  const header = new Uint8Array(1 + CIRCUIT_ID_BYTES);
  header[0] = CIRCUIT;
  header.set(Buffer.from(circuit, "base64url"), 1);
  return data instanceof Uint8Array ? [header, data] : [header, ...data];
}

/** Splits a frame into data, a checked control message or a relayed link's frame; never throws. */
export function decodeFrame(frame: Uint8Array): Decoded {
  if (frame[0] === DATA) return { kind: "data", data: frame.subarray(1) };
  if (frame[0] === CIRCUIT) {
    if (frame.byteLength < 1 + CIRCUIT_ID_BYTES) return { kind: "invalid", reason: "short relayed frame" };
    const circuit = Buffer.from(frame.subarray(1, 1 + CIRCUIT_ID_BYTES)).toString("base64url");
    return { kind: "circuit", circuit, data: frame.subarray(1 + CIRCUIT_ID_BYTES) };
  }
  if (frame[0] !== CONTROL) return { kind: "invalid", reason: `unknown frame kind ${frame[0]}` };
  if (frame.byteLength > MAX_CONTROL_BYTES) return { kind: "invalid", reason: `control frame of ${frame.byteLength} bytes` };
  let message: unknown;
  try {
    message = JSON.parse(decoder.decode(frame.subarray(1)));
  } catch {
    return { kind: "invalid", reason: "unreadable control frame" };
  }
  if (!checkControl.Check(message)) return { kind: "invalid", reason: "malformed control frame" };
  return { kind: "control", message };
}
