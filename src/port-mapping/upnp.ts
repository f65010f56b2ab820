/**
 * UPnP IGD: our own SSDP search (ssdp.ts) for an Internet Gateway Device (version 2, which miniupnpd and most home
 * routers offer), then @achingbrain/nat-port-mapper for its description and the SOAP calls to its control URL.
 */
import { upnpNat, type Gateway } from "@achingbrain/nat-port-mapper";
import { addressToward } from "./gateway.ts";
import { searchGateway } from "./ssdp.ts";
import type { Router } from "./router.ts";

/** How long one request to the router may take. */
const REQUEST_MS = 3000;

/** The first router that answers the search within `signal`, as a port mapper; null when none does. */
export async function findUpnpRouter(description: string, signal: AbortSignal): Promise<Router | null> {
  const location = await searchGateway(signal);
  const localAddress = location && addressToward(location.hostname);
  if (!location || !localAddress) return null;
  // Lease 1 h, renewed a minute before it ends (the library's refresh); a mapping left by a crash lapses within the hour.
  const client = upnpNat({ description, ttl: 3_600_000, autoRefresh: true });
  return upnpRouter(await client.getGateway(location, { signal: AbortSignal.timeout(REQUEST_MS) }), localAddress);
}

function upnpRouter(gateway: Gateway, localAddress: string): Router {
  return {
    protocol: "UPnP IGD",
    gateway: gateway.host,
    localAddress,
    externalIp: () => gateway.externalIp({ signal: AbortSignal.timeout(REQUEST_MS) }),
    // No `protocol` option: the library passes its options on to fetch, and Bun's fetch refuses `protocol: "tcp"`;
    // TCP is the library's default.
    mapTcp: async (port) => (await gateway.map(port, localAddress, { signal: AbortSignal.timeout(REQUEST_MS) })).externalPort,
    close: () => gateway.stop({ signal: AbortSignal.timeout(REQUEST_MS) }),
  };
}
