import { broadcastAddresses, isWildcard, localAddressOn } from "./util/ip.ts";
import type { Config } from "./config.ts";
import { LanDiscovery } from "./reach/lan-discovery.ts";
import type { AdvertisedAddresses } from "./domain/urls.ts";
import { httpTransport, type HttpTransport } from "./transport/http/index.ts";
import { lanTransport, type LanTransport } from "./transport/lan/index.ts";
import type { PeerAddress, Transport } from "./transport/link.ts";
import type { Tier } from "./domain/tiers.ts";
import { LinkManager, type LinkManagerInit } from "./transport/links/index.ts";
import type { RELAY_LIMITS } from "./transport/protocols/circuit-relay.ts";
import { Circuits } from "./transport/protocols/circuits.ts";
import { Meet } from "./transport/protocols/meet.ts";
import { ReachProtocol, type DialBack } from "./transport/protocols/reach.ts";
import { Carrier } from "./transport/protocols/carrier.ts";
import type { LocalHub } from "./transport/signaling/envelope.ts";
import type { ChannelIdentity } from "./transport/secure/channel.ts";
import type { SignalHub } from "./transport/signaling/hub.ts";
import { SignalRouter } from "./transport/signaling/router.ts";
import { WebRtcLibraryLoader, webrtcTransport } from "./transport/webrtc/index.ts";
import { WebRtcHelper } from "./transport/webrtc/helper-client.ts";
import { rtcConfig } from "./transport/webrtc/ice.ts";
import { dialBack } from "./reach/dial-back.ts";
import type { StandingOf } from "./transport/links/standing.ts";
import { websocketTransport, type WebSocketTransport } from "./transport/websocket/index.ts";

/** The instance's side of the mesh: every tier `--transports` allows, and the link manager over them. */
export interface Network {
  links: Links;
  /** The tiers the servers route requests to (null when not allowed). */
  websocket: WebSocketTransport | null;
  http: HttpTransport | null;
  lan: LanTransport | null;
  discovery: LanDiscovery;
  /** Where other instances reach this one (known once the servers listen). */
  addresses: () => AdvertisedAddresses;
  /** Ranks peers in a full peer table by what storage and replication say of them (src/rooms/standing.ts). */
  rankBy: (standing: StandingOf) => void;
  /** The process that holds the WebRTC connections, stopped at shutdown. */
  webrtcHelper: WebRtcHelper;
  /** Settles once the WebRTC helper is up, or could not start (the tiers then say why and stay off). */
  webrtcReady: Promise<void>;
  /** This machine's public addresses as the `--stun` servers see it; none without them, the webrtc tier or an answer. */
  stunAddresses: () => Promise<string[]>;
  /** Dials this instance at `ip` and `ports` as a peer would: whether its HTTP port answers as its node id, its WebSocket port at all. */
  reachesUs: (ip: string, ports: { http: number; ws: number }) => Promise<{ http: boolean; ws: boolean }>;
}

export interface NetworkInit {
  config: Config;
  /** This instance's identity: the node id its links prove with its key. */
  identity: ChannelIdentity;
  /** This instance's `/signal` hub, where WebRTC offers arrive from instances with no link yet. */
  hub: SignalHub;
  /** Where other instances reach this one (src/reach/advertised.ts): hellos, LAN beacons and `/mesh/info` say it. */
  addresses: () => AdvertisedAddresses;
  /** The command that starts the WebRTC helper (this program with `--webrtc-helper`). */
  webrtcHelper: string[];
  log: (line: string) => void;
}

/**
 * A peer on this machine's own network (not loopback) is dialled over WebSocket at once with WebRTC: a TCP connect
 * there takes a millisecond, and the first message need not wait for ICE and DTLS (WebRTC takes over when it is up).
 */
const dialAtOnce = (address: PeerAddress): Tier[] => {
  const host = address.ws && URL.canParse(address.ws) ? new URL(address.ws).hostname : null;
  return host && localAddressOn(host) ? ["websocket"] : [];
};

/** The link manager's settings and its protocols'. */
export interface LinksInit extends LinkManagerInit {
  /** Where WebRTC offers for this instance arrive when no link exists yet (its own `/signal` hub). */
  hub?: LocalHub;
  /** The `relay` tier: links through a rendezvous of ours that relays, where no direct tier reaches. @default false */
  circuits?: boolean;
  /** Relays the links of peers that met here (`--relay`). @default false */
  relay?: boolean;
  /** The relay's limits per relayed link, for tests. @default RELAY_LIMITS */
  relayLimits?: Partial<typeof RELAY_LIMITS>;
  /** Dials a peer back where it asks to know whether it is reachable; none: such asks go unanswered. */
  dialBack?: DialBack;
  /** How long a wait at a rendezvous lasts unless renewed; ours are renewed at a third of it. @default 600000 */
  waitMs?: number;
}

/** The link manager with its protocols registered, and the calls other layers make of them. */
export type Links = LinkManager & Pick<Meet, "useRendezvous" | "keeps"> & Pick<ReachProtocol, "checkReach"> & {
  /** Whether `nodeId` waits at `topic` here (this instance as a rendezvous): who may use its mailbox for that room. */
  waitsAt(nodeId: string, topic: string): boolean;
};

