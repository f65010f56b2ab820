import { Elysia, t, type Static } from "elysia";
import { MAX_TEXT_LENGTH } from "../domain/names.ts";
import { inviteUrl, newRoomKey } from "../domain/rooms.ts";
import type { Node } from "../node.ts";
import { RoomConflictError } from "../rooms/rooms.ts";
import type { Message } from "../storage/index.ts";
import type { RoomAccess } from "./access.ts";
import { ClientBudget } from "./budgets.ts";
import { messageBodyParser, type GuestLimit } from "./refusals.ts";
import { HttpError, jsonObject } from "../util/http.ts";
import type { AppOptions } from "./options.ts";
import { mailboxPage } from "./mailbox-page.tsx";
import { KeyField, PeerIdField, RoomField, TextField, wholeNumber } from "./schemas.ts";

export const MAX_SEND_BODY_BYTES = 64 * 1024;
export const MAX_HISTORY_LIMIT = 1000;
export const MAX_WAIT_SECONDS = 30;

/** What a message body holds, posted as JSON or from the page's form (which names the room in its path). */
export const MessageFields = t.Object({ text: TextField, peer_id: PeerIdField });

export interface SendInput {
  room: string;
  peer_id: string;
  text: string;
}

/** The message a checked body asks to post; throws HttpError 413 when its text is over MAX_TEXT_LENGTH characters. */
export function sendInput(room: string, fields: Static<typeof MessageFields>, defaultPeerId: string): SendInput {
  // Line ends are stored as "\n" alone: forms send "\r\n", and an SSE data line cannot carry a bare "\r".
  const text = fields.text.replace(/\r\n?/g, "\n");
  if (text.length > MAX_TEXT_LENGTH) throw new HttpError(413, `the message is over ${MAX_TEXT_LENGTH} characters (it has ${text.length})`);
  return { room, text, peer_id: fields.peer_id || defaultPeerId };
}

/** Joins a new room here: private (with a fresh key) unless asked for an open one. */
export function createRoom(node: Node, name: string, isPrivate: boolean) {
  try {
    return node.join(name, isPrivate ? newRoomKey() : null);
  } catch (error) {
    if (error instanceof RoomConflictError) throw new HttpError(409, error.message);
    throw error;
  }
}

/** Messages as /history shows them: each file with the bytes of it held here (`have`). */
function withHeldFiles(node: Node, messages: Message[]) {
  return messages.map((m) => (m.files ? { ...m, files: node.files.held(m.files, m.room) } : m));
}

/** The JSON API of the contract: /send, /history, /peers, /rooms, /healthz (whose `name` is the display name, never the host's). */
export function apiRoutes(opts: AppOptions, guests: GuestLimit, access: RoomAccess) {
  const { node } = opts;
  const waiting = new ClientBudget("waiting /history requests", opts.maxWaiting, opts.guestWaiting);

  return new Elysia({ name: "api" })
    .post(
      "/send",
      ({ body, request, server }) => {
        // A guest may send only into a room it has the capability of; the owner's unknown room is created, open.
        access.room(request, server, body.room, body.key);
        const owner = access.client(request, server).owner;
        const message = node.post({ ...sendInput(body.room, body, node.name), guest: !owner, guestId: owner ? undefined : access.guestId(request) });
        return { id: message.id, timestamp: message.timestamp };
      },
      {
        parse: messageBodyParser({
          type: "application/json",
          wrongType: "Content-Type must be application/json",
          maxBytes: MAX_SEND_BODY_BYTES,
          guests,
          decode: jsonObject,
        }),
        body: t.Object({ room: RoomField, key: KeyField, ...MessageFields.properties }),
      },
    )
    .get(
      "/history",
      async ({ query: { room, key, since, limit, wait }, request, server }) => {
        access.room(request, server, room, key);
        if (wait === 0) return withHeldFiles(node, node.history(room, since, limit));
        const release = waiting.take(access.client(request, server)); // the owner's budget is its own
        try {
          server?.timeout(request, wait + 10);
          return withHeldFiles(node, await node.waitForHistory(room, since, limit, wait * 1000, request.signal));
        } finally {
          release();
        }
      },
      {
        query: t.Object({
          room: RoomField,
          key: KeyField,
          since: wholeNumber("since", { default: 0 }),
          limit: wholeNumber("limit", { minimum: 1, maximum: MAX_HISTORY_LIMIT, default: MAX_HISTORY_LIMIT }),
          wait: wholeNumber("wait", { maximum: MAX_WAIT_SECONDS, default: 0 }),
        }),
      },
    )
    .get(
      "/peers",
      ({ query, request, server }) => {
        access.ownerOnly(request, server, "the list of linked instances");
        return node.peers({ log: query.log === "1" });
      },
      { query: t.Object({ log: t.Optional(t.Union([t.Literal("0"), t.Literal("1")], { error: "log must be 0 or 1" })) }) },
    )
    .get("/rooms", ({ request, server }) => {
      access.ownerOnly(request, server, "the list of rooms");
      return node.activity().map((r) => ({ room: r.name, private: r.private, unread: r.unread }));
    })
    .post(
      "/rooms",
      ({ body, request, server }) => {
        access.ownerOnly(request, server, "creating rooms");
        if (node.room(body.name)) throw new HttpError(409, `a room named '${body.name}' is already joined here`);
        const room = createRoom(node, body.name, body.private ?? true);
        return { room: room.name, ...(room.key ? { key: room.key } : {}), invite: inviteUrl(opts.reach.publicUrl(), room, node.id, opts.reach.rendezvous()) };
      },
      {
        parse: messageBodyParser({ type: "application/json", wrongType: "Content-Type must be application/json", maxBytes: 4096, guests, decode: jsonObject }),
        body: t.Object({ name: RoomField, private: t.Optional(t.Boolean({ error: "private must be true or false" })) }),
      },
    )
    .get("/devices", ({ request, server }) => {
      access.ownerOnly(request, server, "the list of this person's devices");
      const peers = new Map(node.peers().map((p) => [p.node_id, p]));
      return node.person.devices().map((id) => {
        const peer = peers.get(id);
        const self = id === node.id;
        return { node_id: id, name: self ? node.name : (peer?.name ?? node.instanceName(id) ?? null), this: self, online: self || peer?.state === "connected", last_seen: self ? null : (peer?.last_seen ?? null) };
      });
    })
    .get("/mailbox", ({ request, server }) => {
      access.ownerOnly(request, server, "what this mailbox keeps");
      const mailbox = opts.mailbox;
      if (!mailbox) throw new HttpError(404, "this instance keeps no mailbox (start it with --mailbox)");
      // A browser gets the mailbox's page (routes/mailbox-page.tsx); a script, its figures.
      if (request.headers.get("accept")?.includes("text/html")) return mailboxPage(opts, mailbox);
      const stats = mailbox.stats();
      return { topics: stats.topics, items: stats.items, bytes: stats.bytes, oldest: stats.oldest, max_bytes: stats.maxBytes };
    })
    .get("/healthz", () => ({ ok: true, node_id: node.id, name: node.name, version: opts.version }));
}
