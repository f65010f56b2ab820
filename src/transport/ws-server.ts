export * from "./websocket/routed-server.ts";
