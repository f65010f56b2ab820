/** @jsxImportSource @kitajs/html */
import { Elysia, t } from "elysia";
import type { Message } from "../storage/index.ts";
import { FileItem } from "../views/file.tsx";
import { MessageItem } from "../views/message.tsx";
import { RoomList } from "../views/rooms.tsx";
import type { RoomAccess } from "./access.ts";
import { ClientBudget } from "./budgets.ts";
import type { AppOptions } from "./options.ts";
import { messageView } from "./fragments.tsx";
import { PresenceFeed } from "./presence-feed.tsx";
import { PageName, RoomField, wholeNumber } from "./schemas.ts";

const REPLAY_PAGE = 500;
/** A named event (not a comment) so the page can tell a stream that went quiet from one that is alive. */
const HEARTBEAT_MS = 5000;
/** The owner's room list goes out at most this often per stream, however many messages come. */
const ROOMS_UPDATE_MS = 250;
/** A client that falls this far behind is cut off; it reconnects with Last-Event-ID and misses nothing. */
const MAX_QUEUED_BYTES = 4 * 1024 * 1024;
/** Files whose state changed this recently are sent to a stream as it opens (its page may predate the change). */
const FILE_RECENT_MS = 15_000;
/** A file's progress goes out at most this often per stream, however fast its chunks come. */
const FILE_UPDATE_MS = 250;
/** The members (and the owner's linked instances) go out this long after they change, at most. */
const PRESENCE_UPDATE_MS = 250;

/**
 * One SSE event: one `data:` line per line of the payload (so HTML keeps its newlines) and an `id:` line, unless it
 * has no id (a file's progress: a reconnect resumes after the last message, and shows files as they are then).
 */
export function sseEvent(id: number | string | null, data: string, event?: string): string {
  const lines = data.split(/\r\n|\r|\n/).map((line) => `data: ${line}\n`);
  return `${event ? `event: ${event}\n` : ""}${id === null ? "" : `id: ${id}\n`}${lines.join("")}\n`;
}

/** What a stream takes: its room, and where to resume (`Last-Event-ID`, sent on a reconnect, wins over `since`). */
const streamInput = {
  params: t.Object({ room: RoomField }),
  query: t.Object({ since: wholeNumber("since", { default: 0 }), peer_id: PageName }),
  headers: t.Object({ "last-event-id": t.Optional(wholeNumber("Last-Event-ID")) }),
};

/**
 * `GET /rooms/:room/events`: the room's new messages as rendered HTML, resuming after `Last-Event-ID` (or `since`);
 * named events beside them: `file` (a file's progress), `delivered` (how far this instance's messages got, JSON
 * `{seq, members}`), `rooms` (the owner's room list, with unread counts), `members` (the members panel, whenever who
 * is there changes), `peers` (the owner's linked instances) and `alive` (every 5 s).
 */
