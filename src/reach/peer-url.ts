import { TypeCompiler } from "@sinclair/typebox/compiler";
import { Type } from "@sinclair/typebox";
import type { NodeAddress } from "../transport/link.ts";
import { backoffDelay } from "../util/backoff.ts";
import { NodeId } from "../domain/names.ts";
import { PROTOCOL_VERSION } from "../domain/protocol.ts";
import { AdvertisedAddresses } from "../domain/urls.ts";
import { fetchOutside, jsonOf } from "../util/outbound.ts";

/** What `GET /mesh/info` answers: enough for another instance to dial this one on every tier. */
export const MeshInfo = Type.Object({
  node_id: NodeId,
  name: Type.String({ maxLength: 64 }),
  protocol: Type.Integer(),
  addresses: AdvertisedAddresses,
});
const checkInfo = TypeCompiler.Compile(MeshInfo);
/** The most of a `/mesh/info` answer read: a real one is under 1 KiB. */
export const MAX_MESH_INFO_BYTES = 16 * 1024;
/** How often an unanswered `--peer` is asked again: 1 s, doubling to 30 s. */
const RETRY = { minMs: 1000, maxMs: 30_000 };

/**
 * Learns who answers at a `--peer` URL and where its other tiers listen. The URL's own host is kept for every tier:
 * it is the one the user knows to work from here, whatever addresses the peer advertises. The URL came from outside
 * (a flag, an invite, a peer's dial-back request): a redirect is a failure, and the answer is read within its cap.
 */
export async function resolvePeer(url: string, signal?: AbortSignal): Promise<NodeAddress> {
  const res = await fetchOutside(`${url}/mesh/info`, { signal: signal ?? AbortSignal.timeout(5000) }, MAX_MESH_INFO_BYTES);
  if (!res.ok) throw new Error(`${url}/mesh/info answered ${res.status}`);
  let info: unknown;
  try {
    info = jsonOf(res);
  } catch {
    throw new Error(`${url}/mesh/info answered no JSON`);
  }
  if (!checkInfo.Check(info)) throw new Error(`${url} does not look like an e-goat instance`);
  if (info.protocol !== PROTOCOL_VERSION) throw new Error(`${url} speaks mesh protocol ${info.protocol}, not ${PROTOCOL_VERSION}`);
  const host = new URL(url).host.replace(/:\d+$/, "");
  const wsPort = info.addresses.ws ? new URL(info.addresses.ws).port : null;
  return { nodeId: info.node_id, http: url, ...(wsPort ? { ws: `ws://${host}:${wsPort}` } : {}) };
}

/** Resolves a `--peer` URL, retrying with backoff until it answers or `signal` aborts (peers start in any order). */
export async function resolvePeerPatiently(url: string, signal: AbortSignal, log: (line: string) => void, what = `--peer ${url}`): Promise<NodeAddress> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await resolvePeer(url, AbortSignal.any([signal, AbortSignal.timeout(5000)]));
    } catch (err) {
      signal.throwIfAborted();
      if (attempt === 1 || attempt % 10 === 0) log(`${what}: ${(err as Error).message}; retrying`);
      await Bun.sleep(backoffDelay(attempt, RETRY));
    }
  }
}

/** How often a `--peer` URL whose instance is not linked is asked again who answers there. */
export const RECHECK_EVERY_MS = 15_000;

export interface PeerWatch {
  /** Whether the instance with this node id is linked now. */
  linked(nodeId: string): boolean;
  /** The instance at the URL, found for the first time or found again (the same, or another that took its place). */
  found(address: NodeAddress): void;
  log(line: string): void;
  /** How log lines name the URL. @default "--peer URL" */
  what?: string;
  signal: AbortSignal;
  /** @default RECHECK_EVERY_MS */
  everyMs?: number;
}

/**
 * Keeps a `--peer` URL's instance found: resolves it patiently, then, whenever that instance is not linked, asks the
 * URL again who answers there, so an instance that took its place (the peer restarted on a new database, or the name
 * now points elsewhere) is linked to. The same instance needs nothing: it is being redialled at this address already.
 */
export async function watchPeerUrl(url: string, watch: PeerWatch): Promise<void> {
  const every = watch.everyMs ?? RECHECK_EVERY_MS;
  const what = watch.what ?? `--peer ${url}`;
  let current: NodeAddress;
  try {
    current = await resolvePeerPatiently(url, watch.signal, watch.log, what);
  } catch {
    return; // stopped
  }
  watch.found(current);
  while (!watch.signal.aborted) {
    await Bun.sleep(every);
    if (watch.signal.aborted || watch.linked(current.nodeId)) continue;
    let again: NodeAddress;
    try {
      again = await resolvePeer(url, AbortSignal.any([watch.signal, AbortSignal.timeout(5000)]));
    } catch {
      continue; // not answering now: asked again next time
    }
    // The same instance is being redialled already (its address book holds this URL's address); another one is new.
    if (again.nodeId === current.nodeId) continue;
    watch.log(`${what} now answers as ${again.nodeId} (was ${current.nodeId})`);
    current = again;
    watch.found(current);
  }
}
