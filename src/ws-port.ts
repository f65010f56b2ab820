/**
 * The `--ws-port` server, which only instances use: `/signal` goes to this instance's signaling hub, `/link` to the
 * WebSocket tier. A request by another name than ours (DNS rebinding) or from a web page is refused.
 */
import { browserRefusal, hostAllowlist, hostHeader, WRONG_HOST } from "./domain/hosts.ts";
import type { SignalHub } from "./transport/signaling/hub.ts";
import { LINK_PATH, routedWebSocket, type Routed, type WebSocketTransport } from "./transport/websocket/index.ts";
import { jsonError } from "./util/http.ts";

export interface WsPortInit {
  host: string;
  port: number;
  /** `--public-host`: DNS names accepted in `Host` besides IP literals and this machine's names. */
  publicHosts: string[];
  hub: SignalHub;
  /** The WebSocket tier, when `--transports` allows it. */
  websocket: WebSocketTransport | null;
}

/** Listens on the `--ws-port`; throws as `Bun.serve` does when it cannot. */
export function serveWsPort({ host, port, publicHosts, hub, websocket }: WsPortInit) {
  const hostAllowed = hostAllowlist({ publicHosts });
  return Bun.serve<Routed>({
    port,
    hostname: host,
    fetch(req, server) {
      const path = new URL(req.url).pathname;
      if (!hostAllowed(hostHeader(req))) return jsonError(403, WRONG_HOST);
      const refusal = browserRefusal(req);
      if (refusal) return jsonError(403, refusal);
      if (path === "/signal") return hub.upgrade(req, server);
      if (path === LINK_PATH && websocket) return websocket.upgrade(req, server);
      return jsonError(404, "this port serves /signal and /link only");
    },
    websocket: routedWebSocket,
  });
}
