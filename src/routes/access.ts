/**
 * Who may use which room (the contract's "Rooms, keys and guests"): the owner (loopback) every room; a guest a room
 * only with its capability: its name for an open room, its key for a private one, given in the request or kept
 * in a cookie since the guest opened the invite link. Unknown rooms and wrong keys are refused alike.
 */
import type { Server } from "bun";
import { timingSafeEqual } from "node:crypto";
import type { JoinedRoom, Node } from "../node.ts";
import { clientOf, type Client, type ClientAddressOf } from "./client.ts";
import { HttpError } from "./http.ts";

/** The refusal for a room a guest may not use, the same whether it exists or not. */
export const NO_ROOM_FOR_GUEST = "this room is open only to those with its invite link";

/** The cookie a browser keeps a private room's key in, named by the room's id (never its name). */
export const keyCookieName = (room: JoinedRoom) => `room_${room.id}`;

/** The Set-Cookie value that lets this browser back into `room` without the key in every address. */
export function keyCookie(room: JoinedRoom): string {
  return `${keyCookieName(room)}=${room.key}; Path=/; HttpOnly; SameSite=Strict; Max-Age=31536000`;
}

function sameKey(given: string, key: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(key);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The value of the request's cookie `name`, as sent (still percent-encoded where it was). */
export function cookieValue(request: Request, name: string): string | undefined {
  for (const part of request.headers.get("cookie")?.split(";") ?? []) {
    const at = part.indexOf("=");
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return undefined;
}

export class RoomAccess {
  constructor(
    private readonly node: Node,
    private readonly addressOf?: ClientAddressOf,
  ) {}

  client(request: Request, server: Server<unknown> | null | undefined): Client {
    return clientOf(request, server, this.addressOf);
  }

  /** Throws 403 unless the request comes from the owner. */
  ownerOnly(request: Request, server: Server<unknown> | null | undefined, what: string): void {
    if (!this.client(request, server).owner) throw new HttpError(403, `${what} is only for the owner of this instance`);
  }

  /**
   * The joined room `name` if this client may use it; undefined for the owner naming a room not joined here (which
   * the owner may create); throws 403 for a guest without the room's capability.
   */
  room(request: Request, server: Server<unknown> | null | undefined, name: string, key?: string | null): JoinedRoom | undefined {
    const room = this.node.room(name);
    if (this.client(request, server).owner) return room;
    if (!room) throw new HttpError(403, NO_ROOM_FOR_GUEST);
    if (room.key === null) return room;
    const given = key ?? cookieValue(request, keyCookieName(room));
    if (given === undefined || !sameKey(given, room.key)) throw new HttpError(403, NO_ROOM_FOR_GUEST);
    return room;
  }
}
