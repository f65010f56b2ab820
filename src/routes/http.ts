import type { Server } from "bun";
import { ParseError, ValidationError } from "elysia";
import { NonceTakenError } from "../rooms/chat.ts";
import { DisplayNameError } from "../rooms/people.ts";
import { RoomConflictError, RoomLimitError } from "../rooms/rooms.ts";
import { jsonError, readBody } from "../util/http.ts";
import type { GuestLimit } from "./budgets.ts";

/** A refusal with a status and one human sentence; `onError` turns it into `{"error": …}`. */
export class HttpError extends Error {
  override name = "HttpError";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Reads a request body as text, refusing (413) once it passes `maxBytes`, whatever Content-Length claims. */
export async function readText(request: Request, maxBytes: number): Promise<string> {
  const body = await readBody(request, maxBytes);
  if (!body) throw new HttpError(413, `request body is over ${maxBytes / 1024} KiB`);
  return new TextDecoder().decode(body);
}

/** The guests' message rate, which `messageBodyParser` checks (it lives with the other budgets in budgets.ts). */
export type { GuestLimit };

export interface MessageBodyInit {
  /** The one media type taken, e.g. "application/json"; any other is refused with 415 and `wrongType`. */
  type: string;
  wrongType: string;
  maxBytes: number;
  guests: GuestLimit;
  /** The body's text as the route's body schema checks it; throws HttpError when it cannot. */
  decode: (text: string) => unknown;
}

/**
 * An Elysia `parse` hook for a posted message: 415 for another media type, 429 for a guest over its rate, 413 past
 * `maxBytes`, all before any of it is parsed. Elysia wraps what it throws in a ParseError; `refusalOf` unwraps it.
 */
export function messageBodyParser({ type, wrongType, maxBytes, guests, decode }: MessageBodyInit) {
  return async ({ request, server }: { request: Request; server: Server<unknown> | null }) => {
    const given = request.headers.get("content-type")?.split(";")[0]?.trim().toLowerCase();
    if (given !== type) throw new HttpError(415, wrongType);
    guests.check(request, server);
    return decode(await readText(request, maxBytes));
  };
}

/**
 * What a failed request is refused with: an HttpError as thrown (also while its body was read), a schema's own sentence
 * as 400, 403 for a room past the limit, 409 for a room in conflict or left; undefined for a fault of this instance.
 */
export function refusalOf(error: unknown): HttpError | undefined {
  if (error instanceof HttpError) return error;
  if (error instanceof RoomLimitError) return new HttpError(403, error.message);
  // A room of that name here with another key, or left; a send's nonce used in another room.
  if (error instanceof RoomConflictError || error instanceof NonceTakenError) return new HttpError(409, error.message);
  if (error instanceof DisplayNameError) return new HttpError(400, error.message);
  if (error instanceof ParseError) return error.cause instanceof HttpError ? error.cause : new HttpError(400, "the request body could not be read");
  if (error instanceof ValidationError) {
    return new HttpError(400, typeof error.customError === "string" ? error.customError : "the request is not valid");
  }
  return undefined;
}

/** A fault of this instance: logged, and answered 500 without its details. */
export function internalError(error: unknown): Response {
  console.error("request failed:", error);
  return jsonError(500, "internal error; see the instance's log");
}

export function htmlResponse(body: string, status = 200): Response {
  return new Response(body, { status, headers: { "content-type": "text/html; charset=utf-8" } });
}

/** A request body that must be a JSON object: the object, or 400 saying what it is instead. */
export function jsonObject(text: string): unknown {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new HttpError(400, "body is not valid JSON");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new HttpError(400, "body must be a JSON object");
  return body;
}
