/**
 * The naming rules every layer shares: rooms, display names, node ids. Each is a TypeBox schema (for frames, routes and
 * other validated input) and a predicate (for code that checks one value), written once here.
 */
import { Type } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { createHash } from "node:crypto";

/** A room name: 1–64 letters, digits, `-`, `_`, `.` (the contract's rule). */
export const RoomName = Type.String({ pattern: "^[A-Za-z0-9_.-]{1,64}$" });
/** The room-name rule in words, for every refusal of a bad room name. */
export const ROOM_RULE = "1-64 letters, digits, '-', '_' or '.'";

/** Longest display name, in characters. */
export const DISPLAY_NAME_MAX = 64;
/** A display name (an instance's `--name`, a message's `peer_id`): 1–64 characters, no control characters. */
export const DisplayName = Type.String({ minLength: 1, maxLength: DISPLAY_NAME_MAX, pattern: "^[^\\u0000-\\u001f\\u007f]*$" });
/** The display-name rule in words. */
export const DISPLAY_NAME_RULE = `1-${DISPLAY_NAME_MAX} characters without control characters`;

/** A node id: 128 bits (32 lowercase hex digits) of SHA-256 over the instance's Ed25519 public key: too long to grind a key for. */
export const NodeId = Type.String({ pattern: "^[0-9a-f]{32}$" });

const roomName = TypeCompiler.Compile(RoomName);
const displayName = TypeCompiler.Compile(DisplayName);
const nodeId = TypeCompiler.Compile(NodeId);

export const isRoomName = (value: unknown): value is string => roomName.Check(value);
export const isDisplayName = (value: unknown): value is string => displayName.Check(value);
export const isNodeId = (value: unknown): value is string => nodeId.Check(value);

/** The node id of a raw 32-byte Ed25519 public key. */
export function nodeIdOfKey(rawPublicKey: Uint8Array): string {
  return createHash("sha256").update(rawPublicKey).digest("hex").slice(0, 32);
}

/** A node id as people read and compare it: eight groups of four, `3f9c-0a51-…`. */
export function groupedNodeId(id: string): string {
  return id.match(/.{1,4}/g)?.join("-") ?? id;
}

/**
 * Longest message text, in characters as a text box counts them (UTF-16 code units, as `maxlength` and JS `length`
 * do): what the user sees is what is counted. At most 3 UTF-8 bytes each, so a text is never over 48 KiB.
 */
export const MAX_TEXT_LENGTH = 16 * 1024;

/**
 * A room name made from what someone typed into the page: lowercase, accents dropped, spaces and other characters
 * turned into '-', at most 64 characters ("My trip to Zürich!" → "my-trip-to-zurich"); empty when nothing usable is left.
 * (The page's script shows the same as it is typed: src/routes/assets.ts serves it this very function.)
 */
export function roomNameFrom(typed: string): string {
  return typed
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/[^A-Za-z0-9_.-]+/g, "-")
    .replace(/-{2,}/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 64)
    .replace(/-+$/, "");
}
