/**
 * A UPnP Internet Gateway Device client: the router's description, then SOAP calls to its WANIPConnection service
 * (GetExternalIPAddress, AddAnyPortMapping, DeletePortMapping).
 *
 * Written here rather than taken from @achingbrain/nat-port-mapper: that one followed redirects from the router's
 * answers, POSTed to a control URL on any host the description named (this machine's own loopback included), read
 * answers of any size, searched anew on every interface once its description was an hour old, and handed on the
 * answers unchecked (a port of "abc" was advertised as `:NaN`). Here every request goes to the description's own host
 * and port, no redirect is followed, every answer is read within a cap and checked before it is used.
 */
import { isIPv4 } from "node:net";
import { fetchOutside, type BoundedAnswer } from "../../util/outbound.ts";

export const WAN_IP_CONNECTION = "urn:schemas-upnp-org:service:WANIPConnection:2";
/** A router's description or SOAP answer is a few KiB. */
const MAX_DESCRIPTION_BYTES = 64 * 1024;
const MAX_ANSWER_BYTES = 16 * 1024;

export class IgdError extends Error {
  override name = "IgdError";
}

/** The text of every element named `local` (in any namespace) that holds only text, entities decoded. */
export function elementTexts(xml: string, local: string): string[] {
  const tag = `(?:[A-Za-z_][\\w.-]*:)?${local}`;
  const re = new RegExp(`<${tag}(?:\\s[^>]*)?>([^<]*)</${tag}\\s*>`, "g");
  return [...xml.matchAll(re)].map((m) => decodeEntities(m[1]!.trim()));
}

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|lt|gt|amp|quot|apos);/gi, (_, e: string) => {
    const named: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };
    if (e[0] !== "#") return named[e.toLowerCase()]!;
    const code = e[1] === "x" || e[1] === "X" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
    return code <= 0x10ffff ? String.fromCodePoint(code) : "";
  });
}

const escapeXml = (text: string) => text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** Each `<service>` of a description, as its type and control and SCPD URLs (as written). */
export function servicesOf(xml: string): { type: string; control: string; scpd: string | undefined }[] {
  const out: { type: string; control: string; scpd: string | undefined }[] = [];
  // Split at each service's end: what follows the last service start in a piece is that service.
  for (const piece of xml.split(/<\/(?:[A-Za-z_][\w.-]*:)?service\s*>/)) {
    const starts = [...piece.matchAll(/<(?:[A-Za-z_][\w.-]*:)?service(?:\s[^>]*)?>/g)];
    const last = starts.at(-1);
    if (!last) continue;
    const body = piece.slice(last.index + last[0].length);
    const [type] = elementTexts(body, "serviceType");
    const [control] = elementTexts(body, "controlURL");
    if (type && control) out.push({ type, control, scpd: elementTexts(body, "SCPDURL")[0] });
  }
  return out;
}

/** A URL of the description, when it is on the description's own host and port; else an IgdError. */
function sameHost(url: string, location: URL, what: string): URL {
  const resolved = URL.canParse(url, location.href) ? new URL(url, location) : null;
  if (!resolved || resolved.protocol !== "http:" || resolved.host !== location.host) {
    throw new IgdError(`the router's ${what} ${JSON.stringify(url.slice(0, 200))} is not on ${location.host}, where its description is; not used`);
  }
  return resolved;
}

/** The router's WANIPConnection:2 control URL, from its description at `location`. */
export async function describeGateway(location: URL, signal: AbortSignal): Promise<URL> {
  const answer = await fetchOutside(location.href, { signal }, MAX_DESCRIPTION_BYTES);
  if (!answer.ok) throw new IgdError(`the router's description answered ${answer.status}`);
  const service = servicesOf(new TextDecoder().decode(answer.body)).find((s) => s.type === WAN_IP_CONNECTION);
  if (!service) throw new IgdError(`the router's description offers no ${WAN_IP_CONNECTION}`);
  if (service.scpd !== undefined) sameHost(service.scpd, location, "service description URL");
  return sameHost(service.control, location, "control URL");
}

/** One SOAP call to the control URL; resolves with the answer's text, or rejects with the router's error. */
async function soap(control: URL, action: string, args: [string, string | number][], signal: AbortSignal): Promise<string> {
  const body = `<?xml version="1.0"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body><u:${action} xmlns:u="${WAN_IP_CONNECTION}">${args
    .map(([name, value]) => `<${name}>${escapeXml(String(value))}</${name}>`)
    .join("")}</u:${action}></s:Body></s:Envelope>`;
  const answer: BoundedAnswer = await fetchOutside(
    control.href,
    { method: "POST", body, signal, headers: { "content-type": 'text/xml; charset="utf-8"', soapaction: `"${WAN_IP_CONNECTION}#${action}"` } },
    MAX_ANSWER_BYTES,
  );
  const text = new TextDecoder().decode(answer.body);
  if (answer.ok) return text;
  const [code] = elementTexts(text, "errorCode");
  const [description] = elementTexts(text, "errorDescription");
  throw new IgdError(`${action} refused: ${code ? `UPnP error ${code.slice(0, 8)}` : `HTTP ${answer.status}`}${description ? ` (${description.slice(0, 120)})` : ""}`);
}

/** The WANIPConnection service of one router, at the control URL its description gave. */
export class IgdClient {
  constructor(readonly control: URL) {}

  /** The router's public IPv4 address. */
  async externalIp(signal: AbortSignal): Promise<string> {
    const [ip] = elementTexts(await soap(this.control, "GetExternalIPAddress", [], signal), "NewExternalIPAddress");
    if (!ip || !isIPv4(ip)) throw new IgdError(`the router's answer names no IPv4 address: ${JSON.stringify((ip ?? "").slice(0, 64))}`);
    return ip;
  }

  /** Forwards TCP `externalPort` (a wish: the router picks another when it is taken) to `internalPort` at `client`. */
  async addPortMapping(m: { externalPort: number; internalPort: number; client: string; description: string; leaseSeconds: number }, signal: AbortSignal): Promise<number> {
    const text = await soap(
      this.control,
      "AddAnyPortMapping",
      [
        ["NewRemoteHost", ""],
        ["NewExternalPort", m.externalPort],
        ["NewProtocol", "TCP"],
        ["NewInternalPort", m.internalPort],
        ["NewInternalClient", m.client],
        ["NewEnabled", 1],
        ["NewPortMappingDescription", m.description],
        ["NewLeaseDuration", m.leaseSeconds],
      ],
      signal,
    );
    const [reserved] = elementTexts(text, "NewReservedPort");
    const port = reserved !== undefined && /^\d{1,5}$/.test(reserved) ? Number(reserved) : NaN;
    if (!(port >= 1 && port <= 65535)) throw new IgdError(`the router's answer names no port: ${JSON.stringify((reserved ?? "").slice(0, 64))}`);
    return port;
  }

  async deletePortMapping(externalPort: number, signal: AbortSignal): Promise<void> {
    await soap(this.control, "DeletePortMapping", [["NewRemoteHost", ""], ["NewExternalPort", externalPort], ["NewProtocol", "TCP"]], signal);
  }
}
