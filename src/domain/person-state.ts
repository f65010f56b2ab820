/**
 * What a person's devices share beyond the rooms themselves (issue 25): which rooms are joined (with their keys) or
 * left, how far each room is read, the display name, the devices and those revoked. Each device writes events; every
 * device folds all of them, whatever order they came in, into the same state: per room and per name the latest
 * event wins (by its time, then its author and number), a read mark only moves forward, a revocation is for good.
 */
import { Type, type Static } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { DisplayName, NodeId, RoomName } from "./names.ts";
import { revocationProblem } from "./persons.ts";
import { RoomKey } from "./rooms.ts";

const Seq = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });
const Ms = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });

/** One change a device of the person made, as its devices pass it on (JSON, in a message of the person's own room). */
export const PersonEvent = Type.Union([
  Type.Object({ t: Type.Literal("join"), room: RoomName, key: Type.Union([RoomKey, Type.Null()]) }, { additionalProperties: false }),
  Type.Object({ t: Type.Literal("leave"), room: RoomName }, { additionalProperties: false }),
  /** Read up to the message of (origin, seq), written at `sent`: the mark moves to the latest message read anywhere. */
  Type.Object({ t: Type.Literal("read"), room: RoomName, origin: NodeId, seq: Seq, sent: Ms }, { additionalProperties: false }),
  Type.Object({ t: Type.Literal("name"), name: DisplayName }, { additionalProperties: false }),
  Type.Object({ t: Type.Literal("device"), node: NodeId, label: DisplayName }, { additionalProperties: false }),
  Type.Object(
    {
      t: Type.Literal("revoke"),
      person: Type.String({ pattern: "^[A-Za-z0-9_-]{43}$" }),
      device: NodeId,
      at: Ms,
      sig: Type.String({ pattern: "^[A-Za-z0-9_-]{86}$" }),
    },
    { additionalProperties: false },
  ),
]);
export type PersonEvent = Static<typeof PersonEvent>;

const checkEvent = TypeCompiler.Compile(PersonEvent);

/** An event as a device wrote it: when, by which device, its number there. */
export interface Written {
  event: PersonEvent;
  at: number;
  origin: string;
  seq: number;
}

export interface PersonState {
  /** Rooms by name: joined (with the key, null for an open room) or left. */
  rooms: Map<string, { joined: boolean; key: string | null }>;
  /** Per room, the latest message read on any device. */
  reads: Map<string, { origin: string; seq: number; sent: number }>;
  name: string | null;
  /** Devices the person named, by node id. */
  devices: Map<string, string>;
  /** Devices revoked for good, by node id, with when. */
  revoked: Map<string, number>;
}

/** The event in a message's text, or null when it is none (or a revocation not signed by `personKey`). */
export function parseEvent(text: string, personKey: string): PersonEvent | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (!checkEvent.Check(value)) return null;
  if (value.t === "revoke" && (value.person !== personKey || revocationProblem(value) !== undefined)) return null;
  return value;
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
/** Which of two writes is later: by time, then author, then number (every device orders them alike). */
const later = (a: Written, b: Written) => a.at - b.at || byName(a.origin, b.origin) || a.seq - b.seq;
/** Which of two read messages is further on: by the time it was written, then its author and number. */
const further = (a: { sent: number; origin: string; seq: number }, b: { sent: number; origin: string; seq: number }) => a.sent - b.sent || byName(a.origin, b.origin) || a.seq - b.seq;

/** The state all these events make, the same whatever order they are given in. */
export function foldEvents(events: readonly Written[]): PersonState {
  const state: PersonState = { rooms: new Map(), reads: new Map(), name: null, devices: new Map(), revoked: new Map() };
  for (const w of [...events].sort(later)) {
    const e = w.event;
    switch (e.t) {
      case "join":
        state.rooms.set(e.room, { joined: true, key: e.key });
        break;
      case "leave": {
        const room = state.rooms.get(e.room);
        state.rooms.set(e.room, { joined: false, key: room?.key ?? null });
        break;
      }
      case "read": {
        const was = state.reads.get(e.room);
        const mark = { origin: e.origin, seq: e.seq, sent: e.sent };
        if (!was || further(mark, was) > 0) state.reads.set(e.room, mark);
        break;
      }
      case "name":
        state.name = e.name;
        break;
      case "device":
        if (!state.revoked.has(e.node)) state.devices.set(e.node, e.label);
        break;
      case "revoke":
        state.revoked.set(e.device, Math.min(state.revoked.get(e.device) ?? e.at, e.at));
        state.devices.delete(e.device);
        break;
    }
  }
  return state;
}
