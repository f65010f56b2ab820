import { WebSocketTransport, type WebSocketTransportInit } from "./transport.ts";

export { DEFAULT_MAX_LINKS, LINK_PATH, WebSocketTransport, type WebSocketTransportInit } from "./transport.ts";
export { routedWebSocket, type Routed, type RoutedSocket } from "./routed-server.ts";
export type { LinkSocketData } from "./link.ts";

/** Creates the WebSocket tier (see WebSocketTransport). */
export function websocketTransport(init?: WebSocketTransportInit): WebSocketTransport {
  return new WebSocketTransport(init);
}
