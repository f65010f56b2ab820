import type { ServerWebSocket, WebSocketHandler } from "bun";
import { MAX_FRAME_BYTES } from "../limits.ts";

/** What every WebSocket on the `--ws-port` server carries: the handler of the endpoint that upgraded it. */
export interface Routed {
  handler: WebSocketHandler<any>;
}

/**
 * One Bun WebSocket handler for several endpoints (the `/signal` hub, the `/link` tier): each upgrade stores its
 * endpoint's handler in `ws.data.handler`, and these calls pass every event on to it.
 */
export const routedWebSocket: WebSocketHandler<Routed> = {
  // The largest any endpoint allows; Bun closes a socket that sends more (code 1009), and each endpoint keeps its own limit below it.
  maxPayloadLength: MAX_FRAME_BYTES,
  idleTimeout: 120,
  sendPings: true,
  open: (ws) => ws.data.handler.open?.(ws),
  message: (ws, message) => ws.data.handler.message?.(ws, message),
  close: (ws, code, reason) => ws.data.handler.close?.(ws, code, reason),
  drain: (ws) => ws.data.handler.drain?.(ws),
};

export type RoutedSocket<T> = ServerWebSocket<T & Routed>;
