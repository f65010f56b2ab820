import { createHash } from "node:crypto";
import { broadcastAddresses, publicHost } from "./addresses.ts";
import type { Config } from "./config.ts";
import type { Node } from "./node.ts";
import type { Addresses } from "./sync/frames.ts";
import { httpTransport, type HttpTransport } from "./transport/http-poll.ts";
import { lanTransport, type LanTransport } from "./transport/lan.ts";
import { LinkManager } from "./transport/link-manager.ts";
import type { SignalHub } from "./transport/signal-hub.ts";
import type { SignalMessage, Signaling, Transport } from "./transport/types.ts";
import { webrtcTransport } from "./transport/webrtc.ts";
import { websocketTransport, type WebSocketTransport } from "./transport/websocket.ts";

/** Room names as LAN beacons carry them: short hashes, so the whole LAN does not learn which rooms exist. */
export function beaconRoom(room: string): string {
  return createHash("sha256").update(`e-goat room ${room}`).digest("hex").slice(0, 16);
}

export interface Mesh {
  links: LinkManager;
  websocket: WebSocketTransport | null;
  http: HttpTransport | null;
  lan: LanTransport | null;
  /** Where other instances reach this one (known once the servers listen). */
  addresses: () => Addresses;
  /** Wires LAN discovery to the node; call once the node exists. */
  discover(node: Node): void;
}

/** Builds the tiers `--transports` allows and the link manager over them. */
export function buildMesh(config: Config, nodeId: string, hub: SignalHub, ports: () => { http: number; ws: number }, log: (line: string) => void): Mesh {
  const allowed = new Set(config.transports);
  // WebRTC needs the link manager's signaling, and the link manager needs the transports: bind it late. The webrtc
  // and turn tiers share the one signaling path, so each tags its sessions and gets only its own messages back.
  let links: LinkManager;
  const handlers = new Map<string, (from: string, message: SignalMessage) => void>();
  const signalingFor = (tier: string): Signaling => ({
    send: (to, message) => links.signaling.send(to, { ...message, session: `${tier}:${message.session}` }),
    onMessage: (handler) => void handlers.set(tier, handler),
  });
  const bindAddress = config.host === "0.0.0.0" || config.host === "::" ? undefined : config.host;
  const transports: Transport[] = [];
  if (allowed.has("webrtc")) transports.push(webrtcTransport({ tier: "webrtc", localNodeId: nodeId, signaling: signalingFor("webrtc"), iceServers: config.stun, bindAddress }));
  // The bundled WebRTC library gathers no candidates through TLS (turns:) relays, so only turn: servers are used.
  const turnServers = config.turn.filter((t) => !t.secure);
  if (turnServers.length < config.turn.length) log("turns: servers are not supported by this build's WebRTC library; using only turn: servers");
  if (allowed.has("turn") && turnServers.length > 0) {
    transports.push(webrtcTransport({ tier: "turn", localNodeId: nodeId, signaling: signalingFor("turn"), iceServers: [], turnServers, bindAddress }));
  }
  const websocket = allowed.has("websocket") ? websocketTransport() : null;
  const http = allowed.has("http") ? httpTransport() : null;
  if (websocket) transports.push(websocket);
  if (http) transports.push(http);

  const addresses = (): Addresses => {
    const host = publicHost(config.host);
    return { http: `http://${host}:${ports().http}`, ws: `ws://${host}:${ports().ws}` };
  };

  let onBeacon: (info: { nodeId: string; rooms?: string[]; http?: string; ws?: string; from: string }) => void = () => {};
  let beaconRooms: () => string[] = () => [];
  let lan: LanTransport | null = null;
  if (allowed.has("lan")) {
    lan = lanTransport({
      localNodeId: nodeId,
      port: config.lanPort,
      address: config.lanAddr ?? broadcastAddresses(),
      beacon: () => ({ nodeId, rooms: beaconRooms(), ...addresses() }),
      onBeacon: (info) => onBeacon(info),
    });
    transports.push(lan);
  }

  links = new LinkManager({ localNodeId: nodeId, transports, hub, log });
  links.signaling.onMessage((from, message) => {
    const at = message.session.indexOf(":");
    if (at < 0) return;
    handlers.get(message.session.slice(0, at))?.(from, { ...message, session: message.session.slice(at + 1) });
  });
  return {
    links,
    websocket,
    http,
    lan,
    addresses,
    discover(node: Node) {
      beaconRooms = () => node.rooms().map(beaconRoom);
      onBeacon = (info) => {
        const mine = new Set(node.rooms().map(beaconRoom));
        if (!info.rooms?.some((r) => mine.has(r))) return;
        node.introduce({ nodeId: info.nodeId, lan: info.from, ...(info.http ? { http: info.http } : {}), ...(info.ws ? { ws: info.ws } : {}) });
      };
    },
  };
}
