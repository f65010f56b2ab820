import { networkInterfaces } from "node:os";

const WILDCARDS = new Set(["0.0.0.0", "::", "[::]"]);

/** This machine's first non-internal IPv4 address, as other machines on the LAN see it; null when there is none. */
export function lanAddress(): string | null {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  return null;
}

function urlHost(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

/** The host a local client uses to reach servers bound to `bind` (the wildcard means loopback will do). */
export function localHost(bind: string): string {
  return urlHost(WILDCARDS.has(bind) ? "127.0.0.1" : bind);
}

/** The host other machines use to reach servers bound to `bind`: its LAN address when bound to every interface. */
export function publicHost(bind: string): string {
  return urlHost(WILDCARDS.has(bind) ? (lanAddress() ?? "127.0.0.1") : bind);
}

/** The IPv4 broadcast address of every non-internal interface, where LAN beacons go by default. */
export function broadcastAddresses(): string[] {
  const out: string[] = [];
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) {
      if (a.family !== "IPv4" || a.internal) continue;
      const ip = a.address.split(".").map(Number);
      const mask = a.netmask.split(".").map(Number);
      out.push(ip.map((octet, i) => (octet | (~mask[i]! & 255)) & 255).join("."));
    }
  }
  return [...new Set(out)];
}

/** True for an address on this machine's loopback (127.0.0.0/8, ::1, IPv4-mapped 127.x); false for undefined. */
export function isLoopback(ip: string | undefined): boolean {
  return ip !== undefined && (ip.startsWith("127.") || ip === "::1" || ip.startsWith("::ffff:127."));
}
