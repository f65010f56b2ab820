export { LinkManager } from "./manager.ts";
export type { LinkManagerInit } from "./settings.ts";
export type { LinkStatus, PeerEvent } from "./peer.ts";
