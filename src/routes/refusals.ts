/** What a request to a route is refused with: the app's own errors as HTTP refusals, and a posted message's checks before its body is parsed. */
import type { Server } from "bun";
import { ParseError, ValidationError } from "elysia";
import { NonceTakenError } from "../rooms/chat.ts";
import { DisplayNameError } from "../rooms/people.ts";
import { RoomConflictError, RoomLimitError } from "../rooms/rooms.ts";
import { HttpError, readText } from "../util/http.ts";
import type { GuestLimit } from "./budgets.ts";

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

