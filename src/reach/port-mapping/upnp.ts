/**
 * UPnP IGD: our own SSDP search (ssdp.ts) for an Internet Gateway Device (version 2, which miniupnpd and most home
 * routers offer) answering from the default gateway, then its WANIPConnection service (igd.ts).
 */
import { addressToward } from "./gateway.ts";
import { describeGateway, IgdClient } from "./igd.ts";
import { searchGateway } from "./ssdp.ts";
import type { Router } from "./router.ts";

/** How long one request to the router may take. */
const REQUEST_MS = 3000;
/** The lease asked for; renewed a minute before it ends, so a mapping left by a crash lapses within the hour. */
const LEASE_S = 3600;
const RENEW_BEFORE_MS = 60_000;
const RETRY_RENEW_MS = 60_000;

/** The default gateway, when it answers the search within `signal`, as a port mapper; null when it does not. */
export async function findUpnpRouter(description: string, gateway: string, signal: AbortSignal): Promise<Router | null> {
  const location = await searchGateway(signal, gateway);
  const localAddress = location && addressToward(location.hostname);
  if (!location || !localAddress) return null;
  const client = new IgdClient(await describeGateway(location, AbortSignal.timeout(REQUEST_MS)));
  return upnpRouter(client, location.hostname, localAddress, description);
}

function upnpRouter(client: IgdClient, gateway: string, localAddress: string, description: string): Router {
  /** Per port here: the port outside, and the timer that renews its lease. */
  const mapped = new Map<number, { external: number; timer: ReturnType<typeof setTimeout> }>();
  const add = (port: number, wish: number) =>
    client.addPortMapping({ externalPort: wish, internalPort: port, client: localAddress, description, leaseSeconds: LEASE_S }, AbortSignal.timeout(REQUEST_MS));
  const renewLater = (port: number, external: number, onChange: (externalPort: number) => void, ms: number) => {
    const timer = setTimeout(() => {
      add(port, external).then(
        (now) => {
          if (!mapped.has(port)) return;
          renewLater(port, now, onChange, LEASE_S * 1000 - RENEW_BEFORE_MS);
          if (now !== external) onChange(now);
        },
        () => mapped.has(port) && renewLater(port, external, onChange, RETRY_RENEW_MS),
      );
    }, ms);
    timer.unref?.();
    mapped.set(port, { external, timer });
  };
  return {
    protocol: "UPnP IGD",
    gateway,
    localAddress,
    externalIp: () => client.externalIp(AbortSignal.timeout(REQUEST_MS)),
    async mapTcp(port, onChange) {
      const external = await add(port, port);
      renewLater(port, external, onChange, LEASE_S * 1000 - RENEW_BEFORE_MS);
      return external;
    },
    async close() {
      const all = [...mapped.values()];
      for (const { timer } of all) clearTimeout(timer);
      mapped.clear();
      await Promise.allSettled(all.map(({ external }) => client.deletePortMapping(external, AbortSignal.timeout(REQUEST_MS))));
    },
  };
}
