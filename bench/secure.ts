// The secure channel's cost per tier, in one run: each tier's raw link against the same tier's link wrapped by the
// Noise XX handshake and sealed frames (src/transport/secure/). Both ends in this process, on loopback.
// Usage: bun run bench/secure.ts [handshakes=30] [round trips=1000] [frames=5000]
import { generateKeyPairSync } from "node:crypto";
import { nodeIdOf } from "../src/storage/identity.ts";
import { httpTransport } from "../src/transport/http/index.ts";
import { lanTransport } from "../src/transport/lan/index.ts";
import type { Link, PeerAddress, Transport } from "../src/transport/link.ts";
import { secureChannel, type ChannelIdentity } from "../src/transport/secure/channel.ts";
import { SignalRouter } from "../src/transport/signaling/router.ts";
import { webrtcTransport } from "../src/transport/webrtc/index.ts";
import { routedWebSocket, websocketTransport, type Routed } from "../src/transport/websocket/index.ts";
import { freeUdpPort } from "../tests/helpers/ports.ts";

const handshakes = Number(process.argv[2] ?? 30);
const roundTrips = Number(process.argv[3] ?? 1000);
const frames = Number(process.argv[4] ?? 5000);

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

function identity(): ChannelIdentity {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  return { nodeId: nodeIdOf(publicKey), publicKey, privateKey };
}

interface Pair {
  a: Transport;
  b: Transport;
  to: PeerAddress;
  stop(): Promise<void>;
}

/** Two transports of each tier, `b` reachable at `to` from `a`. */
async function tierPair(tier: string, ids: [ChannelIdentity, ChannelIdentity]): Promise<Pair> {
  const [ia, ib] = ids;
  switch (tier) {
    case "websocket": {
      const [a, b] = [websocketTransport(), websocketTransport()];
      const server = Bun.serve<Routed>({ port: 0, hostname: "127.0.0.1", fetch: (req, srv) => b.upgrade(req, srv), websocket: routedWebSocket });
      return { a, b, to: { ws: `ws://127.0.0.1:${server.port}` }, stop: async () => void server.stop(true) };
    }
    case "http": {
      const [a, b] = [httpTransport(), httpTransport()];
      const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (req, srv) => b.handle(req, srv) });
      return { a, b, to: { http: `http://127.0.0.1:${server.port}` }, stop: async () => void server.stop(true) };
    }
    case "lan": {
      const port = await freeUdpPort();
      const make = (id: ChannelIdentity) => lanTransport({ localNodeId: id.nodeId, port, address: "127.255.255.255" });
      return { a: make(ia), b: make(ib), to: { nodeId: ib.nodeId, lan: `127.0.0.1:${port}` }, stop: async () => {} };
    }
    case "webrtc": {
      // Signaling straight from one router to the other, as over an existing link.
      const [ra, rb] = [new SignalRouter(), new SignalRouter()];
      ra.useLinks((_to, m) => (queueMicrotask(() => rb.receive(ia.nodeId, m)), true));
      rb.useLinks((_to, m) => (queueMicrotask(() => ra.receive(ib.nodeId, m)), true));
      const make = (id: ChannelIdentity, router: SignalRouter) =>
        webrtcTransport({ tier: "webrtc", localNodeId: id.nodeId, signaling: router.forTier("webrtc"), iceServers: [], bindAddress: "127.0.0.1" });
      return { a: make(ia, ra), b: make(ib, rb), to: { nodeId: ib.nodeId }, stop: async () => {} };
    }
  }
  throw new Error(`no such tier ${tier}`);
}

/** Dials one link; with `secure`, runs the handshake on both ends and answers its time. */
async function link(pair: Pair, accepted: Link[], ids: [ChannelIdentity, ChannelIdentity], secure: boolean) {
  const dialled = await pair.a.dial(pair.to);
  while (accepted.length === 0) await Bun.sleep(1);
  const theirs = accepted.shift()!;
  if (!secure) return { mine: dialled, theirs, handshakeMs: 0 };
  const started = performance.now();
  const [mine, far] = await Promise.all([
    secureChannel(dialled, { identity: ids[0], initiator: true, expected: ids[1].nodeId, timeoutMs: 5000 }),
    secureChannel(theirs, { identity: ids[1], initiator: false, timeoutMs: 5000 }),
  ]);
  return { mine: mine.link, theirs: far.link, handshakeMs: performance.now() - started };
}

/** Round trips of 64-byte frames (p50, p99 in ms), and 1 KiB frames one way (frames/s). */
async function measure(mine: Link, theirs: Link) {
  theirs.onFrame((f) => f.byteLength === 64 && theirs.send(f));
  let wake = () => {};
  let received = 0;
  mine.onFrame(() => wake());
  const payload = new Uint8Array(64);
  const times: number[] = [];
  for (let i = 0; i < roundTrips + 50; i++) {
    const t = performance.now();
    const back = new Promise<void>((r) => (wake = r));
    mine.send(payload);
    await back;
    if (i >= 50) times.push(performance.now() - t);
  }
  times.sort((x, y) => x - y);
  const done = Promise.withResolvers<void>();
  theirs.onFrame((f) => f.byteLength === 1024 && ++received === frames && done.resolve());
  const started = performance.now();
  const kib = new Uint8Array(1024);
  for (let i = 0; i < frames; i++) {
    mine.send(kib);
    if (i % 64 === 63) await Bun.sleep(0);
  }
  await done.promise;
  return { p50: pct(times, 50), p99: pct(times, 99), rate: frames / ((performance.now() - started) / 1000) };
}

console.log(`per tier: ${handshakes} handshakes, ${roundTrips} round trips of 64 B, ${frames} frames of 1 KiB one way; raw link vs secure link\n`);
console.log("tier       handshake p50/p99 ms   rtt p50 raw/secure ms   rtt p99 raw/secure ms   frames/s raw/secure   p50 secure/raw");
for (const tier of ["webrtc", "websocket", "http", "lan"]) {
  const ids: [ChannelIdentity, ChannelIdentity] = [identity(), identity()];
  const pair = await tierPair(tier, ids);
  const accepted: Link[] = [];
  await pair.b.listen((l) => accepted.push(l));
  await pair.a.listen(() => {});
  try {
    const shakes: number[] = [];
    for (let i = 0; i < handshakes; i++) {
      const { mine, theirs, handshakeMs } = await link(pair, accepted, ids, true);
      shakes.push(handshakeMs);
      mine.close();
      theirs.close();
    }
    shakes.sort((x, y) => x - y);
    const raw = await link(pair, accepted, ids, false);
    const rawFigures = await measure(raw.mine, raw.theirs);
    raw.mine.close();
    const sealed = await link(pair, accepted, ids, true);
    const secureFigures = await measure(sealed.mine, sealed.theirs);
    sealed.mine.close();
    const f = (n: number) => n.toFixed(3);
    console.log(
      `${tier.padEnd(10)} ${`${pct(shakes, 50).toFixed(2)} / ${pct(shakes, 99).toFixed(2)}`.padStart(20)}   ${`${f(rawFigures.p50)} / ${f(secureFigures.p50)}`.padStart(21)}   ${`${f(rawFigures.p99)} / ${f(secureFigures.p99)}`.padStart(21)}   ${`${rawFigures.rate.toFixed(0)} / ${secureFigures.rate.toFixed(0)}`.padStart(19)}   ${(secureFigures.p50 / rawFigures.p50).toFixed(2)}x`,
    );
  } finally {
    await pair.a.close();
    await pair.b.close();
    await pair.stop();
  }
}
process.exit(0);
