import { TypeCompiler } from "@sinclair/typebox/compiler";
import { Type } from "@sinclair/typebox";
import type { NodeAddress } from "../transport/link.ts";
import { backoffDelay } from "../util/backoff.ts";
import { NodeId } from "../domain/names.ts";
import { PROTOCOL_VERSION } from "../domain/protocol.ts";
import { AdvertisedAddresses } from "./frames.ts";

/** What `GET /mesh/info` answers: enough for another instance to dial this one on every tier. */
export const MeshInfo = Type.Object({
  node_id: NodeId,
  name: Type.String({ maxLength: 64 }),
  protocol: Type.Integer(),
  addresses: AdvertisedAddresses,
});
const checkInfo = TypeCompiler.Compile(MeshInfo);
/** How often an unanswered `--peer` is asked again: 1 s, doubling to 30 s. */
const RETRY = { minMs: 1000, maxMs: 30_000 };

/**
 * Learns who answers at a `--peer` URL and where its other tiers listen. The URL's own host is kept for every tier:
 * it is the one the user knows to work from here, whatever addresses the peer advertises.
 */
export async function resolvePeer(url: string, signal?: AbortSignal): Promise<NodeAddress> {
  const res = await fetch(`${url}/mesh/info`, { signal: signal ?? AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`${url}/mesh/info answered ${res.status}`);
  const info: unknown = await res.json();
  if (!checkInfo.Check(info)) throw new Error(`${url} does not look like an e-goat instance`);
  if (info.protocol !== PROTOCOL_VERSION) throw new Error(`${url} speaks mesh protocol ${info.protocol}, not ${PROTOCOL_VERSION}`);
  const host = new URL(url).host.replace(/:\d+$/, "");
  const wsPort = info.addresses.ws ? new URL(info.addresses.ws).port : null;
  return { nodeId: info.node_id, http: url, ...(wsPort ? { ws: `ws://${host}:${wsPort}` } : {}) };
}

/** Resolves a `--peer` URL, retrying with backoff until it answers or `signal` aborts (peers start in any order). */
export async function resolvePeerPatiently(url: string, signal: AbortSignal, log: (line: string) => void): Promise<NodeAddress> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await resolvePeer(url, AbortSignal.any([signal, AbortSignal.timeout(5000)]));
    } catch (err) {
      signal.throwIfAborted();
      if (attempt === 1 || attempt % 10 === 0) log(`--peer ${url}: ${(err as Error).message}; retrying`);
      await Bun.sleep(backoffDelay(attempt, RETRY));
    }
  }
}
