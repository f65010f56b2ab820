/**
 * Open and private rooms: keys, the identifier other instances know a room by, and invite links
 * (`http://HOST:PORT/?room=R&key=K&node=ID`, the contract's "Rooms, keys and guests").
 */
import { Type } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { createHmac, hkdfSync, randomBytes } from "node:crypto";
import { isNodeId, isRoomName } from "./names.ts";

/** A private room's key: 32 random bytes in base64url, 43 characters. */
export const RoomKey = Type.String({ pattern: "^[A-Za-z0-9_-]{43}$" });
export const ROOM_KEY_RULE = "43 characters of base64url (32 bytes)";
const roomKey = TypeCompiler.Compile(RoomKey);
export const isRoomKey = (value: unknown): value is string => roomKey.Check(value) && Buffer.from(value as string, "base64url").length === 32;

/** What other instances know a room by (roomIdOf): 128 bits in base64url, 22 characters. */
export const RoomId = Type.String({ pattern: "^[A-Za-z0-9_-]{22}$" });

/** A room as this instance holds it: a private one has a key; an open one is known by its name alone. */
export interface RoomRef {
  name: string;
  key: string | null;
}

export function newRoomKey(): string {
  return randomBytes(32).toString("base64url");
}

const derive = (ikm: Uint8Array | string, info: string, bytes: number) => Buffer.from(hkdfSync("sha256", ikm, "e-goat rooms", info, bytes));

/** The key every instance derives from an open room's name, so an open room has a key like any other. */
export function openRoomKey(name: string): string {
  return derive(name, "open room key", 32).toString("base64url");
}

/** A room's own key: its random one if private, else the one derived from its name. */
export function keyOf(room: RoomRef): string {
  return room.key ?? openRoomKey(room.name);
}

/**
 * What other instances know a room by: 128 bits derived from its key, never its name. Two private rooms of one name
 * with different keys have different ids; an open room's id follows from its name.
 */
export function roomIdOf(room: RoomRef): string {
  return derive(Buffer.from(keyOf(room), "base64url"), "room id", 16).toString("base64url");
}

/** A membership proof as a hello carries it: 128 bits in base64url, 22 characters. */
export const MembershipTag = Type.String({ pattern: "^[A-Za-z0-9_-]{22}$" });

/**
 * What instance `from` shows instance `to` to prove it holds `room`'s key: an HMAC under the key of the two node ids.
 * Worthless for any other pair (links prove their node ids), and it says nothing of the room to one without the key.
 */
export function membershipTag(room: RoomRef, from: string, to: string): string {
  return createHmac("sha256", Buffer.from(keyOf(room), "base64url")).update(`e-goat member\0${from}\0${to}`).digest().subarray(0, 16).toString("base64url");
}

/** A room as a LAN beacon carries it: 96 bits in base64url, 16 characters. */
export const BeaconTag = Type.String({ pattern: "^[A-Za-z0-9_-]{16}$" });

/** What a LAN beacon says of its sender, and what each of its room tags vouches for. */
export interface BeaconClaims {
  salt: string;
  nodeId: string;
  http?: string;
  ws?: string;
}

/**
 * A room in one LAN beacon: an HMAC under the room's key of that beacon's random salt and of who sent it and where
 * it listens. Only those who hold the key recognise it; no two beacons say the same, so a bystander can neither
 * reverse a tag nor follow a room; and one who changes the node id or an address in a copied beacon breaks every tag.
 */
export function beaconTag(room: RoomRef, claims: BeaconClaims): string {
  const { salt, nodeId, http = "", ws = "" } = claims;
  return createHmac("sha256", Buffer.from(keyOf(room), "base64url"))
    .update(["e-goat beacon", salt, nodeId, http, ws].join("\0"))
    .digest()
    .subarray(0, 12)
    .toString("base64url");
}

/** A room as a rendezvous knows it: 128 bits in base64url, 22 characters. */
export const RendezvousTopic = Type.String({ pattern: "^[A-Za-z0-9_-]{22}$" });

/**
 * Where the members of a room who use the rendezvous `rendezvousNodeId` meet there: an HMAC under the room's key of
 * that rendezvous's node id. The rendezvous cannot reverse it into the room, nor match it with the room's topic at
 * another rendezvous.
 */
