/** Small pieces every HTTP endpoint of an instance shares (routes, the HTTP tier, the WebSocket server): one HTTP helper module. */

/** The contract's refusal: a status and `{"error": "<one human sentence>"}`. */
export function jsonError(status: number, error: string, headers?: Record<string, string>): Response {
  return Response.json({ error }, { status, headers });
}

/** 405 naming the one method the path takes. */
export function methodNotAllowed(method: string): Response {
  return jsonError(405, `use ${method} here`, { allow: method });
}

/** A request body that broke off or was malformed on the wire (bad chunked framing, a closed connection). */
export class BodyReadError extends Error {
  override name = "BodyReadError";
  constructor(cause: unknown) {
    super("the request body could not be read", { cause });
  }
}

/** Broken bodies are logged one line each, and at most once a second, so a client cannot flood the log with them. */
let lastBodyLog = 0;
let unloggedBodies = 0;
function logBrokenBody(request: Request, cause: unknown): void {
  const now = Date.now();
  if (now - lastBodyLog < 1000) return void unloggedBodies++;
  const more = unloggedBodies > 0 ? ` (and ${unloggedBodies} more since the last such line)` : "";
  lastBodyLog = now;
  unloggedBodies = 0;
  const path = URL.canParse(request.url) ? new URL(request.url).pathname : request.url;
  console.error(`e-goat: ${request.method} ${path}: the request body could not be read: ${(cause as Error)?.message ?? String(cause)}${more}`);
}

/**
 * The body's bytes, or undefined once it passes `maxBytes` (whatever Content-Length claims). Throws BodyReadError
 * (logged in one line) when the body breaks off or its framing is bad.
 */
export async function readBody(request: Request, maxBytes: number): Promise<Uint8Array | undefined> {
  const declared = request.headers.get("content-length");
  if (Number(declared ?? 0) > maxBytes) return undefined;
  if (!request.body) return new Uint8Array(0);
  try {
    // With a Content-Length the server already holds the body to it, and one read is much faster than a chunk loop.
    if (declared !== null) return new Uint8Array(await request.arrayBuffer());
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of request.body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.byteLength;
      if (size > maxBytes) return undefined;
      chunks.push(chunk);
    }
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  } catch (error) {
    logBrokenBody(request, error);
    throw new BodyReadError(error);
  }
}

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

/** An HTML page or fragment. */
export function htmlResponse(body: string, status = 200): Response {
  return new Response(body, { status, headers: { "content-type": "text/html; charset=utf-8" } });
}

/** A fault of this instance: logged, and answered 500 without its details. */
export function internalError(error: unknown): Response {
  console.error("request failed:", error);
  return jsonError(500, "internal error; see the instance's log");
}
