// Transitional: the pieces moved to link.ts, errors.ts and signaling/signal.ts; this file goes once nothing imports it.
export * from "./link.ts";
export { DialError, LinkClosedError } from "./errors.ts";
export { isSignalMessage, type SignalMessage, type Signaling } from "./signaling/signal.ts";
