/** @jsxImportSource @kitajs/html */
import { Elysia } from "elysia";
import { DISPLAY_NAME_RULE, isDisplayName, isRoomName, ROOM_RULE } from "../domain/names.ts";
import { RoomLimitError } from "../node.ts";
import { Landing } from "../views/landing.tsx";
import type { InstanceInfo } from "../views/layout.tsx";
import { roomHref } from "../views/links.ts";
import { MessageList } from "../views/message.tsx";
import { PeersPanel } from "../views/peers.tsx";
import { OlderItem, Room, SendForm } from "../views/room.tsx";
import { MAX_SEND_BODY_BYTES, checkSend } from "./api.ts";
import { HttpError, intParam, readBody, type GuestLimit } from "./http.ts";
import type { AppOptions } from "./options.ts";

/** Messages shown per page of history. */
export const PAGE_SIZE = 50;

const ROOM_NAMES = `Room names are ${ROOM_RULE}.`;
const NAME_RULE = `Names are ${DISPLAY_NAME_RULE}.`;

function htmlResponse(body: string, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(body, { status, headers: { "content-type": "text/html; charset=utf-8", ...headers } });
}

/** The page: landing, room view, the send form post, older messages and the peers panel. */
export function pageRoutes(opts: AppOptions, guests: GuestLimit) {
  const { node } = opts;
  const instance = (): InstanceInfo => ({ name: node.name, nodeId: node.id, version: opts.version });

  const landing = (status: number, room?: string, error?: string) =>
    htmlResponse(String(<Landing instance={instance()} rooms={node.rooms()} room={room} error={error} />), status);

  const roomPage = (room: string, peerId: string, before?: number, extra: { error?: string; draft?: string } = {}, status = 200) => {
    const window = node.older(room, before ?? Number.MAX_SAFE_INTEGER, PAGE_SIZE + 1);
    const hasOlder = window.length > PAGE_SIZE;
    const page = (
      <Room
        instance={instance()}
        room={room}
        peerId={peerId}
        rooms={node.rooms()}
        messages={hasOlder ? window.slice(1) : window}
        hasOlder={hasOlder}
        live={before === undefined}
        inviteUrl={`${opts.publicUrl()}/?${new URLSearchParams({ room })}`}
        peers={node.peers()}
        {...extra}
      />
    );
    return htmlResponse(String(page), status);
  };

  return new Elysia({ name: "pages" })
    .get("/", ({ request }) => {
      const q = new URL(request.url).searchParams;
      const room = q.get("room");
      const peerId = q.get("peer_id");
      if (room === null) return landing(200);
      if (!isRoomName(room)) return landing(400, undefined, ROOM_NAMES);
      if (!peerId) return landing(200, room);
      if (!isDisplayName(peerId)) return landing(400, room, NAME_RULE);
      const beforeRaw = q.get("before");
      const before = beforeRaw === null ? undefined : intParam(beforeRaw, "before", 0, 0, Number.MAX_SAFE_INTEGER);
      try {
        node.join(room);
      } catch (err) {
        if (err instanceof RoomLimitError) return landing(403, undefined, err.message);
        throw err;
      }
      return roomPage(room, peerId, before);
    })
    .post(
      "/rooms/:room/messages",
      async ({ params, request, server }) => {
        const room = params.room;
        const htmx = request.headers.has("hx-request");
        let peerId = node.name;
        let draft = "";
        const fail = (status: number, error: string) =>
          htmx
            ? htmlResponse(String(<SendForm room={room} peerId={peerId} error={error} draft={draft} />), status)
            : isRoomName(room) && isDisplayName(peerId)
              ? roomPage(room, peerId, undefined, { error, draft }, status)
              : landing(status, undefined, error);
        try {
          const type = request.headers.get("content-type") ?? "";
          if (!/^application\/x-www-form-urlencoded\s*(;|$)/i.test(type)) throw new HttpError(415, "The form must be sent as application/x-www-form-urlencoded.");
          guests.check(request, server);
          const form = new URLSearchParams(await readBody(request, MAX_SEND_BODY_BYTES));
          peerId = form.get("peer_id") || node.name;
          draft = form.get("text") ?? "";
          const input = checkSend({ room, peer_id: form.get("peer_id"), text: form.get("text") }, node.name);
          node.post(input);
          if (htmx) return htmlResponse(String(<SendForm room={room} peerId={input.peer_id} />));
          return new Response(null, { status: 303, headers: { location: roomHref(room, input.peer_id) } });
        } catch (err) {
          if (err instanceof HttpError) return fail(err.status, err.message);
          if (err instanceof RoomLimitError) return fail(403, err.message);
          throw err;
        }
      },
      { parse: "none" },
    )
    .get("/rooms/:room/older", ({ params, request }) => {
      const room = params.room;
      if (!isRoomName(room)) throw new HttpError(400, ROOM_NAMES);
      const q = new URL(request.url).searchParams;
      const before = intParam(q.get("before"), "before", Number.MAX_SAFE_INTEGER, 0, Number.MAX_SAFE_INTEGER);
      const peerId = q.get("peer_id") || node.name;
      if (!isDisplayName(peerId)) throw new HttpError(400, NAME_RULE);
      const window = node.older(room, before, PAGE_SIZE + 1);
      const hasOlder = window.length > PAGE_SIZE;
      const messages = hasOlder ? window.slice(1) : window;
      return htmlResponse(
        String(
          <>
            {hasOlder && messages[0] ? <OlderItem room={room} peerId={peerId} before={messages[0].timestamp} /> : ""}
            <MessageList messages={messages} />
          </>,
        ),
      );
    })
    .get("/peers/panel", () => htmlResponse(String(<PeersPanel peers={node.peers()} />)));
}
