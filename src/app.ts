import { statfsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, resolve } from "node:path";
import { localHost, publicHost } from "./util/ip.ts";
import { ConfigError, parseArgs, usage, type Config } from "./config.ts";
import { buildNetwork } from "./network.ts";
import type { Node } from "./node.ts";
import { openNode } from "./open-node.ts";
import { createApp } from "./routes/index.ts";
import { openStorage, StorageError, type Storage } from "./storage/index.ts";
import { PortMapper } from "./reach/port-mapping/index.ts";
import { Reachability } from "./reach/reachability.ts";
import { Rendezvous } from "./reach/rendezvous.ts";
import { standingOf } from "./rooms/standing.ts";
import { watchPeerUrl } from "./reach/peer-url.ts";
import { SignalHub } from "./transport/signaling/hub.ts";
import { LINK_PATH, routedWebSocket, type Routed } from "./transport/websocket/index.ts";
import { describeDialFailure, messageOf } from "./transport/errors.ts";
import { roomIdOf, type Invite } from "./domain/rooms.ts";
import { browserRefusal, hostAllowlist, hostHeader, WRONG_HOST } from "./domain/hosts.ts";
import { jsonError } from "./util/http.ts";
import { VERSION } from "./version.ts";

/** Bun answers bodies past this with a bare 413; below it, each route refuses what is over its own limit with JSON. */
const maxRequestBytes = (config: Config) => Math.max(64 * 1024 * 1024, config.maxFileBytes + 1024 * 1024);

function fail(message: string, code: number): never {
  console.error(`e-goat: ${message}`);
  process.exit(code);
}

