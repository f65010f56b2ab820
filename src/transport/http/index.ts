/** The `http` tier: long polling over plain HTTP (the protocol is described in transport.ts). */
export { decodeFrames, encodeFrames } from "./framing.ts";
export type { HttpTransportInit } from "./init.ts";
export { HTTP_LINK_PREFIX, HttpTransport, httpTransport } from "./transport.ts";
