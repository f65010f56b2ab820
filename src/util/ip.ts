/** IP addresses: this machine's own, a host as a URL writes it, and a source as every per-source limit counts it. */
import { networkInterfaces } from "node:os";

const WILDCARDS = new Set(["0.0.0.0", "::", "[::]"]);

/** This machine's first non-internal IPv4 address, as other machines on the LAN see it; null when there is none. */
export function lanAddress(): string | null {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  return null;
}

/** True for a bind address that means every interface. */
export function isWildcard(bind: string): boolean {
  return WILDCARDS.has(bind);
}

/** A host as a URL writes it: an IPv6 address in brackets. */
export function urlHost(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

/** The host a local client uses to reach servers bound to `bind` (the wildcard means loopback will do). */
export function localHost(bind: string): string {
  return urlHost(isWildcard(bind) ? "127.0.0.1" : bind);
}

/** The host other machines use to reach servers bound to `bind`: its LAN address when bound to every interface. */
export function publicHost(bind: string): string {
  return urlHost(isWildcard(bind) ? (lanAddress() ?? "127.0.0.1") : bind);
}

const ipv4ToInt = (ip: string) => ip.split(".").reduce((n, octet) => ((n << 8) | Number(octet)) >>> 0, 0);

/**
 * This machine's IPv4 address on the network that holds `ip` (same subnet, by the interface's netmask); null when `ip`
 * is on none of its networks, loopback ones aside.
 */
export function localAddressOn(ip: string): string | null {
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(ip)) return null;
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) {
      if (a.family !== "IPv4" || a.internal) continue;
      const mask = ipv4ToInt(a.netmask);
      if ((ipv4ToInt(a.address) & mask) === (ipv4ToInt(ip) & mask)) return a.address;
    }
  }
  return null;
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

/**
 * True for an address no one outside its own network can reach: private (RFC 1918, fc00::/7), shared (100.64.0.0/10),
 * link-local and loopback ones.
 */
export function isPrivateIp(ip: string): boolean {
  const v4 = /^(?:::ffff:)?(\d+)\.(\d+)\.\d+\.\d+$/i.exec(ip);
  if (v4) {
    const [a, b] = [Number(v4[1]), Number(v4[2])];
    return a === 10 || a === 127 || (a === 172 && b >= 16 && b < 32) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b < 128) || (a === 169 && b === 254);
  }
  const lower = ip.toLowerCase();
  return lower === "::1" || /^f[cd]/.test(lower) || /^fe[89ab]/.test(lower);
}

/** True for an address on this machine's loopback (127.0.0.0/8, ::1, IPv4-mapped 127.x); false for undefined. */
export function isLoopback(ip: string | undefined): boolean {
  return ip !== undefined && (ip.startsWith("127.") || ip === "::1" || ip.startsWith("::ffff:127."));
}

/**
 * Where a connection comes from, as every per-source limit counts it: an IPv4 address, or an IPv6 /64 (one host
 * rotating through the addresses of its prefix is still one source).
 */

/** The eight 16-bit groups of an IPv6 address (an embedded IPv4 tail counts as two); undefined when it is not one. */
function ipv6Groups(address: string): number[] | undefined {
  let text = address.toLowerCase();
  const v4 = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const parts = (half: string | undefined) => (half ? half.split(":") : []);
  const head = parts(halves[0]);
  const tail = parts(halves[1]);
  const gap = halves.length === 2 ? 8 - head.length - tail.length : 0;
  if (gap < 0 || (halves.length === 2 && gap === 0)) return undefined;
  const groups = [...head, ...Array<string>(gap).fill("0"), ...tail];
  if (groups.length !== 8 || !groups.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return undefined;
  return groups.map((g) => parseInt(g, 16));
}

/**
 * The source an address counts as: an IPv4 address itself (also when IPv4-mapped), the /64 of an IPv6 address (its
 * zone dropped), anything else as given.
 */
export function sourceKey(address: string): string {
  const bare = address.split("%")[0]!;
  const groups = bare.includes(":") ? ipv6Groups(bare) : undefined;
  if (!groups) return bare;
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return [groups[6]! >> 8, groups[6]! & 255, groups[7]! >> 8, groups[7]! & 255].join(".");
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(":")}::/64`;
}
