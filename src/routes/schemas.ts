/**
 * The route inputs' schemas. Each carries the one sentence its refusal is answered with (Elysia hands it to onError as
 * the ValidationError's customError; see refusalOf), so a route's options say both what it takes and what it refuses.
 */
import { t, type TSchema } from "elysia";
import { DISPLAY_NAME_RULE, DisplayName, ROOM_RULE, RoomName } from "../domain/names.ts";
import { ROOM_KEY_RULE, RoomKey } from "../domain/rooms.ts";

/** `schema` refused with `error`: a sentence, or one made from what was sent (the whole query, params or body). */
function refusedWith<T extends TSchema>(schema: T, error: string | ((sent: Record<string, unknown> | undefined) => string)): T {
  return { ...schema, error: typeof error === "string" ? error : ({ found }: { found: unknown }) => error(found as Record<string, unknown>) };
}

/** A room named by an API client: "room is required" when it is missing or empty. */
export const RoomField = refusedWith(RoomName, (sent) => ((sent?.room ?? "") === "" ? "room is required" : `room must be ${ROOM_RULE}`));
/** A room named in a page's address, refused in the page's words. */
export const PageRoom = refusedWith(RoomName, `Room names are ${ROOM_RULE}.`);

/** A private room's key, where a guest gives it. */
export const KeyField = t.Optional(refusedWith(RoomKey, `key must be ${ROOM_KEY_RULE}`));
/** A private room's key in a page's address or form (an invite link opened), refused in words a person reads. */
export const PageKey = t.Optional(refusedWith(RoomKey, "This link is incomplete or damaged: its key is not whole. Copy the whole link again."));

/** Who a message is from; absent, null or empty means the instance's own name. */
export const PeerIdField = t.Optional(t.Union([t.Null(), t.Literal(""), DisplayName], { error: `peer_id must be ${DISPLAY_NAME_RULE}` }));
/** The reader's name in a page's address; absent or empty asks for one. */
export const PageName = t.Optional(t.Union([t.Literal(""), DisplayName], { error: `Names are ${DISPLAY_NAME_RULE}.` }));

/** A message's text: anything but blank (its length is checked where it is posted, with 413). */
export const TextField = t.String({ pattern: "\\S", error: "text is required and must not be empty" });

/** A message from the page's form, refused in the page's words; `nonce` names the send, so a retry posts nothing twice. */
export const PageMessageFields = t.Object({
  text: t.String({ pattern: "\\S", error: "Write something before sending." }),
  peer_id: t.Optional(t.Union([t.Literal(""), DisplayName], { error: `Your name must be ${DISPLAY_NAME_RULE}.` })),
  nonce: t.Optional(t.String({ pattern: "^[A-Za-z0-9_-]{16,64}$", error: "The page sent a malformed form; reload it." })),
});

/** A room name as typed into a page's form or address: anything up to 200 characters, made into a name (`roomNameFrom`). */
export const TypedRoom = t.String({ maxLength: 200, error: "That room name is too long: room names have at most 64 characters." });

/** A whole number in a query string or header, from `minimum` (0) to `maximum` (the largest safe integer). */
export function wholeNumber(name: string, range: { minimum?: number; maximum?: number; default?: number } = {}) {
  const { minimum = 0, maximum = Number.MAX_SAFE_INTEGER } = range;
  return t.Integer({ ...range, minimum, maximum, error: `${name} must be a whole number from ${minimum} to ${maximum}` });
}
