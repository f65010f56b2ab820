import type { Server } from "bun";
import { RateLimiter, type RateLimitInit } from "../rate-limit.ts";

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

export function jsonError(status: number, error: string): Response {
  return Response.json({ error }, { status });
}

/** Reads a request body as text, refusing (413) once it passes `maxBytes`, whatever Content-Length claims. */
export async function readBody(request: Request, maxBytes: number): Promise<string> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > maxBytes) throw new HttpError(413, `request body is over ${maxBytes / 1024} KiB`);
  if (!request.body) return "";
  // With a Content-Length the server already bounds the body, and one read is much faster than a chunk loop.
  if (request.headers.has("content-length")) return request.text();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of request.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > maxBytes) throw new HttpError(413, `request body is over ${maxBytes / 1024} KiB`);
    chunks.push(chunk);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}

/** A whole number from a query parameter, or `fallback` when absent; 400 when present but not in [min, max]. */
export function intParam(raw: string | null | undefined, name: string, fallback: number, min: number, max: number): number {
  if (raw === null || raw === undefined || raw === "") return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) throw new HttpError(400, `${name} must be a whole number from ${min} to ${max}`);
  return Number(raw);
}

/** True for requests from this machine: the user's own browser and scripts, exempt from guest rate limits. */
export function isLoopback(ip: string | undefined): boolean {
  return ip !== undefined && (ip.startsWith("127.") || ip === "::1" || ip.startsWith("::ffff:127."));
}

/** The message rate of clients on other machines (invited guests), one budget per address across every route. */
export class GuestLimit {
  readonly #limiter: RateLimiter;

  constructor(init: RateLimitInit = { perSecond: 10, burst: 50 }) {
    this.#limiter = new RateLimiter(init);
  }

  /** Throws HttpError 429 when the request comes from another machine that is over its rate. */
  check(request: Request, server: Server<unknown> | null | undefined): void {
    const ip = server?.requestIP(request)?.address;
    if (!isLoopback(ip) && !this.#limiter.take(ip ?? "unknown")) throw new HttpError(429, "too many messages; slow down");
  }
}
