import type { ServerWebSocket, WebSocketHandler } from "bun";

/** What every WebSocket on the `--ws-port` server carries: the handler of the endpoint that upgraded it. */
export interface Routed {
  handler: WebSocketHandler<any>;
}

/**
 * One Bun WebSocket handler for several endpoints (the `/signal` hub, the `/link` tier): each upgrade stores its
 * endpoint's handler in `ws.data.handler`, and these calls pass every event on to it.
 */
export const routedWebSocket: WebSocketHandler<Routed> = {
  // Above what any endpoint takes (a link's piece, 64 KiB and a byte; a hub envelope, 64 KiB), so each says no in its own
  // words; Bun closes a socket that sends more (code 1009) before it buffers it.
  maxPayloadLength: 128 * 1024,
  idleTimeout: 120,
  sendPings: true,
  open: (ws) => ws.data.handler.open?.(ws),
  message: (ws, message) => ws.data.handler.message?.(ws, message),
  close: (ws, code, reason) => ws.data.handler.close?.(ws, code, reason),
  drain: (ws) => ws.data.handler.drain?.(ws),
};

export type RoutedSocket<T> = ServerWebSocket<T & Routed>;
