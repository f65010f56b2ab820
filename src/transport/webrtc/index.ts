import { WebRtcTransport, type WebRtcTransportInit } from "./transport.ts";

export { WebRtcTransport, type WebRtcTransportInit } from "./transport.ts";
export { WebRtcLink } from "./link.ts";
export { WebRtcLibraryLoader, type WebRtcLibrary } from "./library.ts";
export { turnIceServer, type IceSettings } from "./ice.ts";

/** The `webrtc` tier (any ICE path, STUN servers) or the `turn` tier (relay-only through TURN servers), over node-datachannel. */
export function webrtcTransport(init: WebRtcTransportInit): WebRtcTransport {
  return new WebRtcTransport(init);
}
