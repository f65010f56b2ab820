/**
 * What the instance and its WebRTC helper process say to each other (helper-client.ts, helper-process.ts): the
 * instance asks for PeerConnections and DataChannels by number and drives them (`Op`); the helper reports what they do
 * (`Report`).
 * Both travel over Bun's IPC channel with structured cloning, so bytes stay bytes.
 */
import { Type, type Static } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import type { RtcConfig } from "node-datachannel";

export type Op =
  | { op: "pc"; pc: number; name: string; config: RtcConfig }
  | { op: "remote"; pc: number; sdp: string; type: "offer" | "answer" }
  | { op: "candidate"; pc: number; candidate: string; mid: string }
  | { op: "channel"; pc: number; dc: number; label: string }
  | { op: "send"; dc: number; data: Uint8Array }
  | { op: "close-channel"; dc: number }
  | { op: "close"; pc: number }
  | { op: "ping"; n: number }
  /** Gathers candidates with `config`'s STUN servers, on a connection made for nothing else, and reports them. */
  | { op: "probe"; id: number; config: RtcConfig };

const Id = Type.Integer({ minimum: 0 });
const Text = Type.String({ maxLength: 256 * 1024 });
const Pair = Type.Union([Type.Null(), Type.Object({ local: Type.Object({ type: Type.String() }), remote: Type.Object({ type: Type.String() }) })]);

/** Reports from the helper: checked, as everything from outside the process is. */
export const Report = Type.Union([
  Type.Object({ ev: Type.Literal("ready") }),
  Type.Object({ ev: Type.Literal("unavailable"), reason: Text }),
  Type.Object({ ev: Type.Literal("pong"), n: Type.Integer() }),
  Type.Object({ ev: Type.Literal("description"), pc: Id, sdp: Text, type: Type.String() }),
  Type.Object({ ev: Type.Literal("candidate"), pc: Id, candidate: Text, mid: Text }),
  /** Gathering changed; `sdp` is the local description then (a relay-only tier checks it holds a candidate). */
  Type.Object({ ev: Type.Literal("gathering"), pc: Id, state: Type.String(), sdp: Type.Union([Text, Type.Null()]) }),
  Type.Object({ ev: Type.Literal("state"), pc: Id, state: Type.String() }),
  /** The far end opened a DataChannel; the helper numbers it `dc` (from the top, apart from the instance's own). */
  Type.Object({ ev: Type.Literal("incoming"), pc: Id, dc: Id, open: Type.Boolean(), maxMessageSize: Type.Integer() }),
  Type.Object({ ev: Type.Literal("open"), dc: Id, maxMessageSize: Type.Integer(), pair: Pair }),
  Type.Object({ ev: Type.Literal("message"), dc: Id, data: Type.Uint8Array() }),
  /** Bytes of `send`s handed to the DataChannel since the last report, and what it holds unsent now. */
  Type.Object({ ev: Type.Literal("buffered"), dc: Id, taken: Type.Integer(), amount: Type.Integer() }),
  Type.Object({ ev: Type.Literal("closed"), dc: Id }),
  Type.Object({ ev: Type.Literal("error"), dc: Id, error: Text }),
  Type.Object({ ev: Type.Literal("probed"), id: Id, candidates: Type.Array(Text, { maxItems: 64 }) }),
  /** An op on PeerConnection `pc` threw (a bad remote description, say). */
  Type.Object({ ev: Type.Literal("failed"), pc: Id, reason: Text }),
]);
export type Report = Static<typeof Report>;

const check = TypeCompiler.Compile(Report);
export const isReport = (value: unknown): value is Report => check.Check(value);

/** The ICE candidate pair a connection uses, as far as the tiers look at it. */
export type CandidatePair = Static<typeof Pair>;

/** Numbers the helper gives DataChannels the far end opened: far from the instance's own, which count up from 1. */
export const INCOMING_CHANNEL_BASE = 2 ** 30;
