/** Where this machine's router is, and which of this machine's addresses it sees. */
import { readFileSync } from "node:fs";
import { isPrivateIp, localAddressOn } from "../addresses.ts";

/**
 * The IPv4 default gateway, read from the kernel's routing table (Linux only: elsewhere null, and NAT-PMP is not tried;
 * UPnP finds its router by itself).
 */
export function defaultGateway(routes = "/proc/net/route"): string | null {
  let table: string;
  try {
    table = readFileSync(routes, "utf8");
  } catch {
    return null;
  }
  for (const line of table.split("\n").slice(1)) {
    const [, destination, gateway, flags] = line.trim().split(/\s+/);
    // The default route (destination 0) through a gateway (RTF_GATEWAY, 0x2); addresses in host byte order, hex.
    if (destination !== "00000000" || !gateway || !flags || (parseInt(flags, 16) & 2) === 0) continue;
    const n = parseInt(gateway, 16);
    return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join(".");
  }
  return null;
}

/**
 * This machine's IPv4 address on the network `gateway` is on: what the router forwards to. Null when `gateway` is on
 * none of this machine's networks, or is not a private address (a router's LAN side always is), or is this machine.
 */
export function addressToward(gateway: string): string | null {
  if (!isPrivateIp(gateway)) return null;
  const local = localAddressOn(gateway);
  return local === gateway ? null : local;
}
