import { Elysia } from "elysia";
import { DISPLAY_NAME_RULE, isDisplayName, isRoomName, MAX_TEXT_BYTES, ROOM_RULE } from "../domain/names.ts";
import { RoomLimitError } from "../node.ts";
import { HttpError, intParam, readBody, type GuestLimit } from "./http.ts";
import type { AppOptions } from "./options.ts";

export const MAX_SEND_BODY_BYTES = 64 * 1024;
export const MAX_HISTORY_LIMIT = 1000;
export const MAX_WAIT_SECONDS = 30;

export interface SendInput {
  room: string;
  peer_id: string;
  text: string;
}

/** Checks a message as any client gives it (JSON or form); throws HttpError 400/413 naming the first problem. */
export function checkSend(body: Record<string, unknown>, defaultPeerId: string): SendInput {
  const { room, peer_id } = body;
  // Line ends are stored as "\n" alone: forms send "\r\n", and an SSE data line cannot carry a bare "\r".
  const text = typeof body.text === "string" ? body.text.replace(/\r\n?/g, "\n") : body.text;
  if (room === undefined || room === null || room === "") throw new HttpError(400, "room is required");
  if (!isRoomName(room)) throw new HttpError(400, `room must be ${ROOM_RULE}`);
  if (typeof text !== "string" || text.trim() === "") throw new HttpError(400, "text is required and must not be empty");
  if (Buffer.byteLength(text) > MAX_TEXT_BYTES) throw new HttpError(413, `text is over ${MAX_TEXT_BYTES / 1024} KiB`);
  if (peer_id !== undefined && peer_id !== null && peer_id !== "" && !isDisplayName(peer_id)) {
    throw new HttpError(400, `peer_id must be ${DISPLAY_NAME_RULE}`);
  }
  return { room, text, peer_id: typeof peer_id === "string" && peer_id !== "" ? peer_id : defaultPeerId };
}

/** The JSON API of the contract: /send, /history, /peers, /healthz. */
export function apiRoutes(opts: AppOptions, guests: GuestLimit) {
  const { node } = opts;
  const maxWaiting = opts.maxWaiting ?? 1000;
  let waiting = 0;

  return new Elysia({ name: "api" })
    .post(
      "/send",
      async ({ request, server }) => {
        const type = request.headers.get("content-type") ?? "";
        if (!/^application\/json\s*(;|$)/i.test(type)) throw new HttpError(415, "Content-Type must be application/json");
        guests.check(request, server);
        const raw = await readBody(request, MAX_SEND_BODY_BYTES);
        let body: unknown;
        try {
          body = JSON.parse(raw);
        } catch {
          throw new HttpError(400, "body is not valid JSON");
        }
        if (typeof body !== "object" || body === null || Array.isArray(body)) throw new HttpError(400, "body must be a JSON object");
        const input = checkSend(body as Record<string, unknown>, node.name);
        try {
          const message = node.post(input);
          return { id: message.id, timestamp: message.timestamp };
        } catch (err) {
          if (err instanceof RoomLimitError) throw new HttpError(403, err.message);
          throw err;
        }
      },
      { parse: "none" },
    )
    .get("/history", async ({ request, server }) => {
      const params = new URL(request.url).searchParams;
      const room = params.get("room");
      if (!room) throw new HttpError(400, "room is required");
      if (!isRoomName(room)) throw new HttpError(400, `room must be ${ROOM_RULE}`);
      const since = intParam(params.get("since"), "since", 0, 0, Number.MAX_SAFE_INTEGER);
      const limit = intParam(params.get("limit"), "limit", MAX_HISTORY_LIMIT, 1, MAX_HISTORY_LIMIT);
      const wait = intParam(params.get("wait"), "wait", 0, 0, MAX_WAIT_SECONDS);
      if (wait === 0) return node.history(room, since, limit);
      if (waiting >= maxWaiting) throw new HttpError(429, "too many requests are waiting; try again later");
      server?.timeout(request, wait + 10);
      waiting++;
      try {
        return await node.waitForHistory(room, since, limit, wait * 1000, request.signal);
      } finally {
        waiting--;
      }
    })
    .get("/peers", () => node.peers())
    .get("/healthz", () => ({ ok: true, node_id: node.id, name: node.name, version: opts.version }));
}
