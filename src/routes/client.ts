import type { Server } from "bun";
import { isLoopback } from "../util/ip.ts";

/** Where a request came from; tests that drive the app with `app.handle` pass their own. */
export type ClientAddressOf = (request: Request, server: Server<unknown> | null | undefined) => string | undefined;

/** The peer address of the request's socket. */
export const socketAddress: ClientAddressOf = (request, server) => server?.requestIP(request)?.address;

/** Who sent a request: the owner is on this machine (loopback); everyone else is a guest. */
export interface Client {
  /** The client's IP address ("unknown" when the server cannot tell). */
  address: string;
  owner: boolean;
}

export function clientOf(request: Request, server: Server<unknown> | null | undefined, addressOf: ClientAddressOf = socketAddress): Client {
  const address = addressOf(request, server);
  return { address: address ?? "unknown", owner: isLoopback(address) };
}
