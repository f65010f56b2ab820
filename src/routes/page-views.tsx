/** @jsxImportSource @kitajs/html */
import type { Server } from "bun";
import { renderSVG } from "uqr";
import { urlHost } from "../util/ip.ts";
import { isRoomName } from "../domain/names.ts";
import { inviteUrl } from "../domain/rooms.ts";
import type { JoinedRoom } from "../rooms/rooms.ts";
import { Landing, type LandingProps } from "../views/landing.tsx";
import type { InstanceInfo } from "../views/layout.tsx";
import { Room } from "../views/room.tsx";
import type { LinkedView, ReachView } from "../views/reach.tsx";
import type { RoomAccess } from "./access.ts";
import { messagePage, messageView } from "./fragments.tsx";
import { refusalOf } from "./refusals.ts";
import { htmlResponse, internalError } from "../util/http.ts";
import { membersPanelOf } from "./members.ts";
import type { AppOptions } from "./options.ts";

/**
 * Who reads a page: the owner or a guest browser (`guestId`, from its cookie), the name they write under, and the
 * `peer_id` the page's links carry (a guest's name; for the owner only a `?peer_id=` override, else nothing).
 */
export interface PageReader {
  owner: boolean;
  name: string;
  writeAs: string;
  guestId?: string;
}

/**
 * A page as it is now, never from a cache: Back to a room left shows that it was left, and a private room's messages
 * are not kept on the disk of whatever browser opened them.
 */
function fresh(page: Response): Response {
  page.headers.set("cache-control", "no-store");
  return page;
}

/** The pages every page route answers with: the landing page (and its asking cards) and a room's page. */
export function pageViews(opts: AppOptions, access: RoomAccess) {
  const { node } = opts;
  /** This instance as the page's top bar shows it; the owner's also links to its mailbox, if it keeps one. */
  const instance = (owner = false): InstanceInfo => ({ name: node.name, nodeId: node.id, version: opts.version, ...(owner && opts.mailbox ? { mailbox: true } : {}) });
  const isOwner = (request: Request, server: Server<unknown> | null) => access.client(request, server).owner;

  const landing = (status: number, props: Omit<LandingProps, "instance" | "rooms" | "left">) =>
    fresh(htmlResponse(String(<Landing instance={instance(props.owner)} rooms={props.owner ? node.activity() : []} left={props.owner ? node.leftRooms() : []} {...props} />), status));

  const reachView = (): ReachView => {
    const state = opts.reach.reachability();
    if (!state) return null;
    const answer = state.answer;
    if (!answer) return { checkedAt: state.checkedAt, seen: null };
    const host = urlHost(answer.seen);
    // The port peers dialled back: the router's, where it maps ours.
    const mapping = opts.reach.portMapping();
    const port = mapping?.kind === "mapped" ? String(mapping.ports.http) : new URL(opts.reach.publicUrl()).port;
    const url = `http://${host}${port ? `:${port}` : ""}`;
    return { checkedAt: state.checkedAt, seen: answer.seen, by: node.instanceName(answer.by) ?? answer.by, outside: state.outside, url: answer.http ? url : null };
  };

  /** What is known of the links now, for the invite panel: how many instances are linked, and over which tiers. */
  const linkedView = (): LinkedView => {
    const linked = node.peers().filter((p) => p.state === "connected");
    return { count: linked.length, tiers: [...new Set(linked.flatMap((p) => (p.tier ? [p.tier] : [])))] };
  };

  const roomPage = (room: JoinedRoom, reader: PageReader, before?: number, extra: { error?: string; draft?: string } = {}, status = 200) => {
    const { owner } = reader;
    const { messages, hasOlder } = messagePage(node, room.name, before ?? Number.MAX_SAFE_INTEGER);
    // The owner sees the newest messages: the room is read up to them.
    const newest = messages.at(-1);
    if (owner && before === undefined && newest) node.markRead(room.name, newest.timestamp);
    const invite = owner ? inviteUrl(opts.reach.publicUrl(), room, node.id, opts.reach.rendezvous()) : undefined;
    const page = (
      <Room
        instance={instance(owner)}
        room={room.name}
        writeAs={reader.writeAs}
        writer={reader.name}
        owner={owner}
        rooms={owner ? node.activity() : []}
        view={messageView(node, room.name, owner, reader.writeAs, reader.guestId)}
        messages={messages}
        hasOlder={hasOlder}
        live={before === undefined}
        invite={
          invite
            ? {
                url: invite,
                qrSvg: renderSVG(invite, { border: 2 }),
                private: room.key !== null,
                reach: reachView(),
                linked: linkedView(),
                stun: opts.reach.stunAddress(),
                rendezvous: opts.reach.rendezvous(),
                mapping: opts.reach.portMapping(),
              }
            : undefined
        }
        members={membersPanelOf(node, room.name, owner)}
        peers={owner ? node.peers() : []}
        fileSettings={owner ? node.files.settings() : undefined}
        {...extra}
      />
    );
    return fresh(htmlResponse(String(page), status));
  };

  /** A page-route refusal as the landing page, keeping a valid room (and a pasted invite link) in the form. */
  const refusedPage = (error: unknown, request: Request, server: Server<unknown> | null, room?: unknown, invite?: unknown) => {
    const refusal = refusalOf(error);
    if (!refusal) return internalError(error);
    const pasted = typeof invite === "string" ? invite : undefined;
    return landing(refusal.status, { owner: isOwner(request, server), room: isRoomName(room) ? room : undefined, invite: pasted, error: refusal.message });
  };

  return { instance, isOwner, landing, roomPage, refusedPage };
}

export type PageViews = ReturnType<typeof pageViews>;

/** The fields of a posted form, the first of each as a browser sends one. */
export function formFields(...names: string[]) {
  return (text: string): Record<string, string | undefined> => {
    const form = new URLSearchParams(text);
    return Object.fromEntries(names.map((name) => [name, form.get(name) ?? undefined]));
  };
}

export const FORM = "application/x-www-form-urlencoded";
export const WRONG_FORM = "The form must be sent as application/x-www-form-urlencoded.";

export const seeOther = (location: string, headers: Record<string, string> = {}) => new Response(null, { status: 303, headers: { location, ...headers } });

/** How a typed room name that is not one was turned into one, in words for the form. */
export const madeValid = (typed: string, name: string) =>
  `Room names use lowercase letters, digits, '-', '_' and '.', so '${typed.length > 64 ? `${typed.slice(0, 63)}…` : typed}' becomes '${name}'.`;
