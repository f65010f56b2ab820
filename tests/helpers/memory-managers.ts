/** Link managers over the memory tier, each with a fresh identity and fast timings, closed after each test. */
import { afterEach } from "bun:test";
import { linkManager, type Links, type LinksInit } from "../../src/network.ts";
import { memoryTransport, type MemoryNetwork } from "../../src/transport/memory/index.ts";
import { rogueIdentity } from "./rogue.ts";

/** Timings that make a memory mesh settle in well under a second. */
export const FAST: Partial<LinksInit> = { pingIntervalMs: 50, deadAfterMs: 1000, retryMinMs: 100, retryMaxMs: 400, dialTimeoutMs: 1000 };

/** Registers the cleanup for the describe block it is called in; the function it answers starts one manager named `name` on `net`. */
export function memoryManagers() {
  const managers: Links[] = [];
  afterEach(async () => {
    await Promise.all(managers.splice(0).map((m) => m.close()));
  });
  return async (net: MemoryNetwork, name: string, init: Partial<LinksInit> = {}) => {
    const identity = rogueIdentity();
    const m = linkManager({ identity, transports: [memoryTransport(net, name)], ...FAST, ...init });
    await m.start();
    managers.push(m);
    return { m, id: identity.nodeId, name };
  };
}
