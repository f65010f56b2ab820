/** @jsxImportSource @kitajs/html */
import { Elysia, t } from "elysia";
import type { Node } from "../node.ts";
import type { Message } from "../storage/index.ts";
import { MessageList } from "../views/message.tsx";
import { PeersPanel } from "../views/peers.tsx";
import { OlderItem } from "../views/room.tsx";
import type { RoomAccess } from "./access.ts";
import { htmlResponse } from "./http.ts";
import type { AppOptions } from "./options.ts";
import { PageName, PageRoom, wholeNumber } from "./schemas.ts";

/** Messages shown per page of history. */
export const PAGE_SIZE = 50;

/** The page of a room's messages just before `before`, oldest first, and whether older ones exist. */
export function messagePage(node: Node, room: string, before: number): { messages: Message[]; hasOlder: boolean } {
  const window = node.older(room, before, PAGE_SIZE + 1);
  const hasOlder = window.length > PAGE_SIZE;
  return { messages: hasOlder ? window.slice(1) : window, hasOlder };
}

/** The pieces htmx swaps into the page: a page of older messages and the peers panel. */
export function fragmentRoutes(opts: AppOptions, access: RoomAccess) {
  const { node } = opts;
  return new Elysia({ name: "fragments" })
    .get(
      "/rooms/:room/older",
      ({ params: { room }, query, request, server }) => {
        if (!access.room(request, server, room)) return htmlResponse("");
        const peerId = query.peer_id || node.name;
        const { messages, hasOlder } = messagePage(node, room, query.before);
        return htmlResponse(
          String(
            <>
              {hasOlder && messages[0] ? <OlderItem room={room} peerId={peerId} before={messages[0].timestamp} /> : ""}
              <MessageList messages={messages} names={(id) => node.instanceName(id)} />
            </>,
          ),
        );
      },
      {
        params: t.Object({ room: PageRoom }),
        query: t.Object({ before: wholeNumber("before", { default: Number.MAX_SAFE_INTEGER }), peer_id: PageName }),
      },
    )
    .get("/peers/panel", ({ request, server }) => {
      access.ownerOnly(request, server, "the list of linked instances");
      return htmlResponse(String(<PeersPanel peers={node.peers()} />));
    });
}
