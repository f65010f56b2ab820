/** @jsxImportSource @kitajs/html */
import type { Server } from "bun";
import { Elysia, t, ValidationError } from "elysia";
import { renderSVG } from "uqr";
import { urlHost } from "../addresses.ts";
import { isDisplayName, isRoomName, roomNameFrom } from "../domain/names.ts";
import { InviteError, inviteUrl, parseInvite } from "../domain/rooms.ts";
import { RoomConflictError, type JoinedRoom } from "../node.ts";
import { Landing, type LandingProps } from "../views/landing.tsx";
import type { InstanceInfo } from "../views/layout.tsx";
import { roomHref } from "../views/links.ts";
import { Room, type ReachView } from "../views/room.tsx";
import { cookieValue, keyCookie, type RoomAccess } from "./access.ts";
import { createRoom, MessageFields, sendInput } from "./api.ts";
import { uploadAnswer, type Uploads } from "./files.ts";
import { messagePage, messageView } from "./fragments.tsx";
import { membersOf } from "./members.ts";
import { mayChangeStateOnGet } from "./guard.ts";
import { HttpError, htmlResponse, internalError, messageBodyParser, refusalOf, type GuestLimit } from "./http.ts";
import type { AppOptions } from "./options.ts";
import { jsonError } from "../util/http.ts";
import { KeyField, PageMessageFields, PageName, RoomField, TypedRoom, wholeNumber } from "./schemas.ts";

/** The fields of a posted form, the first of each as a browser sends one. */
function formFields(...names: string[]) {
  return (text: string): Record<string, string | undefined> => {
    const form = new URLSearchParams(text);
    return Object.fromEntries(names.map((name) => [name, form.get(name) ?? undefined]));
  };
}

const FORM = "application/x-www-form-urlencoded";
/**
 * The message form's body: 16384 characters (MAX_TEXT_LENGTH) of the widest kind, percent-encoded (9 bytes for one of
 * 3 UTF-8 bytes), and the other fields. The text's own limit is checked after, in characters.
 */
const MAX_FORM_BODY_BYTES = 160 * 1024;

/** The name a guest entered a room under, kept in that browser (never the owner's name, never sent elsewhere). */
const GUEST_NAME_COOKIE = "guest_name";
const guestNameCookie = (name: string) => `${GUEST_NAME_COOKIE}=${encodeURIComponent(name)}; Path=/; HttpOnly; SameSite=Strict; Max-Age=31536000`;
function guestNameOf(request: Request): string | undefined {
  const value = cookieValue(request, GUEST_NAME_COOKIE);
  if (value === undefined) return undefined;
  try {
    const name = decodeURIComponent(value);
    return isDisplayName(name) ? name : undefined;
  } catch {
    return undefined;
  }
}

/** How a typed room name that is not one was turned into one, in words for the form. */
const madeValid = (typed: string, name: string) =>
  `Room names use lowercase letters, digits, '-', '_' and '.', so '${typed.length > 64 ? `${typed.slice(0, 63)}…` : typed}' becomes '${name}'.`;
const WRONG_FORM = "The form must be sent as application/x-www-form-urlencoded.";

/** A request from the page's script that wants JSON back rather than a page. */
const wantsJson = (request: Request) => (request.headers.get("accept") ?? "").startsWith("application/json");

const seeOther = (location: string, headers: Record<string, string> = {}) => new Response(null, { status: 303, headers: { location, ...headers } });

/**
 * The page: landing, room view, the send form's post, and the owner's forms (create, join, join by invite link).
 * Their refusals are pages too, answered by each route's own error hook, so createApp mounts these routes before its
 * JSON onError (Elysia runs an app's hooks before a route's).
 */
