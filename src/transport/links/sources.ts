/**
 * Where a link comes from, as the link manager's per-source limits count it: an IPv4 address or an IPv6 /64
 * (src/util/ip.ts). A link with no address of its own (WebRTC, a relayed link) counts under its tier and the node it
 * claims, whose signaling was already held to the limits of the path it came by. Loopback is a source like any other,
 * as for the transports' own slots (src/transport/source-slots.ts).
 */
import { sourceKey } from "../../util/ip.ts";
import type { Link } from "../link.ts";

/** The source `link` counts under. */
export function sourceOf(link: Pick<Link, "remoteIp" | "remote" | "tier">): string {
  // A LAN link names its sender as `node@ip:port`.
  const ip = link.remoteIp ?? (link.tier === "lan" ? /@(.+):\d+$/.exec(link.remote)?.[1]?.replace(/^\[|\]$/g, "") : undefined);
  if (ip === undefined) return `${link.tier} ${link.remote}`;
  return sourceKey(ip);
}
