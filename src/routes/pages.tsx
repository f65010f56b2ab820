/** @jsxImportSource @kitajs/html */
import type { Server } from "bun";
import { Elysia, t, ValidationError } from "elysia";
import { isDisplayName, isRoomName, roomNameFrom } from "../domain/names.ts";
import type { JoinedRoom } from "../rooms/rooms.ts";
import { roomHref } from "../views/links.ts";
import { oldCookiesGone, type RoomAccess } from "./access.ts";
import { MessageFields, sendInput } from "./api.ts";
import { uploadAnswer, type Uploads } from "./files.ts";
import { isOwnersNavigation, crossSiteRefusal } from "./guard.ts";
import { messageBodyParser, refusalOf, type GuestLimit } from "./refusals.ts";
import type { AppOptions } from "./options.ts";
import { FORM, formFields, madeValid, seeOther, WRONG_FORM, type PageReader, type PageViews } from "./page-views.tsx";
import { HttpError, internalError, jsonError } from "../util/http.ts";
import { PageKey, PageMessageFields, PageName, RoomField, TypedRoom, wholeNumber } from "./schemas.ts";

/**
 * The message form's body: 16384 characters (MAX_TEXT_LENGTH) of the widest kind, percent-encoded (9 bytes for one of
 * 3 UTF-8 bytes), and the other fields. The text's own limit is checked after, in characters.
 */
const MAX_FORM_BODY_BYTES = 160 * 1024;

/** A request from the page's script that wants JSON back rather than a page. */
const wantsJson = (request: Request) => (request.headers.get("accept") ?? "").startsWith("application/json");

/** Sets each of `cookies` on the page. */
function withCookies(page: Response, cookies: string[]): Response {
  for (const cookie of cookies) page.headers.append("set-cookie", cookie);
  return page;
}

/**
 * The page: landing, room view, the send form's post and the page's uploads. Their refusals are pages too, answered
 * by each route's own error hook, so createApp mounts these routes before its JSON onError (Elysia runs an app's
 * hooks before a route's). Nothing here joins or creates a room: a room not joined is asked for first, and the
 * owner's forms (owner-forms.tsx) do it.
 */
