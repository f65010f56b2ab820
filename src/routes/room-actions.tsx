/** @jsxImportSource @kitajs/html */
import type { Server } from "bun";
import { Elysia, t } from "elysia";
import { instanceOrigin } from "../domain/rooms.ts";
import { roomHref } from "../views/links.ts";
import { SearchPage } from "../views/search.tsx";
import type { RoomAccess } from "./access.ts";
import { messageBodyParser, type GuestLimit } from "./refusals.ts";
import { HttpError, htmlResponse } from "../util/http.ts";
import type { AppOptions } from "./options.ts";
import { PageName, PageRoom, wholeNumber } from "./schemas.ts";

/** Hits shown for one search. */
const SEARCH_LIMIT = 50;
/** Newer messages shown after a hit opened from search, so it is read among its neighbours. */
const HIT_CONTEXT = 10;

const FORM = "application/x-www-form-urlencoded";
const JSON_TYPE = "application/json";

/** The fields of a small form or JSON body (the page's script sends `read` as JSON). */
function fieldsOf(text: string, json: boolean): Record<string, unknown> {
  if (!json) return Object.fromEntries(new URLSearchParams(text));
  try {
    const body: unknown = JSON.parse(text);
    if (typeof body === "object" && body !== null && !Array.isArray(body)) return body as Record<string, unknown>;
  } catch {}
  throw new HttpError(400, "body must be a JSON object");
}

/** A small body of the page's, up to 1 KiB: a form, or JSON from its script. */
function smallBody(guests: GuestLimit) {
  const parserOf = (type: string) => messageBodyParser({ type, wrongType: "", maxBytes: 1024, guests, decode: (text) => fieldsOf(text, type === JSON_TYPE) });
  const parsers = new Map([FORM, JSON_TYPE].map((type) => [type, parserOf(type)]));
  return (context: { request: Request; server: Server<unknown> | null }) => {
    const parse = parsers.get(context.request.headers.get("content-type")?.split(";")[0]?.trim().toLowerCase() ?? "");
    if (!parse) throw new HttpError(415, "The form must be sent as a form or as JSON.");
    return parse(context);
  };
}

/**
 * What the owner does to a room as a whole (leave it, mark it read, keep it in a mailbox), and search in a room's history. Mounted after the
 * app's onError, which answers their refusals as `{"error"}`.
 */
export function roomActionRoutes(opts: AppOptions, guests: GuestLimit, access: RoomAccess) {
  const { node } = opts;
  return new Elysia({ name: "room-actions" })
    .post(
      "/rooms/:room/leave",
      ({ params: { room }, body, request, server }) => {
        access.ownerOnly(request, server, "leaving rooms");
        if (!node.leave(room, { deleteHistory: body.delete === "1" })) throw new HttpError(404, `no room named '${room}' is here`);
        return new Response(null, { status: 303, headers: { location: "/" } });
      },
      {
        params: t.Object({ room: PageRoom }),
        parse: smallBody(guests),
        body: t.Object({ delete: t.Optional(t.String()) }),
      },
    )
    .post(
      "/rooms/:room/read",
      ({ params: { room }, body, request, server }) => {
        access.ownerOnly(request, server, "read marks");
        node.markRead(room, body.stamp);
        return new Response(null, { status: 204 });
      },
      {
        params: t.Object({ room: PageRoom }),
        parse: smallBody(guests),
        body: t.Object({ stamp: wholeNumber("stamp") }),
      },
    )
    .post(
      "/rooms/:room/mailboxes",
      ({ params: { room }, body, request, server }) => {
        access.ownerOnly(request, server, "the room's mailboxes");
        const url = instanceOrigin(body.url.trim());
        if (url === null) throw new HttpError(400, "A mailbox's address is an http:// or https:// URL, such as http://home.example:8080.");
        if (!node.keepInMailbox(room, url)) throw new HttpError(404, `no room named '${room}' is here`);
        return new Response(null, { status: 303, headers: { location: `${roomHref(room)}#members` } });
      },
      {
        params: t.Object({ room: PageRoom }),
        parse: smallBody(guests),
        body: t.Object({ url: t.String({ minLength: 1, maxLength: 300, error: "A mailbox's address is a URL of at most 300 characters." }) }),
      },
    )
    .get(
      "/rooms/:room/search",
      ({ params: { room }, query, request, server }) => {
        access.room(request, server, room);
        // Each hit opens as the page of messages that ends a few after it.
        const hits = node.search(room, query.q ?? "", SEARCH_LIMIT).map((hit) => {
          const last = node.history(room, hit.message.timestamp, HIT_CONTEXT).at(-1) ?? hit.message;
          return { ...hit, before: last.timestamp + 1 };
        });
        const names = (nodeId: string) => node.instanceName(nodeId);
        const instance = { name: node.name, nodeId: node.id, version: opts.version };
        return htmlResponse(
          String(<SearchPage instance={instance} room={room} writeAs={query.peer_id ?? ""} query={query.q ?? ""} hits={hits} limit={SEARCH_LIMIT} names={names} />),
        );
      },
      {
        params: t.Object({ room: PageRoom }),
        query: t.Object({ q: t.Optional(t.String({ maxLength: 200, error: "Searches are at most 200 characters." })), peer_id: PageName }),
      },
    );
}
