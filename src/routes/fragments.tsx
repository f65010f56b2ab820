/** @jsxImportSource @kitajs/html */
import { Elysia, t } from "elysia";
import type { Node } from "../node.ts";
import type { Message } from "../storage/index.ts";
import { instanceLabel, MessageList, type MessageView } from "../views/message.tsx";
import { MembersPanel } from "../views/members.tsx";
import { PeersPanel } from "../views/peers.tsx";
import { OlderItem } from "../views/room.tsx";
import type { RoomAccess } from "./access.ts";
import { htmlResponse } from "../util/http.ts";
import { membersPanelOf } from "./members.ts";
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

/**
 * How `node`'s messages of `room` are shown to a reader (the owner, or the guest browser `guestId`) whose page's links
 * carry `writeAs`: their own set apart, with how far they got; the owner also sees how far each file got at the room's
 * other instances.
 */
export function messageView(node: Node, room: string, owner: boolean, writeAs: string, guestId?: string): MessageView {
  const names = (nodeId: string) => node.instanceName(nodeId);
  const wrote = guestId === undefined ? undefined : (stamp: number) => node.isGuestAuthor(stamp, guestId);
  return {
    names,
    reader: { nodeId: node.id, writeAs, owner, wrote },
    delivered: () => node.delivered(room).seq,
    boxed: () => node.delivered(room).boxed,
    files: (ref) => ({
      have: node.files.have(ref.id, room),
      size: node.files.sizeOf(ref),
      fetch: node.files.fetchState(ref, room),
      ...(owner ? { owner: { writeAs } } : {}),
      delivery: owner ? [...node.files.atPeers(ref.id)].map(([nodeId, bytes]) => ({ name: instanceLabel(names, nodeId), bytes })) : [],
    }),
  };
}

/** The pieces htmx swaps into the page: a page of older messages, the room's members and the peers panel. */
export function fragmentRoutes(opts: AppOptions, access: RoomAccess) {
  const { node } = opts;
  return new Elysia({ name: "fragments" })
    .get(
      "/rooms/:room/older",
      ({ params: { room }, query, request, server }) => {
        if (!access.room(request, server, room)) return htmlResponse("");
        const writeAs = query.peer_id ?? "";
        const view = messageView(node, room, access.client(request, server).owner, writeAs, access.guestId(request));
        const { messages, hasOlder } = messagePage(node, room, query.before);
        return htmlResponse(
          String(
            <>
              {hasOlder && messages[0] ? <OlderItem room={room} writeAs={writeAs} before={messages[0].timestamp} /> : ""}
              <MessageList messages={messages} view={view} />
            </>,
          ),
        );
      },
      {
        params: t.Object({ room: PageRoom }),
        query: t.Object({ before: wholeNumber("before", { default: Number.MAX_SAFE_INTEGER }), peer_id: PageName }),
      },
    )
    .get(
      "/rooms/:room/members",
      ({ params: { room }, query, request, server }) => {
        if (!access.room(request, server, room)) return htmlResponse("");
        const owner = access.client(request, server).owner;
        return htmlResponse(String(<MembersPanel {...membersPanelOf(node, room, owner)} />));
      },
      { params: t.Object({ room: PageRoom }) },
    )
    .get("/peers/panel", ({ request, server }) => {
      access.ownerOnly(request, server, "the list of linked instances");
      return htmlResponse(String(<PeersPanel peers={node.peers()} />));
    });
}
