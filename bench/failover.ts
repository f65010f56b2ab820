// Failover time between two test hosts (network namespaces, needs root): UDP is cut, the link moves from webrtc to
// websocket; UDP returns, webrtc takes over again. Usage: bun run bench/failover.ts [runs=3]
import { createTestLan, netnsUnavailable, startHosted, type HostedInstance } from "../tests/helpers/netns.ts";

const runs = Number(process.argv[2] ?? 3);
const why = netnsUnavailable();
if (why) {
  console.log(`failover bench skipped: ${why}`);
  process.exit(0);
}

async function tierOf(from: HostedInstance, to: HostedInstance): Promise<string | null> {
  const peers = (await (await from.api("/peers")).json()) as { node_id: string; tier: string | null; state: string }[];
  return peers.find((p) => p.node_id === to.nodeId && p.state === "connected")?.tier ?? null;
}

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > timeoutMs) throw new Error(`not within ${timeoutMs} ms`);
    await Bun.sleep(10);
  }
  return performance.now() - started;
}

console.log("webrtc -> websocket when UDP is cut, and back when it returns (two namespaces on a bridge)\n");
const failovers: number[] = [];
const climbs: number[] = [];
for (let run = 1; run <= runs; run++) {
  await using net = createTestLan(2);
  const [hostA, hostB] = net.hosts as [(typeof net.hosts)[0], (typeof net.hosts)[0]];
  const flags = ["--room", "bench", "--transports", "webrtc,websocket"];
  await using a = await startHosted(hostA, flags);
  await using b = await startHosted(hostB, [...flags, "--peer", `http://${hostA.ip}:8080`]);
  await until(async () => (await tierOf(b, a)) === "webrtc", 30_000);
  hostB.exec(["iptables", "-A", "INPUT", "-p", "udp", "-j", "DROP"]);
  hostB.exec(["iptables", "-A", "OUTPUT", "-p", "udp", "-j", "DROP"]);
  failovers.push(await until(async () => (await tierOf(b, a)) === "websocket", 30_000));
  hostB.exec(["iptables", "-F"]);
  climbs.push(await until(async () => (await tierOf(b, a)) === "webrtc", 60_000));
  console.log(`run ${run}: failover ${failovers.at(-1)!.toFixed(0)} ms, back on webrtc ${climbs.at(-1)!.toFixed(0)} ms`);
}
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
console.log(`\nmedian failover ${median(failovers).toFixed(0)} ms (a link is declared dead after 2 s of silence; pings every 0.5 s); median climb-back ${median(climbs).toFixed(0)} ms`);
