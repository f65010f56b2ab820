import { isIP } from "node:net";
import type { IceServer, RtcConfig } from "node-datachannel";
import type { TurnServer } from "../../domain/tiers.ts";

/** Where ICE may look for a path to the far end. */
export interface IceSettings {
  /** `webrtc` uses the STUN servers and any path; `turn` goes only through the TURN servers. */
  tier: "webrtc" | "turn";
  /** STUN URLs (`stun:host:port`) for the `webrtc` tier. */
  iceServers: string[];
  /** TURN servers for the `turn` tier. */
  turnServers?: TurnServer[];
  /** Local address ICE binds to, e.g. 127.0.0.1 in tests. @default every interface */
  bindAddress?: string;
  /** Local UDP ports ICE may use. @default any */
  portRange?: { begin: number; end: number };
}

/** A `--turn` server as node-datachannel takes it. Its prebuilt addon (libjuice) gathers nothing from `turns:` (TLS). */
export function turnIceServer(server: TurnServer): IceServer {
  return { hostname: server.host, port: server.port, username: server.username, password: server.password, relayType: server.secure ? "TurnTls" : "TurnUdp" };
}

/** The PeerConnection configuration of a tier: any path through STUN for `webrtc`, TURN servers only for `turn`. */
export function rtcConfig(settings: IceSettings): RtcConfig {
  const turnOnly = settings.tier === "turn";
  return {
    iceServers: turnOnly ? (settings.turnServers ?? []).map(turnIceServer) : settings.iceServers,
    // libjuice applies "relay" only to the candidates we announce; it may still reach the peer's relay from a
    // host socket, or a path found through it (libdatachannel#1587). Without a relay nothing connects, though.
    iceTransportPolicy: turnOnly ? "relay" : "all",
    ...(settings.bindAddress !== undefined && { bindAddress: settings.bindAddress }),
    ...(settings.portRange && { portRangeBegin: settings.portRange.begin, portRangeEnd: settings.portRange.end }),
  };
}

/** The address of a server-reflexive ICE candidate (`candidate:… UDP … 203.0.113.7 40123 typ srflx …`), else null. */
export function reflexiveAddress(candidate: string): string | null {
  const m = /\s(\S+)\s+\d+\s+typ\s+srflx\b/.exec(candidate);
  return m && isIP(m[1]!) ? m[1]! : null;
}
