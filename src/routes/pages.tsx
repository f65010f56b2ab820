/** @jsxImportSource @kitajs/html */
import { Elysia, t, ValidationError } from "elysia";
import { isDisplayName, isRoomName } from "../domain/names.ts";
import { Landing } from "../views/landing.tsx";
import type { InstanceInfo } from "../views/layout.tsx";
import { roomHref } from "../views/links.ts";
import { Room, SendForm } from "../views/room.tsx";
import { MAX_SEND_BODY_BYTES, MessageFields, sendInput } from "./api.ts";
import { messagePage } from "./fragments.tsx";
import { htmlResponse, internalError, messageBodyParser, refusalOf, type GuestLimit } from "./http.ts";
import type { AppOptions } from "./options.ts";
import { PageName, PageRoom, RoomField, wholeNumber } from "./schemas.ts";

/** The fields of the send form, as the message schema checks them (the first of each, as a browser sends one). */
function formFields(text: string): Record<string, string | undefined> {
  const form = new URLSearchParams(text);
  return { peer_id: form.get("peer_id") ?? undefined, text: form.get("text") ?? undefined };
}

/**
 * The page: landing, room view and the send form's post. Their refusals are pages too, answered by each route's own
 * error hook, so createApp mounts these routes before its JSON onError (Elysia runs an app's hooks before a route's).
 */
export function pageRoutes(opts: AppOptions, guests: GuestLimit) {
  const { node } = opts;
  const instance = (): InstanceInfo => ({ name: node.name, nodeId: node.id, version: opts.version });

  const landing = (status: number, room?: string, error?: string) =>
    htmlResponse(String(<Landing instance={instance()} rooms={node.rooms()} room={room} error={error} />), status);

  const roomPage = (room: string, peerId: string, before?: number, extra: { error?: string; draft?: string } = {}, status = 200) => {
    const { messages, hasOlder } = messagePage(node, room, before ?? Number.MAX_SAFE_INTEGER);
    const page = (
      <Room
        instance={instance()}
        room={room}
        peerId={peerId}
        rooms={node.rooms()}
        messages={messages}
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
    .get(
      "/",
      ({ query: { room, peer_id: peerId, before } }) => {
        if (room === undefined) return landing(200);
        if (!peerId) return landing(200, room);
        node.join(room);
        return roomPage(room, peerId, before);
      },
      {
        query: t.Object({ room: t.Optional(PageRoom), peer_id: PageName, before: t.Optional(wholeNumber("before")) }),
        error: ({ error }) => {
          const refusal = refusalOf(error);
          if (!refusal) return internalError(error);
          // A valid room stays in the join form; a refused one is what the error is about.
          const room = error instanceof ValidationError ? (error.value as { room?: unknown } | undefined)?.room : undefined;
          return landing(refusal.status, isRoomName(room) ? room : undefined, refusal.message);
        },
      },
    )
    .post(
      "/rooms/:room/messages",
      ({ params: { room }, body, request }) => {
        const input = sendInput(room, body, node.name);
        node.post(input);
        if (request.headers.has("hx-request")) return htmlResponse(String(<SendForm room={room} peerId={input.peer_id} />));
        return new Response(null, { status: 303, headers: { location: roomHref(room, input.peer_id) } });
      },
      {
        params: t.Object({ room: RoomField }),
        parse: messageBodyParser({
          type: "application/x-www-form-urlencoded",
          wrongType: "The form must be sent as application/x-www-form-urlencoded.",
          maxBytes: MAX_SEND_BODY_BYTES,
          guests,
          decode: formFields,
        }),
        body: MessageFields,
        // The refusal comes back in the form (htmx) or the room's page, with the draft kept.
        error: ({ error, params: { room }, body, request }) => {
          const refusal = refusalOf(error);
          if (!refusal) return internalError(error);
          const { status, message } = refusal;
          const fields = (body ?? {}) as { peer_id?: unknown; text?: unknown };
          const peerId = typeof fields.peer_id === "string" && fields.peer_id !== "" ? fields.peer_id : node.name;
          const draft = typeof fields.text === "string" ? fields.text : "";
          if (request.headers.has("hx-request")) return htmlResponse(String(<SendForm room={room} peerId={peerId} error={message} draft={draft} />), status);
          if (isRoomName(room) && isDisplayName(peerId)) return roomPage(room, peerId, undefined, { error: message, draft }, status);
          return landing(status, undefined, message);
        },
      },
    );
}
