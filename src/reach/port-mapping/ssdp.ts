/**
 * The SSDP search for an Internet Gateway Device (UPnP's discovery): an M-SEARCH sent to the multicast group, and the
 * answers that come back to our own socket.
 *
 * An answer counts only when it comes from the default gateway (any other host on the LAN may answer a multicast
 * search, and would otherwise choose what is advertised), its LOCATION is an http URL on that very address, and that
 * address is on one of our networks; only then is it fetched (igd.ts).
 */
import { addressToward } from "./gateway.ts";

const GROUP = "239.255.255.250";
const SSDP_PORT = 1900;
export const IGD2 = "urn:schemas-upnp-org:device:InternetGatewayDevice:2";
/** M-SEARCHes sent, this far apart (UDP may lose one). */
const SENDS = 2;
const SEND_EVERY_MS = 1000;

/** An answer's headers, names in lower case; null when it is no `HTTP/1.1 200` answer. */
export function parseSearchAnswer(text: string): Map<string, string> | null {
  const [status, ...lines] = text.split("\r\n");
  if (!/^HTTP\/1\.1 200\b/i.test(status ?? "")) return null;
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return headers;
}

/**
 * The device description URL of an answer from `from`, when it may be fetched: from the default `gateway`, http, on
 * that address, on our network.
 */
export function gatewayLocation(headers: Map<string, string>, from: string, gateway: string): URL | null {
  if (headers.get("st") !== IGD2 || from !== gateway || !addressToward(from)) return null;
  const location = URL.canParse(headers.get("location") ?? "") ? new URL(headers.get("location")!) : null;
  return location?.protocol === "http:" && location.hostname === from ? location : null;
}

/** Where the default gateway describes itself, once it answers; null when it does not before `signal`. */
export async function searchGateway(signal: AbortSignal, gateway: string, target = { hostname: GROUP, port: SSDP_PORT }): Promise<URL | null> {
  if (signal.aborted) return null;
  const { promise, resolve } = Promise.withResolvers<URL | null>();
  const socket = await Bun.udpSocket({
    socket: {
      data(_socket, data, _port, address) {
        const headers = parseSearchAnswer(data.toString("latin1"));
        const location = headers && gatewayLocation(headers, address, gateway);
        if (location) resolve(location);
      },
      error() {},
    },
  });
  const search = ["M-SEARCH * HTTP/1.1", `HOST: ${GROUP}:${SSDP_PORT}`, 'MAN: "ssdp:discover"', "MX: 1", `ST: ${IGD2}`, "", ""].join("\r\n");
  const send = () => {
    try {
      socket.send(search, target.port, target.hostname);
    } catch {
      // No route to the group (no network at all): no answer will come, the signal ends the wait.
    }
  };
  send();
  const again = setInterval(send, SEND_EVERY_MS);
  setTimeout(() => clearInterval(again), SEND_EVERY_MS * (SENDS - 1) + 10);
  const stop = () => resolve(null);
  signal.addEventListener("abort", stop, { once: true });
  try {
    return await promise;
  } finally {
    clearInterval(again);
    signal.removeEventListener("abort", stop);
    socket.close();
  }
}