export function pageRoutes(opts: AppOptions, guests: GuestLimit, access: RoomAccess, uploads: Uploads) {
  const { node } = opts;
  const instance = (): InstanceInfo => ({ name: node.name, nodeId: node.id, version: opts.version });
  const isOwner = (request: Request, server: Server<unknown> | null) => access.client(request, server).owner;

  const landing = (status: number, props: Omit<LandingProps, "instance" | "rooms" | "left">) =>
    htmlResponse(String(<Landing instance={instance()} rooms={props.owner ? node.activity() : []} left={props.owner ? node.leftRooms() : []} {...props} />), status);

  const reachView = (): ReachView => {
    const state = opts.reachability?.();
    if (!state) return null;
    const answer = state.answer;
    if (!answer) return { checkedAt: state.checkedAt, seen: null };
    const host = urlHost(answer.seen);
    // The port peers dialled back: the router's, where it maps ours.
    const mapping = opts.portMapping?.();
    const port = mapping?.kind === "mapped" ? String(mapping.ports.http) : new URL(opts.publicUrl()).port;
    const url = `http://${host}${port ? `:${port}` : ""}`;
    return { checkedAt: state.checkedAt, seen: answer.seen, by: node.instanceName(answer.by) ?? answer.by, outside: state.outside, url: answer.http ? url : null };
  };

  const roomPage = (room: JoinedRoom, peerId: string, owner: boolean, before?: number, extra: { error?: string; draft?: string } = {}, status = 200) => {
    const { messages, hasOlder } = messagePage(node, room.name, before ?? Number.MAX_SAFE_INTEGER);
    // The owner sees the newest messages: the room is read up to them.
    const newest = messages.at(-1);
    if (owner && before === undefined && newest) node.markRead(room.name, newest.timestamp);
    const invite = owner ? inviteUrl(opts.publicUrl(), room, node.id, opts.rendezvous?.()) : undefined;
    const page = (
      <Room
        instance={instance()}
        room={room.name}
        peerId={peerId}
        owner={owner}
        rooms={owner ? node.activity() : []}
        view={messageView(node, room.name, owner, peerId)}
        messages={messages}
        hasOlder={hasOlder}
        live={before === undefined}
        invite={
          invite
            ? { url: invite, qrSvg: renderSVG(invite, { border: 2 }), private: room.key !== null, reach: reachView(), stun: opts.stunAddress?.() ?? null, rendezvous: opts.rendezvous?.() ?? [], mapping: opts.portMapping?.() ?? null }
            : undefined
        }
        members={membersOf(node, room.name, owner)}
        peers={owner ? node.peers() : []}
        {...extra}
      />
    );
    return htmlResponse(String(page), status);
  };

  /** A page-route refusal as the landing page, keeping a valid room (and a pasted invite link) in the form. */
  const refusedPage = (error: unknown, request: Request, server: Server<unknown> | null, room?: unknown, invite?: unknown) => {
    const refusal = refusalOf(error);
    if (!refusal) return internalError(error);
    const pasted = typeof invite === "string" ? invite : undefined;
    return landing(refusal.status, { owner: isOwner(request, server), room: isRoomName(room) ? room : undefined, invite: pasted, error: refusal.message });
  };

  /** A refused post to a room, as the room's page with the error (and the draft), or the landing page if it cannot be shown. */
  const refusedInRoom = (request: Request, server: Server<unknown> | null, name: string, peerId: string, status: number, message: string, draft = "") => {
    let room: JoinedRoom | undefined;
    try {
      room = isRoomName(name) ? access.room(request, server, name) : undefined;
    } catch {
      room = undefined;
    }
    if (room && isDisplayName(peerId)) return roomPage(room, peerId, isOwner(request, server), undefined, { error: message, draft }, status);
    return landing(status, { owner: isOwner(request, server), error: message });
  };

  const ownerForm = (fields: string[]) => ({
    parse: messageBodyParser({ type: FORM, wrongType: WRONG_FORM, maxBytes: 8 * 1024, guests, decode: formFields(...fields) }),
  });

  return new Elysia({ name: "pages" })
    .get(
      "/",
      ({ query: { room: name, key, peer_id: peerId, before }, request, server }) => {
        const owner = isOwner(request, server);
        const guestName = owner ? undefined : guestNameOf(request);
        if (name === undefined) return landing(200, { owner, guestName });
        if (!isRoomName(name)) {
          // What was typed is kept, made into a room name, for the reader to confirm.
          const suggestion = roomNameFrom(name);
          const error = suggestion ? madeValid(name, suggestion) : "A room name needs at least one letter or digit.";
          return landing(400, { owner, guestName: peerId || guestName, room: suggestion || undefined, error });
        }
        let room = access.room(request, server, name, key);
        // A guest who brings a private room's key keeps it in this browser, so the page's own requests need no key.
        const keptKey = !owner && key && room?.key ? keyCookie(room) : undefined;
        const keepingKey = (page: Response) => {
          if (keptKey) page.headers.set("set-cookie", keptKey);
          return page;
        };
        if (!peerId) return keepingKey(landing(200, { owner, guestName, room: name }));
        if (!room) {
          // Only the owner gets here (a guest without the room was refused): a link from elsewhere only asks.
          if (!mayChangeStateOnGet(request)) return landing(200, { owner, confirmJoin: name });
          room = node.join(name);
        }
        const page = keepingKey(roomPage(room, peerId, owner, before));
        // A guest's name is remembered in this browser for the next visit.
        if (!owner && peerId !== guestName) page.headers.append("set-cookie", guestNameCookie(peerId));
        return page;
      },
      {
        query: t.Object({ room: t.Optional(TypedRoom), key: KeyField, peer_id: PageName, before: t.Optional(wholeNumber("before")) }),
        error: ({ error, request, server }) => {
          // A valid room stays in the join form; a refused one is what the error is about.
          const room = error instanceof ValidationError ? (error.value as { room?: unknown } | undefined)?.room : undefined;
          return refusedPage(error, request, server, room);
        },
      },
    )
    .post(
      "/create",
      ({ body, request, server }) => {
        access.ownerOnly(request, server, "creating rooms");
        // A typed name is made into a room name (lowercase, spaces as '-'), shown before anything is created.
        const name = roomNameFrom(body.name);
        if (name === "") throw new HttpError(400, "A room name needs at least one letter or digit.");
        if (name !== body.name) return landing(200, { owner: true, room: name, open: body.open === "1", notice: madeValid(body.name, name) });
        const room = node.room(name) ?? createRoom(node, name, body.open !== "1");
        return seeOther(roomHref(room.name, body.peer_id || node.name));
      },
      {
        ...ownerForm(["name", "open", "peer_id"]),
        body: t.Object({ name: TypedRoom, open: t.Optional(t.String()), peer_id: MessageFields.properties.peer_id }),
        error: ({ error, request, server }) => refusedPage(error, request, server),
      },
    )
    .post(
      "/join",
      ({ body, request, server }) => {
        access.ownerOnly(request, server, "joining rooms");
        const room = node.room(body.room) ?? (node.leftRooms().includes(body.room) ? node.rejoin(body.room) : node.join(body.room));
        return seeOther(roomHref(room.name, body.peer_id || node.name));
      },
      {
        ...ownerForm(["room", "peer_id"]),
        body: t.Object({ room: RoomField, peer_id: MessageFields.properties.peer_id }),
        error: ({ error, request, server }) => refusedPage(error, request, server),
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
          if (error instanceof InviteError) throw new HttpError(400, `${error.message}.`);
          throw error;
        }
        try {
          const room = node.join(invite.room, invite.key);
          opts.linkInvite?.(invite);
          return seeOther(roomHref(room.name, body.peer_id || node.name));
        } catch (error) {
          if (error instanceof RoomConflictError) throw new HttpError(409, `${error.message}; this invite is for another room of that name.`);
          throw error;
        }
      },
      {
        ...ownerForm(["invite", "peer_id"]),
        body: t.Object({ invite: t.String({ minLength: 1, maxLength: 2048, error: "Paste an invite link." }), peer_id: MessageFields.properties.peer_id }),
        // What was pasted stays in the form, to be mended rather than pasted again.
        error: ({ error, body, request, server }) => refusedPage(error, request, server, undefined, (body as { invite?: unknown } | undefined)?.invite),
      },
    )
    .post(
      "/rooms/:room/messages",
      ({ params: { room: name }, body, request, server }) => {
        const owner = isOwner(request, server);
        access.room(request, server, name);
        const input = sendInput(name, body, node.name);
        const message = node.post({ ...input, guest: !owner, nonce: body.nonce });
        // The page's script sends the form itself and marks the message sent with this answer.
        if (wantsJson(request)) return Response.json({ id: message.id, timestamp: message.timestamp, seq: message.seq });
        return seeOther(roomHref(name, input.peer_id));
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
          const peerId = typeof fields.peer_id === "string" && fields.peer_id !== "" ? fields.peer_id : node.name;
          const draft = typeof fields.text === "string" ? fields.text : "";
          return refusedInRoom(request, server, name, peerId, status, message, draft);
        },
      },
    )
    .post(
      "/rooms/:room/files",
      async ({ params: { room }, query, request, server }) => {
        const message = await uploads.post(request, server, { room, peerId: query.peer_id || undefined });
        // The page's script sends the file itself, for its progress bar, and wants the message; a bare form goes back.
        if (wantsJson(request)) return Response.json(uploadAnswer(message));
        return seeOther(roomHref(room, message.peer_id));
      },
      {
        params: t.Object({ room: RoomField }),
        query: t.Object({ peer_id: t.Optional(MessageFields.properties.peer_id) }),
        parse: "none",
        error: ({ error, params: { room: name }, request, server }) => {
          const refusal = refusalOf(error);
          if (!refusal) return internalError(error);
          if (wantsJson(request)) return jsonError(refusal.status, refusal.message);
          const peerId = new URL(request.url).searchParams.get("peer_id") ?? node.name;
          return refusedInRoom(request, server, name, peerId, refusal.status, refusal.message);
        },
      },
    );
}
