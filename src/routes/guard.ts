/**
 * The HTTP guard, in front of every route (the contract's last three rules of "Rooms, keys and guests"):
 * - a request whose `Host` names no address of this machine is refused before any route runs (DNS rebinding);
 * - a request that changes state and comes from a page of another origin is refused (cross-site writes);
 * - every response carries the security headers (CSP, frame, nosniff, referrer, cross-origin isolation).
 */
import { Elysia } from "elysia";
import { hostAllowlist, hostHeader, hostOf, WRONG_HOST, type HostOptions } from "../domain/hosts.ts";
import { jsonError } from "../util/http.ts";

/**
 * The page's scripts and styles are its own files (/assets/*), so nothing inline and nothing evaluated is needed:
 * htmx 4 evaluates only `hx-on:*`, `js:` values and trigger filters, none of which the page uses. `img-src data:` is
 * for the page's `data:,` favicon; the invite's QR code is inline SVG markup, which needs no source.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "object-src 'none'",
].join("; ");

/** On every response; a route that sets one of them itself (a stricter CSP for a file, say) keeps its own. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
};

/** DNS names that reach this machine (`--public-host`) and its host name: the `Host`s answered (src/domain/hosts.ts). */
export type GuardOptions = HostOptions;
export { hostOf };

/** This request's own origin, `http://host:port` as its `Host` names it; undefined when that is no origin at all. */
function ownOrigin(request: Request): string | undefined {
  const host = hostHeader(request);
  const protocol = URL.canParse(request.url) ? new URL(request.url).protocol : "http:";
  return host !== undefined && URL.canParse(`${protocol}//${host}`) ? new URL(`${protocol}//${host}`).origin : undefined;
}

/**
 * Why a state-changing request must be refused as coming from a page of another origin; undefined when it may go on.
 * `Sec-Fetch-Site` (set by the browser alone) decides when present; otherwise `Origin`, when present, must be this
 * request's own. `Origin: null` is refused, except with `Sec-Fetch-Site: same-origin` or `none`: under this instance's
 * `Referrer-Policy: no-referrer` a browser sends `Origin: null` with the page's own form posts.
 */
export function crossSiteRefusal(request: Request): string | undefined {
  const site = request.headers.get("sec-fetch-site");
  // `same-site` is another port or subdomain of this host: another origin, as untrusted as any other site.
  if (site !== null && site !== "same-origin" && site !== "none") return "requests from other sites may not change anything here";
  const origin = request.headers.get("origin");
  if (origin === null || (origin === "null" && site !== null)) return undefined;
  // `null` without Sec-Fetch-Site (a sandboxed frame or a redirect, in a browser that sends no Sec-Fetch-*) and
  // anything unparsable count as another origin.
  const given = origin !== "null" && URL.canParse(origin) ? new URL(origin).origin : undefined;
  if (given === undefined || given !== ownOrigin(request)) return "requests from other origins may not change anything here";
  return undefined;
}

/**
 * Whether a GET is the owner's own navigation in a browser (typed, a bookmark, Back, or a link on this instance's own
 * pages): `Sec-Fetch-Mode: navigate` from no site or this origin. An instance fetching its own loopback after a
 * redirect, curl or a script sends none of it; a page of another site sends `cross-site`. No GET joins or creates a
 * room (the page asks, and a POST does it): this only chooses the words of that page.
 */
export function isOwnersNavigation(request: Request): boolean {
  const site = request.headers.get("sec-fetch-site");
  return request.headers.get("sec-fetch-mode") === "navigate" && (site === "none" || site === "same-origin");
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** Mounted first by createApp: its request hook runs before routing, so it covers every route, 404s and errors alike. */
export function guard(opts: GuardOptions) {
  const isThisMachine = hostAllowlist(opts);
  return new Elysia()
    .onRequest(({ request, set }) => {
      Object.assign(set.headers, SECURITY_HEADERS);
      if (!isThisMachine(hostHeader(request))) return jsonError(403, WRONG_HOST);
      if (!SAFE_METHODS.has(request.method)) {
        const refusal = crossSiteRefusal(request);
        if (refusal) return jsonError(403, refusal);
      }
    })
    .as("global");
}