export function eventRoutes(opts: AppOptions, access: RoomAccess) {
  const { node } = opts;
  const streams = new ClientBudget("live streams", opts.maxStreams, opts.guestStreams);
  const presence = new PresenceFeed(node);

  return new Elysia({ name: "events" }).get("/rooms/:room/events", ({ params: { room }, query, headers, request, server }) => {
    // A guest streams only a room it has the capability of (the key from its cookie); the owner any room.
    access.room(request, server, room);
    const since = headers["last-event-id"] ?? query.since;
    // Each client streams from its own budget, so no guest, nor all of them together, can shut the owner out.
    const client = access.client(request, server);
    const release = streams.take(client);
    const view = messageView(node, room, client.owner, query.peer_id ?? "", access.guestId(request));

    let send: (m: Message) => void = () => {};
    const encoder = new TextEncoder();
    let last = since;
    let replaying = true;
    let stopped = false;
    let stop = () => {};
    const stream = new ReadableStream<Uint8Array>(
      {
        start(controller) {
          const write = (chunk: string) => {
            if (stopped) return;
            controller.enqueue(encoder.encode(chunk));
            if ((controller.desiredSize ?? 0) < -MAX_QUEUED_BYTES) {
              stop();
              controller.close();
            }
          };
          send = (m: Message) => {
            last = m.timestamp;
            write(sseEvent(m.timestamp, String(<MessageItem message={m} view={view} />)));
          };
          // Files of the room whose progress changed since the last update: each goes out as it is at the next one. Those
          // that changed lately go out at once: the page may have been drawn before their last change.
          const changed = new Set<string>(node.files.changedSince(Date.now() - FILE_RECENT_MS));
          let fileTimer: ReturnType<typeof setTimeout> | undefined = changed.size > 0 ? setTimeout(() => sendFiles(), FILE_UPDATE_MS) : undefined;
          const sendFiles = () => {
            fileTimer = undefined;
            for (const id of changed) {
              const file = node.files.refIn(id, room);
              if (file) write(sseEvent(null, String(<FileItem file={file} room={room} state={view.files(file)} />), "file"));
            }
            changed.clear();
          };
          const unwatchFiles = node.files.onProgress((id) => {
            changed.add(id);
            fileTimer ??= setTimeout(sendFiles, FILE_UPDATE_MS);
          });
          // Who is in the room (and the owner's linked instances), sent as the panels the page shows, when they change.
          let members = "";
          let peers = "";
          let presenceTimer: ReturnType<typeof setTimeout> | undefined;
          const sendPresence = () => {
            presenceTimer = undefined;
            const m = presence.members(room, client.owner);
            if (m !== members) write(sseEvent(null, (members = m), "members"));
            if (!client.owner) return;
            const p = presence.peers();
            if (p !== peers) write(sseEvent(null, (peers = p), "peers"));
          };
          const presenceSoon = () => {
            presenceTimer ??= setTimeout(sendPresence, PRESENCE_UPDATE_MS);
          };
          const unwatchPresence = node.presence.onChange(presenceSoon);
          const unwatchMailboxes = client.owner ? node.onMailboxChange(presenceSoon) : () => {};
          const unsubscribe = node.onMessage((m) => {
            if (m.room === room) presenceSoon(); // a new author shows among the members
            // While replaying, a later history page picks the message up instead.
            if (!replaying && m.room === room && m.timestamp > last) send(m);
          });
          // How far this instance's messages got: sent now (a reconnect may have missed changes), then as it changes.
          let delivered = "";
          const sendDelivered = () => {
            const now = JSON.stringify(node.delivered(room));
            if (now !== delivered) write(sseEvent(null, (delivered = now), "delivered"));
          };
          const unwatchDelivery = node.onDelivery((r) => {
            if (r === room) sendDelivered();
          });
          // The owner's room list, with what is unread in each room, whenever a room's news changes.
          let roomsTimer: ReturnType<typeof setTimeout> | undefined;
          const sendRooms = () => {
            roomsTimer = undefined;
            write(sseEvent(null, String(<RoomList rooms={node.activity()} current={room} writeAs={view.reader.writeAs} />), "rooms"));
          };
          const unwatchRooms = client.owner
            ? node.onActivity(() => {
                roomsTimer ??= setTimeout(sendRooms, ROOMS_UPDATE_MS);
              })
            : () => {};
          const heartbeat = setInterval(() => {
            write("event: alive\ndata:\n\n");
            // Presence also changes with time alone: one dialled for 15 s without a link is offline.
            sendPresence();
          }, HEARTBEAT_MS);
          stop = () => {
            if (stopped) return;
            stopped = true;
            release();
            unsubscribe();
            unwatchFiles();
            unwatchDelivery();
            unwatchRooms();
            unwatchPresence();
            unwatchMailboxes();
            clearTimeout(presenceTimer);
            clearTimeout(fileTimer);
            clearTimeout(roomsTimer);
            clearInterval(heartbeat);
          };
          request.signal.addEventListener("abort", () => stop(), { once: true });
          if (request.signal.aborted) stop();
          write(": connected\n\n");
          sendDelivered();
          if (client.owner) sendRooms();
          sendPresence();
        },
        // History is replayed a page at a time as the client reads, then live messages follow.
        pull() {
          if (!replaying || stopped) return;
          try {
            const page = node.history(room, last, REPLAY_PAGE);
            for (const m of page) send(m);
            if (page.length < REPLAY_PAGE) replaying = false;
          } catch (error) {
            stop(); // the stream errors with it, and its budget is given back
            throw error;
          }
        },
        cancel() {
          stop();
        },
      },
      { highWaterMark: 64 * 1024, size: (chunk) => chunk?.byteLength ?? 0 },
    );
    return new Response(stream, {
      headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", "x-accel-buffering": "no" },
    });
  }, streamInput);
}
