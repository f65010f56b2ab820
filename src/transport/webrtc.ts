export * from "./webrtc/index.ts";
