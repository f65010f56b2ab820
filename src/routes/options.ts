import type { Server } from "bun";
import type { Invite } from "../domain/rooms.ts";
import type { ClientAddressOf } from "./client.ts";
import type { Node } from "../node.ts";
import type { AdvertisedAddresses } from "../sync/frames.ts";
import type { RateLimitInit } from "../rate-limit.ts";

export interface AppOptions {
  node: Node;
  version: string;
  /** The base URL other machines reach this instance at, for invite links (e.g. http://192.168.1.5:8080). */
  publicUrl: () => string;
  /** The client address of a request. @default the socket's peer address; tests pass their own */
  clientAddress?: ClientAddressOf;
  /** DNS names accepted in `Host` besides IP literals, localhost and this machine's host name (`--public-host`). */
  publicHosts?: string[];
  /** Message rate for each client address off this machine (the user's own browser is not limited). @default 10/s, bursts of 50 */
  guestSendRate?: RateLimitInit;
  /** Long-polling `/history?wait=` requests held at once. @default 1000 */
  maxWaiting?: number;
  /** SSE streams open at once. @default 1000 */
  maxStreams?: number;
  /** Links to the instance that issued an invite whose room was just joined here (the page's "join by invite link"). */
  linkInvite?: (invite: Invite) => void;
  /** Where other instances reach this one, for `/mesh/info`. */
  meshAddresses?: () => AdvertisedAddresses;
  /** The HTTP link tier's handler for `/mesh/http/*`, when that tier is on. */
  meshHttp?: (request: Request, server: Server<unknown> | null) => Promise<Response>;
}
