import { LanTransport } from "./transport.ts";
import type { LanTransportInit } from "./settings.ts";

export { LanTransport } from "./transport.ts";
export type { BeaconInfo } from "./beacon.ts";
export type { LanStats } from "./socket.ts";
export {
  DEFAULT_BEACON_INTERVAL_MS,
  DEFAULT_DIAL_TIMEOUT_MS,
  DEFAULT_LAN_DATAGRAM_BYTES,
  DEFAULT_LINK_TIMEOUT_MS,
  DEFAULT_LOOPBACK_DATAGRAM_BYTES,
  DEFAULT_MAX_LINKS,
  DEFAULT_WINDOW_BYTES,
  type LanTransportInit,
} from "./settings.ts";

/** Opens a LAN transport: binds the shared UDP port and starts beaconing (see LanTransport). */
export function lanTransport(init: LanTransportInit): LanTransport {
  return new LanTransport(init);
}
