import { Type, type Static } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";

/** An envelope as a member sends it to the `/signal` hub, and as the hub passes it on (then with the sender's `peer_id`). */
export const HubEnvelope = Type.Object({
  peer_id: Type.Optional(Type.String()),
  type: Type.String({ minLength: 1, maxLength: 64 }),
  payload: Type.Optional(Type.Unknown()),
  target_peer_id: Type.Optional(Type.String()),
});
export type HubEnvelope = Static<typeof HubEnvelope>;

const check = TypeCompiler.Compile(HubEnvelope);

/** Parses and checks an envelope; answers why not in one sentence when it is not one. */
export function parseEnvelope(text: string): HubEnvelope | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return "envelope is not valid JSON";
  }
  if (check.Check(value)) return value;
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "envelope must be a JSON object";
  const error = check.Errors(value).First();
  return `envelope field ${error?.path.slice(1) || "?"}: ${error?.message ?? "is not valid"} (type must be 1-64 characters, target_peer_id a string)`;
}

/** The hub room where an instance waits for WebRTC offers: one room per instance, named after it. */
export const hubRoomOf = (nodeId: string) => `mesh.${nodeId}`;

/** A signaling hub this process runs, joined from inside the process rather than over a WebSocket. */
export interface LocalHub {
  /** Joins `room` as `memberId` (its `peer_id` there: an instance's node id); envelopes passed on to this member go to `onEnvelope`. */
  joinLocal(room: string, memberId: string, onEnvelope: (envelope: HubEnvelope) => void): { send(envelope: HubEnvelope): void; leave(): void };
}
