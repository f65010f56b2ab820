// Link managers over the memory tier, each with a hub and a record of the signal messages it heard: for tests of
// signaling paths between instances (relay through members, meeting at a rendezvous).
import { afterEach } from "bun:test";
import { generateKeyPairSync } from "node:crypto";
import { nodeIdOf } from "../../src/storage/identity.ts";
import { linkManager, type Links, type LinksInit } from "../../src/network.ts";
import { memoryTransport, type MemoryNetwork } from "../../src/transport/memory/index.ts";
import { SignalHub } from "../../src/transport/signaling/hub.ts";
import type { SignalMessage } from "../../src/transport/signaling/signal.ts";

const FAST = { pingIntervalMs: 50, deadAfterMs: 1000, retryMinMs: 100, retryMaxMs: 400, staggerMs: 20, dialTimeoutMs: 1000, handshakeTimeoutMs: 800 };

let managers: Links[] = [];
afterEach(async () => {
  await Promise.all(managers.map((m) => m.close()));
  managers = [];
});

/** A started link manager named `name` on `net` (closed after the test), and the signal messages it hears. */
export async function signalingNode(net: MemoryNetwork, name: string, options: Partial<LinksInit> = {}) {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const identity = { nodeId: nodeIdOf(publicKey), publicKey, privateKey };
  const m = linkManager({ identity, transports: [memoryTransport(net, name, "websocket")], hub: new SignalHub(), ...FAST, ...options });
  await m.start();
  managers.push(m);
  const heard: { from: string; message: SignalMessage }[] = [];
  m.signaling.onMessage((from, message) => heard.push({ from, message }));
  return { m, id: identity.nodeId, name, heard };
}

export type SignalingNode = Awaited<ReturnType<typeof signalingNode>>;
