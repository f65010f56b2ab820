import { isLoopback } from "../../util/ip.ts";
import { MAX_FRAME_BYTES, MAX_QUEUED_BYTES } from "../limits.ts";
import type { BeaconInfo } from "./beacon.ts";
import { isWireId, MAX_HEADER_BYTES, MAX_UDP_PAYLOAD, TAG_BYTES } from "./wire.ts";

/** Largest datagram on a real LAN: fits any path MTU down to 1280 (VPNs, PPPoE, Wi-Fi bridges) without IP fragmentation. */
export const DEFAULT_LAN_DATAGRAM_BYTES = 1200;
/** Largest datagram when every address is loopback, whose MTU is 64 KiB. */
export const DEFAULT_LOOPBACK_DATAGRAM_BYTES = 60_000;
/** How often each instance announces itself. */
export const DEFAULT_BEACON_INTERVAL_MS = 2000;
/** In flight per link: well under the default 208 KiB socket receive buffer every instance on the port shares. */
export const DEFAULT_WINDOW_BYTES = 128 * 1024;
/** A dial whose SYNs get no answer fails after this long. */
export const DEFAULT_DIAL_TIMEOUT_MS = 3000;
/** A link that owes or is owed datagrams and makes no progress for this long closes. */
export const DEFAULT_LINK_TIMEOUT_MS = 10_000;
/** Links at once; bounds what SYNs from anyone on the LAN can make us hold. */
export const DEFAULT_MAX_LINKS = 64;
/** Where datagrams go when no address is given: this host only. */
const LOOPBACK_BROADCAST = "127.255.255.255";

/** Settings of a LAN transport. */
export interface LanTransportInit {
  /** This instance's node id: every datagram carries it, and others address this instance by it. */
  localNodeId: string;
  /** The UDP port every instance on the LAN binds (several on one host share it). */
  port: number;
  /** Where every datagram goes: broadcast addresses such as 192.168.1.255, or 127.255.255.255 to stay on this host (also used when the list is empty). */
  address: string | readonly string[];
  /** @default "0.0.0.0" (a socket bound to one unicast address does not receive broadcasts) */
  bindAddress?: string;
  /** @default DEFAULT_BEACON_INTERVAL_MS */
  beaconIntervalMs?: number;
  /** What to announce in each beacon; no beacons are sent without it. */
  beacon?: () => BeaconInfo;
  /** Called with each beacon of another instance, and where it came from ("ip:port"). */
  onBeacon?: (info: BeaconInfo & { from: string }) => void;
  /** Largest datagram sent, header included. @default DEFAULT_LOOPBACK_DATAGRAM_BYTES when every address is 127.x, else DEFAULT_LAN_DATAGRAM_BYTES */
  maxDatagramBytes?: number;
  /** Unacknowledged bytes a link may have in flight; keep it under the receivers' socket buffers. @default DEFAULT_WINDOW_BYTES */
  windowBytes?: number;
  /** Bytes a link may hold unsent, or received before anyone reads them; past it the link closes. @default MAX_QUEUED_BYTES */
  maxQueuedBytes?: number;
  /** A dial with no answer fails after this long. @default DEFAULT_DIAL_TIMEOUT_MS */
  dialTimeoutMs?: number;
  /** A link whose peer stops acknowledging, or leaves a gap or a frame half sent, closes after this long. @default DEFAULT_LINK_TIMEOUT_MS */
  linkTimeoutMs?: number;
  /** Most links at once; further SYNs are refused. @default DEFAULT_MAX_LINKS */
  maxLinks?: number;
}

/** A LAN transport's init with every default filled in and checked. */
export type LanSettings = Required<Omit<LanTransportInit, "address" | "beacon" | "onBeacon">> &
  Pick<LanTransportInit, "beacon" | "onBeacon"> & { addresses: string[] };

/** Fills in the defaults; throws RangeError on a node id or datagram size the wire cannot carry. */
export function lanSettings(init: LanTransportInit): LanSettings {
  const addresses = typeof init.address === "string" ? [init.address] : [...init.address];
  if (addresses.length === 0) addresses.push(LOOPBACK_BROADCAST);
  const maxDatagramBytes =
    init.maxDatagramBytes ?? (addresses.every(isLoopback) ? DEFAULT_LOOPBACK_DATAGRAM_BYTES : DEFAULT_LAN_DATAGRAM_BYTES);
  if (!isWireId(init.localNodeId)) throw new RangeError("localNodeId must be 1 to 64 printable ASCII characters");
  if (!(maxDatagramBytes >= 2 * MAX_HEADER_BYTES && maxDatagramBytes <= MAX_UDP_PAYLOAD)) {
    throw new RangeError(`maxDatagramBytes must be from ${2 * MAX_HEADER_BYTES} to ${MAX_UDP_PAYLOAD}`);
  }
  if (MAX_FRAME_BYTES > 0xffff * (maxDatagramBytes - MAX_HEADER_BYTES - TAG_BYTES)) {
    throw new RangeError(`maxDatagramBytes is too small: a ${MAX_FRAME_BYTES}-byte frame would need more than 65535 fragments`);
  }
  return {
    ...init,
    addresses,
    maxDatagramBytes,
    bindAddress: init.bindAddress ?? "0.0.0.0",
    beaconIntervalMs: init.beaconIntervalMs ?? DEFAULT_BEACON_INTERVAL_MS,
    windowBytes: init.windowBytes ?? DEFAULT_WINDOW_BYTES,
    maxQueuedBytes: init.maxQueuedBytes ?? MAX_QUEUED_BYTES,
    dialTimeoutMs: init.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS,
    linkTimeoutMs: init.linkTimeoutMs ?? DEFAULT_LINK_TIMEOUT_MS,
    maxLinks: init.maxLinks ?? DEFAULT_MAX_LINKS,
  };
}
