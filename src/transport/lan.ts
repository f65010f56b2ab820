export * from "./lan/index.ts";
