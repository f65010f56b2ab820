/** Small pieces every HTTP endpoint of an instance shares (routes, the HTTP tier, the WebSocket server). */

/** The contract's refusal: a status and `{"error": "<one human sentence>"}`. */
export function jsonError(status: number, error: string, headers?: Record<string, string>): Response {
  return Response.json({ error }, { status, headers });
}

/** 405 naming the one method the path takes. */
export function methodNotAllowed(method: string): Response {
  return jsonError(405, `use ${method} here`, { allow: method });
}

/** The body's bytes, or undefined once it passes `maxBytes` (whatever Content-Length claims). */
export async function readBody(request: Request, maxBytes: number): Promise<Uint8Array | undefined> {
  const declared = request.headers.get("content-length");
  if (Number(declared ?? 0) > maxBytes) return undefined;
  if (!request.body) return new Uint8Array(0);
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
}