export function rendezvousTopic(room: RoomRef, rendezvousNodeId: string): string {
  return createHmac("sha256", Buffer.from(keyOf(room), "base64url")).update(`e-goat rendezvous\0${rendezvousNodeId}`).digest().subarray(0, 16).toString("base64url");
}

/** Rendezvous URLs one invite link may carry. */
export const MAX_INVITE_RENDEZVOUS = 4;

/** A parsed invite link. */
export interface Invite {
  /** The issuing instance's base URL (`http://host:port`). */
  url: string;
  room: string;
  key: string | null;
  /** The issuing instance's node id, when the link names it. */
  node: string | null;
  /** Instances (base URLs) where the issuer can be met when its own URL is out of reach, behind a NAT. */
  rendezvous: string[];
}

/** The invite link to `room` on the instance at `baseUrl`, naming the rendezvous where that instance can be met. */
export function inviteUrl(baseUrl: string, room: RoomRef, nodeId: string, rendezvous: readonly string[] = []): string {
  const query = new URLSearchParams({ room: room.name });
  if (room.key) query.set("key", room.key);
  query.set("node", nodeId);
  for (const url of rendezvous.slice(0, MAX_INVITE_RENDEZVOUS)) query.append("rendezvous", url);
  return `${baseUrl}/?${query}`;
}

/** An instance's base URL as a flag or an invite link gives it: its origin, or null when it is not an http(s) URL. */
export function instanceOrigin(raw: string): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return null;
  }
  return url.protocol === "http:" || url.protocol === "https:" ? url.origin : null;
}

/**
 * An invite link that cannot be read: `message` says what is wrong in the flag's terms (for `--invite`); `plain` says it
 * in words for a person who pasted it into the page, and what to do.
 */
export class InviteError extends Error {
  override name = "InviteError";
  constructor(
    message: string,
    readonly plain: string,
  ) {
    super(message);
  }
}

/** Nearly every unreadable invite link is one copied only in part. */
const COPY_AGAIN = "Copy the whole link again.";

function badRendezvous(raw: string): never {
  throw new InviteError(
    `the invite link's rendezvous '${raw.slice(0, 100)}' is not an http:// or https:// URL`,
    "This link names a meeting point (rendezvous) that is not a web address: it was damaged, or not made by E-Goat.",
  );
}

/** What is wrong with a key that is not one, in words. */
function badKey(key: string): never {
  const plain =
    key.length < 43 && /^[A-Za-z0-9_-]*$/.test(key)
      ? `This link is incomplete: its key is cut short. ${COPY_AGAIN}`
      : `This link's key is damaged (it has characters or a length no key has). ${COPY_AGAIN}`;
  throw new InviteError(`the invite link's key is not ${ROOM_KEY_RULE}`, plain);
}

/** Reads an invite link; throws InviteError with one sentence saying what is wrong with it. */
export function parseInvite(raw: string): Invite {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new InviteError(
      "an invite link is a URL like http://host:port/?room=R&key=K&node=ID",
      `That is not a link: an invite link starts with http:// and names a room. ${COPY_AGAIN}`,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new InviteError("an invite link starts with http:// or https://", `An invite link starts with http:// or https://. ${COPY_AGAIN}`);
  }
  const room = url.searchParams.get("room");
  const key = url.searchParams.get("key");
  const node = url.searchParams.get("node");
  if (!isRoomName(room)) {
    throw new InviteError("the invite link names no valid room", `This link names no room: it is not an invite link, or it was cut short. ${COPY_AGAIN}`);
  }
  if (key !== null && !isRoomKey(key)) badKey(key);
  if (node !== null && !isNodeId(node)) {
    throw new InviteError("the invite link's node is not a node id", `This link is incomplete: the instance it names is cut short. ${COPY_AGAIN}`);
  }
  const given = url.searchParams.getAll("rendezvous");
  if (given.length > MAX_INVITE_RENDEZVOUS) {
    throw new InviteError(
      `an invite link names at most ${MAX_INVITE_RENDEZVOUS} rendezvous`,
      `This link names more than ${MAX_INVITE_RENDEZVOUS} meeting points (rendezvous): it was not made by E-Goat.`,
    );
  }
  const rendezvous = given.map((raw) => instanceOrigin(raw) ?? badRendezvous(raw));
  return { url: url.origin, room, key, node, rendezvous: [...new Set(rendezvous)] };
}
