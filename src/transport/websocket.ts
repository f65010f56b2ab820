export * from "./websocket/index.ts";
