export { LinkManager, type LinkManagerInit, type LinkStatus } from "./manager.ts";
export type { PeerEvent } from "./peer.ts";
