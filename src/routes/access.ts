/**
 * Who may use which room (the contract's "Rooms, keys and guests"): the owner (loopback) every room; a guest a room
 * only with its capability: its name for an open room, its key for a private one, given in the request or kept
 * in a cookie since the guest opened the invite link. Unknown rooms and wrong keys are refused alike.
 *
 * Cookies are named per instance (by its node id): a browser sends a host's cookies to every port of that host, so
 * two instances on one machine must not read or overwrite each other's. A private room's cookie holds no key, only a
 * token derived from it for this instance alone: sent to another port, it opens nothing anywhere else.
 */
import type { Server } from "bun";
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { isDisplayName } from "../domain/names.ts";
import type { Node } from "../node.ts";
import type { JoinedRoom } from "../rooms/rooms.ts";
import { clientOf, type Client, type ClientAddressOf } from "./client.ts";
import { HttpError } from "../util/http.ts";

/** The refusal for a room a guest may not use, the same whether it exists or not. */
export const NO_ROOM_FOR_GUEST = "this room is open only to those with its invite link";

/** A year: how long a browser keeps what it was given here. */
const KEEP = "Path=/; HttpOnly; SameSite=Strict; Max-Age=31536000";
/** A guest's id: 128 random bits in base64url. */
const GUEST_ID = /^[A-Za-z0-9_-]{22}$/;

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
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
  /** What every cookie of this instance is named with. */
  readonly #prefix: string;

  constructor(
    private readonly node: Node,
    private readonly addressOf?: ClientAddressOf,
  ) {
    this.#prefix = `egoat_${node.id.slice(0, 12)}`;
  }

  client(request: Request, server: Server<unknown> | null | undefined): Client {
    return clientOf(request, server, this.addressOf);
  }

  /** Throws 403 unless the request comes from the owner. */
  ownerOnly(request: Request, server: Server<unknown> | null | undefined, what: string): void {
    if (!this.client(request, server).owner) throw new HttpError(403, `${what} is only for the owner of this instance`);
  }

  /** The name of the cookie that lets a browser into the private `room` here (by the room's id, never its name). */
  keyCookieName(room: JoinedRoom): string {
    return `${this.#prefix}_room_${room.id}`;
  }

  /** What that cookie holds: a token for this instance alone, derived from the room's key (which it does not reveal). */
  #roomToken(room: JoinedRoom & { key: string }): string {
    return createHmac("sha256", Buffer.from(room.key, "base64url")).update(`e-goat guest cookie\0${this.node.id}`).digest("base64url");
  }

  /** The Set-Cookie value that lets this browser back into the private `room` without the key in every address. */
  keyCookie(room: JoinedRoom & { key: string }): string {
    return `${this.keyCookieName(room)}=${this.#roomToken(room)}; ${KEEP}`;
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
    if (key !== undefined && key !== null) {
      if (sameSecret(key, room.key)) return room;
    } else {
      const token = cookieValue(request, this.keyCookieName(room));
      if (token !== undefined && sameSecret(token, this.#roomToken({ ...room, key: room.key }))) return room;
    }
    throw new HttpError(403, NO_ROOM_FOR_GUEST);
  }

  /** The guest id of this browser's cookie, if it holds a well-formed one. */
  guestId(request: Request): string | undefined {
    const id = cookieValue(request, `${this.#prefix}_guest`);
    return id !== undefined && GUEST_ID.test(id) ? id : undefined;
  }

  /** A new guest id and the Set-Cookie value that gives it to a browser: a guest is a browser, not a name. */
  newGuest(): { id: string; cookie: string } {
    const id = randomBytes(16).toString("base64url");
    return { id, cookie: `${this.#prefix}_guest=${id}; ${KEEP}` };
  }

  /** The name a guest entered a room under, kept in that browser (never the owner's name, never sent elsewhere). */
  guestName(request: Request): string | undefined {
    const value = cookieValue(request, `${this.#prefix}_guest_name`);
    if (value === undefined) return undefined;
    try {
      const name = decodeURIComponent(value);
      return isDisplayName(name) ? name : undefined;
    } catch {
      return undefined;
    }
  }

  guestNameCookie(name: string): string {
    return `${this.#prefix}_guest_name=${encodeURIComponent(name)}; ${KEEP}`;
  }
}

/**
 * Set-Cookie values that take back the cookies of builds before issue 22 (`room_<id>` held a private room's very
 * key, which the browser sent to every port of the host; `guest_name` was shared by every instance of the host).
 */
export function oldCookiesGone(request: Request): string[] {
  const names = (request.headers.get("cookie")?.split(";") ?? []).map((part) => part.split("=")[0]!.trim());
  return names.filter((name) => /^room_[A-Za-z0-9_-]{22}$/.test(name) || name === "guest_name").map((name) => `${name}=; Path=/; Max-Age=0`);
}
