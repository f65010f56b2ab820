/** @jsxImportSource @kitajs/html */
import { Elysia, t } from "elysia";
import { roomNameFrom } from "../domain/names.ts";
import { InviteError, parseInvite } from "../domain/rooms.ts";
import type { Node } from "../node.ts";
import { RoomConflictError, RoomLeftError } from "../rooms/rooms.ts";
import { roomHref } from "../views/links.ts";
import type { RoomAccess } from "./access.ts";
import { createRoom, MessageFields } from "./api.ts";
import { messageBodyParser, type GuestLimit } from "./refusals.ts";
import { HttpError } from "../util/http.ts";
import type { AppOptions } from "./options.ts";
import { FORM, formFields, madeValid, seeOther, WRONG_FORM, type PageViews } from "./page-views.tsx";
import { PageKey, PageName, RoomField, TypedRoom } from "./schemas.ts";

/** The owner's name as a form gives it: a form that carries one (the landing page's "Your name") sets it. */
function nameFrom(node: Node, given: string | null | undefined): void {
  if (given) node.rename(given);
}

/** Why a room cannot be joined here, in words: another room of that name is here already, or was left with its history. */
function conflict(room: string, error: RoomConflictError): HttpError {
  return new HttpError(
    409,
    error instanceof RoomLeftError
      ? `You left another room named #${room} here and kept its history: delete that history first (under "Rooms you left"), then join this one.`
      : `You have another room named #${room} here already; this link is for a different room of that name.`,
  );
}

/**
 * The owner's forms: create a room (after the page asked, or from the landing page), join one (again, or with a key of
 * an old link), join by invite link, and set the display name. Each answers its refusals as the landing page.
 */
export function ownerFormRoutes(opts: AppOptions, guests: GuestLimit, access: RoomAccess, pages: PageViews) {
  const { node } = opts;
  const ownerForm = (fields: string[]) => ({
    parse: messageBodyParser({ type: FORM, wrongType: WRONG_FORM, maxBytes: 8 * 1024, guests, decode: formFields(...fields) }),
  });
  const refused = ({ error, request, server }: { error: unknown; request: Request; server: Parameters<PageViews["refusedPage"]>[2] }) =>
    pages.refusedPage(error, request, server);

  return new Elysia({ name: "owner-forms" })
    .post(
      "/create",
      ({ body, request, server }) => {
        access.ownerOnly(request, server, "creating rooms");
        // A typed name is made into a room name (lowercase, spaces as '-'), shown before anything is created.
        const name = roomNameFrom(body.name);
        if (name === "") throw new HttpError(400, "A room name needs at least one letter or digit.");
        if (name !== body.name) return pages.landing(200, { owner: true, room: name, open: body.open === "1", notice: madeValid(body.name, name) });
        nameFrom(node, body.peer_id);
        const room = node.room(name) ?? createRoom(node, name, body.open !== "1");
        return seeOther(roomHref(room.name));
      },
      {
        ...ownerForm(["name", "open", "peer_id"]),
        body: t.Object({ name: TypedRoom, open: t.Optional(t.String()), peer_id: MessageFields.properties.peer_id }),
        error: refused,
      },
    )
    .post(
      "/join",
      ({ body, request, server }) => {
        access.ownerOnly(request, server, "joining rooms");
        const { room: name, key } = body;
        const joined = node.room(name);
        let room;
        if (joined && (key === undefined || joined.key === key)) room = joined;
        else if (key === undefined && node.leftRoom(name)) room = node.rejoin(name);
        else if (key === undefined && node.wasPrivate(name)) {
          // An old link to a private room deleted here never makes its name an open room.
          throw new HttpError(409, `#${name} was a private room here. To get back in, ask one of its members for a new invite link.`);
        } else {
          try {
            room = node.join(name, key ?? null);
          } catch (error) {
            if (error instanceof RoomConflictError) throw conflict(name, error);
            throw error;
          }
        }
        nameFrom(node, body.peer_id);
        return seeOther(roomHref(room.name));
      },
      {
        ...ownerForm(["room", "key", "peer_id"]),
        body: t.Object({ room: RoomField, key: PageKey, peer_id: MessageFields.properties.peer_id }),
        error: refused,
      },
    )
    .post(
      "/invite",
      ({ body, request, server }) => {
        access.ownerOnly(request, server, "joining rooms");
        let invite;
        try {
          invite = parseInvite(body.invite);
        } catch (error) {
          if (error instanceof InviteError) throw new HttpError(400, error.plain);
          throw error;
        }
        try {
          const room = node.join(invite.room, invite.key);
          opts.linkInvite?.(invite);
          nameFrom(node, body.peer_id);
          return seeOther(roomHref(room.name));
        } catch (error) {
          if (error instanceof RoomConflictError) throw conflict(invite.room, error);
          throw error;
        }
      },
      {
        ...ownerForm(["invite", "peer_id"]),
        body: t.Object({ invite: t.String({ minLength: 1, maxLength: 2048, error: "Paste an invite link." }), peer_id: MessageFields.properties.peer_id }),
        // What was pasted stays in the form, to be mended rather than pasted again.
        error: ({ error, body, request, server }) => pages.refusedPage(error, request, server, undefined, (body as { invite?: unknown } | undefined)?.invite),
      },
    )
    .post(
      "/name",
      ({ body, request, server }) => {
        access.ownerOnly(request, server, "the name of this instance");
        node.rename(body.name);
        return seeOther(body.room ? roomHref(body.room, body.peer_id ?? "") : "/");
      },
      {
        ...ownerForm(["name", "room", "peer_id"]),
        body: t.Object({
          name: t.String({ minLength: 1, maxLength: 64, pattern: "^[^\\u0000-\\u001f\\u007f]*$", error: "A name is 1 to 64 characters, without control characters." }),
          room: t.Optional(RoomField),
          peer_id: PageName,
        }),
        error: refused,
      },
    );
}