/** A link manager with the link protocols registered: meeting at rendezvous, relayed links, dial-backs, carried signaling. */
export function linkManager({ hub, circuits = false, relay = false, relayLimits, dialBack, waitMs, ...init }: LinksInit): Links {
  const links = new LinkManager(init);
  const meet = links.register((ctx) => new Meet(ctx, { relays: relay, waitMs }));
  links.register((ctx) => new Circuits(ctx, { ends: circuits, relay, relayLimits, meet }));
  const reach = links.register((ctx) => new ReachProtocol(ctx, dialBack));
  const carrier = links.register((ctx) => new Carrier(ctx, { hub, metAt: (id) => meet.meetings.metAt(id), together: (a, b) => meet.point.together(a, b) }));
  // A peer met again may be a new process: the session with its old one is of no use.
  meet.onMet((nodeId) => carrier.sessions?.renew(nodeId));
  return Object.assign(links, {
    useRendezvous: (nodeId: string, topics: readonly string[] | null) => meet.useRendezvous(nodeId, topics),
    keeps: (nodeId: string) => meet.keeps(nodeId),
    waitsAt: (nodeId: string, topic: string) => meet.point.waitsAt(nodeId, topic),
    checkReach: (ports: { http: number; ws: number }) => reach.checkReach(ports),
  });
}

/** Builds the tiers `--transports` allows, the signaling they share, and the link manager over them. */
export function buildNetwork({ config, identity, hub, addresses, webrtcHelper: command, log }: NetworkInit): Network {
  const { nodeId } = identity;
  const allowed = new Set(config.transports);
  // Every address advertised (hellos, LAN beacons, /mesh/info) passes the one check peers apply, whoever built it.
  // Nothing ranks a peer until the rooms, built over these links, say how it stands.
  let standing: StandingOf | null = null;
  const signaling = new SignalRouter();
  const bindAddress = isWildcard(config.host) ? undefined : config.host;
  const transports: Transport[] = [];
  // Both WebRTC tiers share one library, in a helper process started at their first dial or offer.
  const webrtcHelper = new WebRtcHelper({ command, log: (line) => log(`webrtc: ${line}`) });
  const library = new WebRtcLibraryLoader(
    async () => {
      await webrtcHelper.start();
      return webrtcHelper.library();
    },
    (reason) => log(`webrtc: cannot load the WebRTC addon (${reason}); the webrtc and turn tiers are off, the others run`),
  );
  if (allowed.has("webrtc")) {
    transports.push(webrtcTransport({ tier: "webrtc", localNodeId: nodeId, signaling: signaling.forTier("webrtc"), iceServers: config.stun, bindAddress, library }));
  }
  // The bundled WebRTC library gathers no candidates through TLS (turns:) relays, so only turn: servers are used.
  const turnServers = config.turn.filter((t) => !t.secure);
  if (turnServers.length < config.turn.length) log("turns: servers are not supported by this build's WebRTC library; using only turn: servers");
  if (allowed.has("turn") && turnServers.length > 0) {
    transports.push(webrtcTransport({ tier: "turn", localNodeId: nodeId, signaling: signaling.forTier("turn"), iceServers: [], turnServers, bindAddress, library }));
  }
  const websocket = allowed.has("websocket") ? websocketTransport() : null;
  const http = allowed.has("http") ? httpTransport() : null;
  if (websocket) transports.push(websocket);
  if (http) transports.push(http);
  const discovery = new LanDiscovery(nodeId, addresses);
  const lan = allowed.has("lan")
    ? lanTransport({
        localNodeId: nodeId,
        port: config.lanPort,
        address: config.lanAddr ?? broadcastAddresses(),
        beacon: () => discovery.beacon(),
        onBeacon: (info) => discovery.heard(info),
      })
    : null;
  if (lan) transports.push(lan);
  // Started now, not at the first dial, which would wait for it (50-100 ms, more on a busy machine).
  const webrtcReady = transports.some((t) => t.tier === "webrtc" || t.tier === "turn") ? library.load().then(() => {}, () => {}) : Promise.resolve();
  const links = linkManager({ identity, transports, signaling, hub, log, circuits: allowed.has("relay"), relay: config.relay, dialBack, dialAtOnce, standing: (id) => standing?.(id) ?? null });
  const stunAddresses = () =>
    allowed.has("webrtc") && config.stun.length > 0
      ? webrtcHelper.publicAddresses(rtcConfig({ tier: "webrtc", iceServers: config.stun, bindAddress })).catch(() => [])
      : Promise.resolve([]);
  const reachesUs = (ip: string, ports: { http: number; ws: number }) => dialBack(ip, ports, nodeId);
  const rankBy = (of: StandingOf) => void (standing = of);
  return { links, websocket, http, lan, discovery, addresses, rankBy, webrtcHelper, webrtcReady, stunAddresses, reachesUs };
}
