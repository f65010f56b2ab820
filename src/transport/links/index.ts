export { LinkManager } from "./manager.ts";
export type { LinkManagerInit, LinkStatus } from "./settings.ts";
export type { PeerEvent } from "./peer.ts";
