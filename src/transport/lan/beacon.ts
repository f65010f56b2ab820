import { Type, type Static } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { Value } from "@sinclair/typebox/value";
import { DisplayName } from "../../domain/names.ts";
import { BeaconTag } from "../../domain/rooms.ts";
import { HttpOrigin, WsOrigin } from "../../domain/urls.ts";
import { MAX_BEACON_BYTES, WireId } from "./wire.ts";


/**
 * What an instance tells the LAN about itself every beacon interval: its node id, display name, the rooms it holds
 * (as tags salted anew in each beacon: src/domain/rooms.ts beaconTag) and where its HTTP and WebSocket servers
 * listen. Fields a beacon carries beyond these are ignored.
 */
export const BeaconInfo = Type.Object({
  nodeId: WireId,
  name: Type.Optional(DisplayName),
  salt: Type.Optional(Type.String({ pattern: "^[A-Za-z0-9_-]{22}$" })),
  rooms: Type.Optional(Type.Array(BeaconTag)),
  http: Type.Optional(HttpOrigin),
  ws: Type.Optional(WsOrigin),
});
export type BeaconInfo = Static<typeof BeaconInfo>;

const check = TypeCompiler.Compile(BeaconInfo);
const encoder = new TextEncoder();
const strict = new TextDecoder("utf-8", { fatal: true });

/** Encodes a beacon, dropping rooms from the end until it fits in `maxBytes`; null when even that is too big. */
export function encodeBeacon(info: BeaconInfo, maxBytes = MAX_BEACON_BYTES): Uint8Array | null {
  const rooms = [...(info.rooms ?? [])];
  for (;;) {
    const json = encoder.encode(JSON.stringify({ ...info, ...(info.rooms ? { rooms } : {}) }));
    if (json.byteLength <= maxBytes) return json;
    if (rooms.length === 0) return null;
    rooms.pop();
  }
}

/** Decodes a beacon's JSON and checks every field (unknown fields are dropped); null when it is not valid or not from `from`. */
export function decodeBeacon(payload: Uint8Array, from: string): BeaconInfo | null {
  let value: unknown;
  try {
    value = JSON.parse(strict.decode(payload));
  } catch {
    return null;
  }
  if (!check.Check(value) || value.nodeId !== from) return null;
  return Value.Clean(BeaconInfo, value) as BeaconInfo;
}
