export * from "./webrtc/self-check.ts";
