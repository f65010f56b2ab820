import { localHost, publicHost } from "./addresses.ts";
import { ConfigError, parseArgs, usage, type Config } from "./config.ts";
import { buildMesh } from "./mesh.ts";
import { Node } from "./node.ts";
import { createApp } from "./routes/index.ts";
import { openStorage, StorageError, type Storage } from "./storage/index.ts";
import { SignalHub } from "./transport/signal-hub.ts";
import { routedWebSocket, type Routed } from "./transport/ws-server.ts";
import { resolvePeerPatiently } from "./sync/bootstrap.ts";
import { VERSION } from "./version.ts";

/** Bun answers bodies past this with a bare 413; below it, each route refuses what is over its own limit with JSON. */
const MAX_REQUEST_BYTES = 64 * 1024 * 1024;

function fail(message: string, code: number): never {
  console.error(`e-goat: ${message}`);
  process.exit(code);
}

function listenError(err: unknown, flag: string, port: number, host: string): never {
  const code = (err as { code?: string }).code;
  if (code === "EADDRINUSE") fail(`--${flag} ${port} is already in use on ${host}; pick another port or 0 for any free one`, 1);
  if (code === "EACCES") fail(`--${flag} ${port}: permission denied to listen on ${host}`, 1);
  fail(`--${flag} ${port}: cannot listen on ${host}: ${(err as Error).message}`, 1);
}

async function start(config: Config) {
  let storage: Storage;
  try {
    storage = openStorage(config.db);
  } catch (err) {
    if (err instanceof StorageError) fail(err.message, 1);
    throw err;
  }
  const nodeId = storage.identity.nodeId;
  const log = (line: string) => console.log(`e-goat: ${line}`);
  const ports = { http: config.httpPort, ws: config.wsPort };
  const hub = new SignalHub();
  const mesh = buildMesh(config, nodeId, hub, () => ports, log);
  const node = new Node({ storage, name: config.name, mesh: { links: mesh.links, addresses: mesh.addresses, log } });
  for (const room of config.rooms) node.join(room);
  mesh.discover(node);

  const app = createApp({
    node,
    version: VERSION,
    publicUrl: () => `http://${publicHost(config.host)}:${ports.http}`,
    meshAddresses: mesh.addresses,
    meshHttp: mesh.http ? (request, server) => mesh.http!.handle(request, server) : undefined,
  });
  try {
    // Elysia turns reusePort on by default, which would let a second instance share a busy port silently.
    app.listen({ port: config.httpPort, hostname: config.host, maxRequestBodySize: MAX_REQUEST_BYTES, reusePort: false, development: false });
  } catch (err) {
    storage.close();
    listenError(err, "http-port", config.httpPort, config.host);
  }
  ports.http = app.server!.port!;

  let ws: ReturnType<typeof Bun.serve<Routed>>;
  try {
    ws = Bun.serve<Routed>({
      port: config.wsPort,
      hostname: config.host,
      fetch(req, server) {
        const path = new URL(req.url).pathname;
        if (path === "/signal") return hub.upgrade(req, server);
        if (path === "/link" && mesh.websocket) return mesh.websocket.upgrade(req, server);
        return Response.json({ error: "this port serves /signal and /link only" }, { status: 404 });
      },
      websocket: routedWebSocket,
    });
  } catch (err) {
    app.stop(true);
    storage.close();
    listenError(err, "ws-port", config.wsPort, config.host);
  }
  ports.ws = ws.port!;

  try {
    await mesh.links.start();
    await mesh.lan?.ready;
  } catch (err) {
    ws.stop(true);
    app.stop(true);
    storage.close();
    fail(`--lan-port ${config.lanPort}: ${(err as Error).message}`, 1);
  }
  node.startMesh();
  const stopping = new AbortController();
  for (const url of config.peers) {
    resolvePeerPatiently(url, stopping.signal, log).then(
      (address) => node.introduce(address),
      () => {},
    );
  }

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
    node.stopMesh();
    await mesh.links.close();
    ws.stop(true);
    await app.stop(true);
    storage.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
}

function main(argv: string[]) {
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
  if (parsed.kind === "self-test") return void selfTest();
  void start(parsed.config);
}

async function selfTest() {
  try {
    // Loaded only here, so a normal start does not pay for the native addon.
    const { checkWebRtc } = await import("./transport/webrtc-check.ts");
    const { setupMs, rttMs } = await checkWebRtc();
    console.log(`e-goat self-test: WebRTC DataChannel over loopback ok (setup ${setupMs.toFixed(1)} ms, round trip ${rttMs.toFixed(2)} ms)`);
    process.exit(0);
  } catch (err) {
    fail(`self-test failed: ${(err as Error).message}`, 1);
  }
}

main(process.argv.slice(2));
