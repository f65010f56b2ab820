/** Where this machine's router is, and which of this machine's addresses it sees. */
import { gateway4async } from "default-gateway";
import { readFileSync } from "node:fs";
import { isIPv4 } from "node:net";
import { isPrivateIp, localAddressOn } from "../../util/ip.ts";

/** How long the system's tools may take to tell the gateway (macOS, Windows). */
const ASK_SYSTEM_MS = 3000;

/**
 * The IPv4 default gateway: on Linux from the kernel's routing table; elsewhere as the system's own tools tell it
 * (default-gateway: netstat on macOS and the BSDs, WMI on Windows). Null when none can be told: then no router is asked.
 */
export async function defaultGateway(): Promise<string | null> {
  if (process.platform === "linux") return routingTableGateway();
  try {
    const { gateway } = await Promise.race([gateway4async(), Bun.sleep(ASK_SYSTEM_MS).then(() => Promise.reject(new Error("no answer")))]);
    return isIPv4(gateway) ? gateway : null;
  } catch {
    return null;
  }
}

/** The IPv4 default gateway as Linux's routing table names it, or null. */
export function routingTableGateway(routes = "/proc/net/route"): string | null {
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