export function pageRoutes(opts: AppOptions, guests: GuestLimit, access: RoomAccess, uploads: Uploads, pages: PageViews) {
  const { node } = opts;
  const { isOwner, landing, roomPage, refusedPage } = pages;

  /** The owner reading a room: under the name set in the page, or a `?peer_id=` override of it for this page. */
  const ownerReader = (writeAs: string | undefined): PageReader => ({ owner: true, name: writeAs || node.name, writeAs: writeAs ?? "" });
  /** Where a send of the owner's leads back: the room's page, with the override it was written under, if any. */
  const backTo = (room: string, writeAs: string, owner: boolean) => roomHref(room, owner && writeAs === node.name ? "" : writeAs);

  /** Why the owner cannot write in a room not joined here, or undefined when it is joined. */
  const notJoined = (name: string): HttpError | undefined => {
    if (node.room(name)) return undefined;
    return node.leftRoom(name) ? new HttpError(409, `You left #${name}: join it again to write there.`) : new HttpError(404, `There is no room #${name} here any more.`);
  };

  /** The owner's page for a room not joined here: left (with the way back), or not here (asked before it is made). */
  const notHere = (request: Request, name: string, extra: { key?: string; draft?: string; error?: string } = {}, status = 200) => {
    // A refusal that is not this one (a send too long, say) is said as well.
    const error = extra.error === notJoined(name)?.message ? undefined : extra.error;
    if (node.leftRoom(name)) return landing(status, { owner: true, leftRoom: { name, draft: extra.draft }, error });
    const why = crossSiteRefusal(request) ? "elsewhere" : isOwnersNavigation(request) ? undefined : "program";
    return landing(status, { owner: true, noRoom: { name, roomKey: extra.key, wasPrivate: node.wasPrivate(name), why, draft: extra.draft }, error });
  };

  /** A refused post to a room, as the room's page with the error (and the draft), or a page that says why it cannot be. */
  const refusedInRoom = (request: Request, server: Server<unknown> | null, name: string, writeAs: string, status: number, message: string, draft = "") => {
    const owner = isOwner(request, server);
    let room: JoinedRoom | undefined;
    try {
      room = isRoomName(name) ? access.room(request, server, name) : undefined;
    } catch {
      room = undefined;
    }
    if (owner && !room && isRoomName(name)) return notHere(request, name, { draft, error: message }, status);
    const reader: PageReader = owner ? ownerReader(writeAs === node.name ? "" : writeAs) : { owner, name: writeAs, writeAs, guestId: access.guestId(request) };
    if (room && isDisplayName(writeAs)) return roomPage(room, reader, undefined, { error: message, draft }, status);
    return landing(status, { owner, error: message });
  };

  return new Elysia({ name: "pages" })
    .get(
      "/",
      ({ query: { room: name, key, peer_id: writeAs, before }, request, server }) => {
        const owner = isOwner(request, server);
        const guestName = owner ? undefined : access.guestName(request);
        if (name === undefined) return landing(200, { owner, guestName });
        if (!isRoomName(name)) {
          // What was typed is kept, made into a room name, for the reader to confirm.
          const suggestion = roomNameFrom(name);
          const error = suggestion ? madeValid(name, suggestion) : "A room name needs at least one letter or digit.";
          return landing(400, { owner, guestName: writeAs || guestName, room: suggestion || undefined, error });
        }
        if (owner) {
          const room = node.room(name);
          return room ? roomPage(room, ownerReader(writeAs), before) : notHere(request, name, { key });
        }
        const room = access.room(request, server, name, key)!;
        // A guest who brings a private room's key keeps a token of it in this browser, so the page's requests need no key.
        const cookies = oldCookiesGone(request);
        if (key && room.key) cookies.push(access.keyCookie({ ...room, key: room.key }));
        if (!writeAs) return withCookies(landing(200, { owner, guestName, room: name }), cookies);
        // A guest is a browser: its own messages are told by the id its cookie holds, never by the name typed.
        let guestId = access.guestId(request);
        if (guestId === undefined) {
          const fresh = access.newGuest();
          guestId = fresh.id;
          cookies.push(fresh.cookie);
        }
        // A guest's name is remembered in this browser for the next visit.
        if (writeAs !== guestName) cookies.push(access.guestNameCookie(writeAs));
        return withCookies(roomPage(room, { owner, name: writeAs, writeAs, guestId }, before), cookies);
      },
      {
        query: t.Object({ room: t.Optional(TypedRoom), key: PageKey, peer_id: PageName, before: t.Optional(wholeNumber("before")) }),
        error: ({ error, request, server }) => {
          // A valid room stays in the join form; a refused one is what the error is about.
          const room = error instanceof ValidationError ? (error.value as { room?: unknown } | undefined)?.room : undefined;
          return refusedPage(error, request, server, room);
        },
      },
    )
    .post(
      "/rooms/:room/messages",
      ({ params: { room: name }, body, request, server }) => {
        const owner = isOwner(request, server);
        access.room(request, server, name);
        // A page still open on a room left or deleted here creates nothing (POST /send, the API, still joins).
        const refusal = owner ? notJoined(name) : undefined;
        if (refusal) throw refusal;
        const input = sendInput(name, body, node.name);
        const message = node.post({ ...input, guest: !owner, guestId: owner ? undefined : access.guestId(request), nonce: body.nonce });
        // The page's script sends the form itself and marks the message sent with this answer.
        if (wantsJson(request)) return Response.json({ id: message.id, timestamp: message.timestamp, seq: message.seq });
        return seeOther(backTo(name, input.peer_id, owner));
      },
      {
        params: t.Object({ room: RoomField }),
        parse: messageBodyParser({ type: FORM, wrongType: WRONG_FORM, maxBytes: MAX_FORM_BODY_BYTES, guests, decode: formFields("peer_id", "text", "nonce") }),
        body: PageMessageFields,
        // The refusal comes back as JSON (the script keeps the draft) or as the room's page with the draft in the form.
        error: ({ error, params: { room: name }, body, request, server }) => {
          const refusal = refusalOf(error);
          if (!refusal) return internalError(error);
          const { status, message } = refusal;
          if (wantsJson(request)) return jsonError(status, message);
          const fields = (body ?? {}) as { peer_id?: unknown; text?: unknown };
          const writeAs = typeof fields.peer_id === "string" && fields.peer_id !== "" ? fields.peer_id : node.name;
          const draft = typeof fields.text === "string" ? fields.text : "";
          return refusedInRoom(request, server, name, writeAs, status, message, draft);
        },
      },
    )
    .post(
      "/rooms/:room/files",
      async ({ params: { room }, query, request, server }) => {
        const owner = isOwner(request, server);
        const refusal = owner ? notJoined(room) : undefined;
        if (refusal) throw refusal;
        const message = await uploads.post(request, server, { room, writeAs: query.peer_id || undefined });
        // The page's script sends the file itself, for its progress bar, and wants the message; a bare form goes back.
        if (wantsJson(request)) return Response.json(uploadAnswer(message));
        return seeOther(backTo(room, message.peer_id, owner));
      },
      {
        params: t.Object({ room: RoomField }),
        query: t.Object({ peer_id: t.Optional(MessageFields.properties.peer_id) }),
        parse: "none",
        error: ({ error, params: { room: name }, request, server }) => {
          const refusal = refusalOf(error);
          if (!refusal) return internalError(error);
          if (wantsJson(request)) return jsonError(refusal.status, refusal.message);
          const writeAs = new URL(request.url).searchParams.get("peer_id") || node.name;
          return refusedInRoom(request, server, name, writeAs, refusal.status, refusal.message);
        },
      },
    );
}