/** A start-up step failed: what to print, and the exit code. */
class StartError extends Error {
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

/** How long the ready line waits for the WebRTC helper to start. */
const WEBRTC_START_WAIT_MS = 2000;

/** The flag that makes this program the WebRTC helper process (transport/webrtc/helper.ts), never given by users. */
const WEBRTC_HELPER_FLAG = "--webrtc-helper";
/** The WebRTC helper: the binary itself with the flag, or bun running the helper's own entry from source. */
const WEBRTC_HELPER = /[\\/]\$bunfs[\\/]|~BUN/.test(import.meta.path)
  ? [process.execPath, WEBRTC_HELPER_FLAG]
  : [process.execPath, fileURLToPath(new URL("./transport/webrtc/helper-main.ts", import.meta.url))];

/** Opens storage, builds the node and its network, and starts both servers; every step is undone in reverse by `stack`. */
async function open(config: Config, stack: AsyncDisposableStack, log: (line: string) => void, stopping: AbortSignal, linkInvite: (invite: Invite) => void) {
  let storage: Storage;
  try {
    storage = openStorage(config.db, { chunkWorker: CHUNK_WORKER });
  } catch (err) {
    if (err instanceof StorageError) throw new StartError(err.message, 1);
    throw err;
  }
  stack.defer(() => storage.close());
  const ports = { http: config.httpPort, ws: config.wsPort };
  const hub = new SignalHub();
  let reachability: Reachability | null = null;
  let node: Node | null = null;
  const portMapper = new PortMapper({
    enabled: config.portMapping,
    bind: config.host,
    ports: () => ports,
    onMapped: () => {
      node?.addressesChanged();
      // Whether the mapped ports answer from outside is asked again (once a first check has run).
      if (reachability?.state()) reachability.check().catch((error: unknown) => log(`reach check failed: ${messageOf(error)}`));
    },
    log,
  });
  const network = buildNetwork({
    config,
    identity: storage.identity,
    hub,
    ports: () => ports,
    webrtcHelper: WEBRTC_HELPER,
    // A dial-back from outside proves more than the router's word, so it wins where both name a port.
    outside: () => ({ ...portMapper.advertised(), ...reachability?.advertised() }),
    standing: (nodeId) => (node ? standingOf(node, storage.messages, nodeId) : null),
    log,
  });
  stack.defer(() => network.webrtcHelper.close());
  node = openNode({
    storage,
    name: config.name,
    network: { links: network.links, addresses: network.addresses, log },
    maxFileBytes: config.maxFileBytes,
    freeDiskBytes: () => freeBytes(config.db),
  });
  for (const room of config.rooms) node.join(room);
  for (const invite of config.invites) {
    try {
      node.join(invite.room, invite.key);
    } catch (err) {
      throw new StartError(`--invite ${invite.url}/?room=${invite.room}: ${(err as Error).message}`, 2);
    }
  }
  network.discovery.serve(node);
  const rendezvous = new Rendezvous({ links: network.links, rooms: () => node.joinedRooms(), kept: storage.rendezvous, log, signal: stopping });
  // Peers dial back the ports outside: the router's, where it maps them.
  const outsidePorts = () => portMapper.externalPorts() ?? ports;
  reachability = new Reachability({
    links: network.links,
    ports: outsidePorts,
    stunAddresses: network.stunAddresses,
    verify: network.reachesUs,
    onAdvertised: () => node.addressesChanged(),
    log,
  });
  const reach = reachability;
  node.onRoomsChanged(() => rendezvous.roomsChanged());

  const app = createApp({
    node,
    version: VERSION,
    linkInvite: (invite) => linkInvite(invite),
    rendezvous: () => rendezvous.urls(),
    reachability: () => reach.state(),
    stunAddress: () => reach.stunAddress(),
    portMapping: () => portMapper.state(),
    publicUrl: () => `http://${publicHost(config.host)}:${ports.http}`,
    publicHosts: config.publicHosts,
    meshAddresses: network.addresses,
    meshHttp: network.http ? (request, server) => network.http!.handle(request, server) : undefined,
  });
  try {
    // Elysia turns reusePort on by default, which would let a second instance share a busy port silently.
    app.listen({ port: config.httpPort, hostname: config.host, maxRequestBodySize: maxRequestBytes(config), reusePort: false, development: false });
  } catch (err) {
    throw listenError(err, "http-port", config.httpPort, config.host);
  }
  stack.defer(async () => void (await app.stop(true)));
  ports.http = app.server!.port!;

  const wsHostAllowed = hostAllowlist({ publicHosts: config.publicHosts });
  let ws: ReturnType<typeof Bun.serve<Routed>>;
  try {
    ws = Bun.serve<Routed>({
      port: config.wsPort,
      hostname: config.host,
      fetch(req, server) {
        const path = new URL(req.url).pathname;
        // Only instances use this port: a request by another name than ours (DNS rebinding) or from a web page is refused.
        if (!wsHostAllowed(hostHeader(req))) return jsonError(403, WRONG_HOST);
        const refusal = browserRefusal(req);
        if (refusal) return jsonError(403, refusal);
        if (path === "/signal") return hub.upgrade(req, server);
        if (path === LINK_PATH && network.websocket) return network.websocket.upgrade(req, server);
        return jsonError(404, "this port serves /signal and /link only");
      },
      websocket: routedWebSocket,
    });
  } catch (err) {
    throw listenError(err, "ws-port", config.wsPort, config.host);
  }
  stack.defer(() => ws.stop(true));
  ports.ws = ws.port!;

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
  reach.start();
  stack.defer(() => reach.stop());
  portMapper.start();
  stack.defer(() => portMapper.stop());
  return { node, ports, rendezvous, links: network.links };
}

async function start(config: Config) {
  const log = (line: string) => console.log(`e-goat: ${line}`);
  const stack = new AsyncDisposableStack();
  let node: Node;
  let ports: { http: number; ws: number };
  let rendezvous: Rendezvous;
  let links: { named(nodeId: string): void };
  const stopping = new AbortController();
  try {
    ({ node, ports, rendezvous, links } = await open(config, stack, log, stopping.signal, (invite) => linkToIssuer(invite)));
  } catch (err) {
    await stack.disposeAsync();
    if (err instanceof StartError) fail(err.message, err.code);
    throw err;
  }
  /** Links to the instance at `url` once it answers, and again whenever it is not linked; with `nodeId`, only to that instance. */
  function linkTo(url: string, what: string, nodeId?: string | null): void {
    watchPeerUrl(url, {
      signal: stopping.signal,
      log,
      what,
      linked: (id) => node.peers().some((p) => p.node_id === id && p.state === "connected"),
      found: (address) => {
        if (nodeId && address.nodeId !== nodeId) return log(`${what}: the instance there is ${address.nodeId}, not ${nodeId}; not linking`);
        links.named(address.nodeId);
        node.introduce(address)?.catch((error: unknown) => {
          if (!stopping.signal.aborted) log(`${what}: ${describeDialFailure(error)}; still trying`);
        });
      },
    }).catch((error: unknown) => log(`${what}: stopped looking: ${messageOf(error)}`));
  }
  /** Links to an invite's issuer at its URL, and meets it at the rendezvous the invite names. */
  function linkToIssuer(invite: Invite): void {
    // Kept: the invite's issuer is met there after a restart too, where flags come again but a page's invite does not.
    for (const url of invite.rendezvous) rendezvous.add(url, { room: roomIdOf({ name: invite.room, key: invite.key }), keep: true });
    linkTo(invite.url, `invite from ${invite.url}`, invite.node);
  }
  rendezvous.addKept();
  for (const url of config.rendezvous) rendezvous.add(url);
  for (const invite of config.invites) linkToIssuer(invite);
  for (const url of config.peers) linkTo(url, `--peer ${url}`);

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

/**
 * A failure nobody handled is logged and the instance keeps serving: whatever a peer sent to cause it, one bad peer may
 * close its own link, never the process (Bun exits on an unhandled rejection without this).
 */
function keepServing(): void {
  process.on("unhandledRejection", (reason) => console.error(`e-goat: unhandled failure, still serving: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`));
  process.on("uncaughtException", (error) => console.error(`e-goat: uncaught exception, still serving: ${error.stack ?? error.message}`));
}

function main(argv: string[]) {
  if (argv[0] === WEBRTC_HELPER_FLAG) {
    import("./transport/webrtc/helper-process.ts")
      .then((helper) => helper.runWebRtcHelper())
      .catch((error: unknown) => fail(`the WebRTC helper failed: ${messageOf(error)}`, 1));
    return;
  }
  let parsed;
  try {
    parsed = parseArgs(argv);
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message, 2);
    throw err;
  }
  if (parsed.kind === "help") {
    console.log(usage());
    process.exit(0);
  }
  if (parsed.kind === "version") {
    console.log(`e-goat ${VERSION}`);
    process.exit(0);
  }
  if (parsed.kind === "self-test") return void selfTest().catch((error: unknown) => fail(`self-test failed: ${messageOf(error)}`, 1));
  keepServing();
  start(parsed.config).catch((error: unknown) => fail(`could not start: ${messageOf(error)}`, 1));
}

async function selfTest() {
  try {
    // Loaded only here, so a normal start does not pay for the native addon.
    const { checkWebRtc } = await import("./transport/webrtc/self-check.ts");
    const { setupMs, rttMs } = await checkWebRtc();
    console.log(`e-goat self-test: WebRTC DataChannel over loopback ok (setup ${setupMs.toFixed(1)} ms, round trip ${rttMs.toFixed(2)} ms)`);
    process.exit(0);
  } catch (err) {
    fail(`self-test failed: ${(err as Error).message}`, 1);
  }
}

main(process.argv.slice(2));

/** Bytes free to this user on the disk that holds the database; Infinity where that cannot be told. */
function freeBytes(db: string): number {
  try {
    const fs = statfsSync(dirname(resolve(db)));
    return fs.bavail * fs.bsize;
  } catch {
    return Infinity;
  }
}
