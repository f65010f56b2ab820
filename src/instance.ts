/**
 * The composition root: flags → storage → rooms and sync (open-node.ts) → network and its link protocols
 * (network.ts) → where this instance is reached (reach/) → servers → ready line. Every step is undone in reverse
 * (an AsyncDisposableStack) on failure and at shutdown. It wires; what each part does lives in that part.
 */
import { statfsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { localHost } from "./util/ip.ts";
import type { Config } from "./config.ts";
import { buildNetwork } from "./network.ts";
import { openNode } from "./open-node.ts";
import { createApp } from "./routes/index.ts";
import { openStorage, StorageError, type Storage } from "./storage/index.ts";
import { Advertised } from "./reach/advertised.ts";
import { NamedPeers } from "./reach/named-peers.ts";
import { PortMapper } from "./reach/port-mapping/index.ts";
import { Reachability } from "./reach/reachability.ts";
import { Rendezvous } from "./reach/rendezvous.ts";
import { MailboxStore } from "./storage/mailbox.ts";
import { makeBackup } from "./backup/download.ts";
import { SELF, WEBRTC_HELPER } from "./program.ts";
import { standingOf } from "./rooms/standing.ts";
import { SignalHub } from "./transport/signaling/hub.ts";
import { messageOf } from "./transport/errors.ts";
import { serveWsPort } from "./ws-port.ts";
import { VERSION } from "./version.ts";

/** Bun answers bodies past this with a bare 413; below it, each route refuses what is over its own limit with JSON. */
const maxRequestBytes = (config: Config) => Math.max(64 * 1024 * 1024, config.maxFileBytes + 1024 * 1024);

/** A start-up step failed: what to print, and the exit code. */
export class StartError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

function listenError(err: unknown, flag: string, port: number, host: string): StartError {
  const code = (err as { code?: string }).code;
  if (code === "EADDRINUSE") return new StartError(`--${flag} ${port} is already in use on ${host}; pick another port or 0 for any free one`, 1);
  if (code === "EACCES") return new StartError(`--${flag} ${port}: permission denied to listen on ${host}`, 1);
  return new StartError(`--${flag} ${port}: cannot listen on ${host}: ${(err as Error).message}`, 1);
}

/**
 * The thread that stores chunks from peers. Named from here, the source root: in the compiled binary every module's
 * import.meta.url is the binary's own, with the worker (an entrypoint of its own, scripts/build.ts) beside it.
 */
const CHUNK_WORKER = new URL("./storage/chunk-worker.ts", import.meta.url).href;

/** How often a mailbox drops what it kept past its days. */
const MAILBOX_EXPIRY_MS = 60 * 60_000;

/** How long the ready line waits for the WebRTC helper to start. */
const WEBRTC_START_WAIT_MS = 2000;

/** Opens storage, builds the node and its network, and starts both servers; every step is undone in reverse by `stack`. */
async function open(config: Config, stack: AsyncDisposableStack, log: (line: string) => void, stopping: AbortSignal) {
  let storage: Storage;
  try {
    storage = openStorage(config.db, { chunkWorker: CHUNK_WORKER });
  } catch (err) {
    if (err instanceof StorageError) throw new StartError(err.message, 1);
    throw err;
  }
  stack.defer(() => storage.close());
  // Built once the node is: what each rendezvous serves is where the node's mailboxes are.
  let rendezvous: Rendezvous | undefined;
  const advertised = new Advertised(config.host, { http: config.httpPort, ws: config.wsPort });
  const portMapper = new PortMapper({ enabled: config.portMapping, bind: config.host, ports: () => advertised.ports, log });
  portMapper.onMapped(() => advertised.changed());
  advertised.find(portMapper);
  const hub = new SignalHub();
  const mailbox = config.mailbox ? new MailboxStore(storage.db, config.mailbox) : null;
  const network = buildNetwork({ config, identity: storage.identity, hub, addresses: () => advertised.addresses(), webrtcHelper: WEBRTC_HELPER, log });
  stack.defer(() => network.webrtcHelper.close());
  const node = openNode({
    storage,
    name: config.name,
    network: {
      links: network.links,
      addresses: network.addresses,
      log,
      rendezvous: {
        served: (nodeId) => rendezvous?.served(nodeId) ?? [],
        rendezvousOf: (roomId) => rendezvous?.forRoom(roomId) ?? [],
        use: (roomId, url) => rendezvous?.add(url, { room: roomId, keep: true }),
      },
      mailbox: { store: mailbox, waits: (nodeId, topic) => network.links.waitsAt(nodeId, topic) },
    },
    maxFileBytes: config.maxFileBytes,
    freeDiskBytes: () => freeBytes(config.db),
  });
  network.rankBy((nodeId) => standingOf(node, storage.messages, nodeId));
  advertised.onChange(() => node.addressesChanged());
  for (const room of config.rooms) node.join(room);
  for (const invite of config.invites) {
    try {
      node.join(invite.room, invite.key);
    } catch (err) {
      throw new StartError(`--invite ${invite.url}/?room=${invite.room}: ${(err as Error).message}`, 2);
    }
  }
  network.discovery.serve(node);
  rendezvous = new Rendezvous({
    links: network.links,
    rooms: () => node.joinedRooms(),
    kept: storage.rendezvous,
    serves: (nodeId) => node.mailboxServes(nodeId),
    log,
    signal: stopping,
  });
  if (mailbox) {
    const store = mailbox;
    const expire = setInterval(() => {
      const gone = store.expire();
      if (gone > 0) log(`mailbox: ${gone} items past ${config.mailbox!.days} days went`);
    }, MAILBOX_EXPIRY_MS);
    stack.defer(() => clearInterval(expire));
    store.expire();
  }
  node.onRoomsChanged(() => rendezvous.roomsChanged());
  const reachability = new Reachability({
    links: network.links,
    ports: () => advertised.ports,
    mapping: portMapper,
    stunAddresses: network.stunAddresses,
    verify: network.reachesUs,
    log,
  });
  // A dial-back from outside proves more than the router's word, so it comes last and wins where both name a port.
  advertised.find(reachability);
  reachability.onAdvertised(() => advertised.changed());
  const named = new NamedPeers({
    linked: (id) => node.peers().some((p) => p.node_id === id && p.state === "connected"),
    named: (id) => network.links.named(id),
    introduce: (address) => node.introduce(address),
    rendezvous,
    signal: stopping,
    log,
  });

  const app = createApp({
    node,
    version: VERSION,
    linkInvite: (invite) => named.linkToIssuer(invite),
    reach: {
      publicUrl: () => advertised.publicUrl(),
      addresses: network.addresses,
      rendezvous: () => rendezvous.urls(),
      reachability: () => reachability.state(),
      stunAddress: () => reachability.stunAddress(),
      portMapping: () => portMapper.state(),
    },
    publicHosts: config.publicHosts,
    mailbox: mailbox ?? undefined,
    backup: (passphrase) => makeBackup(SELF, config.db, passphrase),
    meshHttp: network.http ? (request, server) => network.http!.handle(request, server) : undefined,
  });
  try {
    // Elysia turns reusePort on by default, which would let a second instance share a busy port silently.
    app.listen({ port: config.httpPort, hostname: config.host, maxRequestBodySize: maxRequestBytes(config), reusePort: false, development: false });
  } catch (err) {
    throw listenError(err, "http-port", config.httpPort, config.host);
  }
  stack.defer(async () => void (await app.stop(true)));
  advertised.listening({ http: app.server!.port! });

  let ws: ReturnType<typeof serveWsPort>;
  try {
    ws = serveWsPort({ host: config.host, port: config.wsPort, publicHosts: config.publicHosts, hub, websocket: network.websocket });
  } catch (err) {
    throw listenError(err, "ws-port", config.wsPort, config.host);
  }
  stack.defer(() => ws.stop(true));
  advertised.listening({ ws: ws.port! });

  stack.defer(() => network.links.close());
  try {
    await network.links.start();
    await network.lan?.ready;
    // Every tier is ready before the ready line, the WebRTC helper too (within reason: a stuck start is not waited for).
    await Promise.race([network.webrtcReady, Bun.sleep(WEBRTC_START_WAIT_MS)]);
  } catch (err) {
    throw new StartError(`--lan-port ${config.lanPort}: ${(err as Error).message}`, 1);
  }
  node.startReplication();
  stack.defer(() => node.stopReplication());
  reachability.start();
  stack.defer(() => reachability.stop());
  portMapper.start();
  stack.defer(() => portMapper.stop());
  return { node, ports: advertised.ports, rendezvous, named };
}

/** Runs an instance until SIGINT or SIGTERM: opens it, links to the instances the flags name, prints the ready line. */
export async function runInstance(config: Config): Promise<void> {
  const log = (line: string) => console.log(`e-goat: ${line}`);
  const stack = new AsyncDisposableStack();
  const stopping = new AbortController();
  let opened: Awaited<ReturnType<typeof open>>;
  try {
    opened = await open(config, stack, log, stopping.signal);
  } catch (err) {
    await stack.disposeAsync();
    throw err;
  }
  const { node, ports, rendezvous, named } = opened;
  rendezvous.addKept();
  for (const url of config.rendezvous) rendezvous.add(url);
  for (const invite of config.invites) named.linkToIssuer(invite);
  for (const url of config.peers) named.linkTo(url, `--peer ${url}`);

  const host = localHost(config.host);
  console.log(`e-goat ready http=http://${host}:${ports.http} ws=ws://${host}:${ports.ws} node=${node.id}`);

  const shutdown = async (signal: string) => {
    if (stopping.signal.aborted) return;
    stopping.abort();
    console.log(`e-goat: ${signal}, shutting down`);
    // Closing links waits on peers and native WebRTC teardown; never let that keep the process alive.
    setTimeout(() => {
      console.error("e-goat: shutdown took over 5 s; exiting anyway");
      process.exit(0);
    }, 5000);
    await stack.disposeAsync();
    process.exit(0);
  };
  const stop = (signal: string) =>
    shutdown(signal).catch((error: unknown) => {
      console.error(`e-goat: shutdown failed: ${messageOf(error)}`);
      process.exit(1);
    });
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

/** Bytes free to this user on the disk that holds the database; Infinity where that cannot be told. */
function freeBytes(db: string): number {
  try {
    const fs = statfsSync(dirname(resolve(db)));
    return fs.bavail * fs.bsize;
  } catch {
    return Infinity;
  }
}
