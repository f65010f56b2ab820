/**
 * Which `Host` this instance answers (DNS rebinding): an IP literal, or a name that means this machine. The HTTP
 * guard (src/routes/guard.ts) and the `--ws-port` server (src/ws-port.ts) apply the same check.
 */
import { isIPv4, isIPv6 } from "node:net";
import { hostname } from "node:os";

export interface HostOptions {
  /** DNS names that reach this machine (`--public-host`), accepted in `Host`. */
  publicHosts?: readonly string[];
  /** This machine's host name. @default os.hostname() */
  hostName?: string;
}

/** The host part of a `Host` header (lowercase, no port, no trailing dot; an IPv6 literal keeps its brackets), or undefined. */
export function hostOf(header: string | undefined): string | undefined {
  const m = header === undefined ? null : /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/i.exec(header.trim());
  if (!m || (m[2] !== undefined && Number(m[2]) > 65535)) return undefined;
  return m[1]!.toLowerCase().replace(/\.$/, "");
}

/** The names besides IP literals that mean this machine: localhost, its host name (short and `.local`), `--public-host` names. */
function namesOfThisMachine(opts: HostOptions): Set<string> {
  const names = new Set(["localhost"]);
  const full = (opts.hostName ?? hostname()).toLowerCase().replace(/\.$/, "");
  if (full !== "") {
    const short = full.split(".")[0]!;
    for (const name of [full, short]) names.add(name).add(`${name}.local`);
  }
  for (const name of opts.publicHosts ?? []) names.add(name.toLowerCase().replace(/\.$/, ""));
  return names;
}

function isIpLiteral(host: string): boolean {
  return isIPv4(host) || (host.startsWith("[") && host.endsWith("]") && isIPv6(host.slice(1, -1)));
}

/** Whether a `Host` header names this machine; the names are read once, here. */
export function hostAllowlist(opts: HostOptions): (header: string | undefined) => boolean {
  const names = namesOfThisMachine(opts);
  return (header) => {
    const host = hostOf(header);
    return host !== undefined && (isIpLiteral(host) || names.has(host));
  };
}

/** The `Host` a request was sent with: the header, or for a request made in-process its URL's host. */
export function hostHeader(request: Request): string | undefined {
  return request.headers.get("host") ?? (URL.canParse(request.url) ? new URL(request.url).host : undefined);
}

/** The refusal of a request whose `Host` names no address of this machine. */
export const WRONG_HOST = "this instance answers only requests addressed to it by its own address or name (see --public-host)";

/**
 * Why a request made by a browser page is refused on an endpoint only instances use (`/link`, `/signal`,
 * `/mesh/http/`); undefined for any other client. A browser marks every request a page makes, WebSocket upgrades
 * included, with `Origin` or `Sec-Fetch-*`, which no page can leave out; instances send neither.
 */
export function browserRefusal(request: Request): string | undefined {
  const marked = ["origin", "sec-fetch-site", "sec-fetch-mode", "sec-fetch-dest"].some((name) => request.headers.has(name));
  return marked ? "this endpoint is for other instances, not for web pages" : undefined;
}
