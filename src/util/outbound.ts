/**
 * Requests to addresses that came from outside (a `--peer` URL, an invite, a peer's advertised address, a router's
 * description): a redirect is never followed, since it would let whoever answers choose what this instance requests
 * (its own loopback as the owner, a service inside the network), and no answer is read past a size cap.
 */

/** The far end answered with a redirect, which is not followed. */
export class RedirectRefusedError extends Error {
  override name = "RedirectRefusedError";
}

/** The far end's answer is over the size this request reads. */
export class ResponseTooLargeError extends Error {
  override name = "ResponseTooLargeError";
}

/** The HTTP client used, global `fetch` unless a test passes another. */
export type Fetch = (url: string, init: RequestInit) => Promise<Response>;

/** An answer read whole within its cap. */
export interface BoundedAnswer {
  status: number;
  ok: boolean;
  headers: Headers;
  body: Uint8Array;
}

/** `init` with redirects left to the caller: the answer is the 3xx itself, which `refuseRedirect` turns into an error. */
export const NO_REDIRECTS = { redirect: "manual" } as const satisfies RequestInit;

/** Throws RedirectRefusedError for a 3xx answer (its body left unread). */
export async function refuseRedirect(url: string, res: Response): Promise<void> {
  if (res.status < 300 || res.status > 399) return;
  await res.body?.cancel().catch(() => {});
  const to = res.headers.get("location");
  throw new RedirectRefusedError(`${url} answered ${res.status}${to ? ` (to ${to.slice(0, 200)})` : ""}; redirects are not followed`);
}

/** The body, read up to `maxBytes`; past that the rest is not read (the connection is given up) and this throws. */
export async function readLimited(url: string, res: Response, maxBytes: number): Promise<Uint8Array> {
  const tooLarge = () => new ResponseTooLargeError(`${url} answered with over ${maxBytes} bytes`);
  if (Number(res.headers.get("content-length") ?? 0) > maxBytes) {
    await res.body?.cancel().catch(() => {});
    throw tooLarge();
  }
  if (!res.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = res.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) throw tooLarge();
      chunks.push(value);
    }
  } catch (error) {
    await reader.cancel().catch(() => {});
    throw error;
  } finally {
    reader.releaseLock();
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

/** One request to an address from outside: no redirect followed, at most `maxBytes` of answer read. */
export async function fetchOutside(url: string, init: RequestInit, maxBytes: number, fetcher: Fetch = fetch): Promise<BoundedAnswer> {
  const res = await fetcher(url, { ...init, ...NO_REDIRECTS });
  await refuseRedirect(url, res);
  const body = await readLimited(url, res, maxBytes);
  return { status: res.status, ok: res.ok, headers: res.headers, body };
}

/** A bounded answer's body as JSON; throws a SyntaxError when it is none. */
export function jsonOf(answer: BoundedAnswer): unknown {
  return JSON.parse(new TextDecoder().decode(answer.body));
}
