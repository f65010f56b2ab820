// Reach across the lab of NATs (tests/helpers/nat-lab.ts; needs root, iproute2, iptables, coturn, and miniupnpd for the
// port-mapping row): for each network
// of issue 11's matrix, RUNS times over a fresh lab, B is started told of A (or both of a public C: a member, or a
// rendezvous in no room) and, from B's ready line, timed until a message B sends at once shows at A, and until A shows
// B linked and on which tier.
// Prints p50 and p90 of each, and the tiers seen. Target (printed, not enforced): first message p90 under 1 s where
// the two can link, under 300 ms on a LAN.
// Usage: bun run bench/nat.ts [RUNS, default 10] [SCENARIO ...]
import { createNatLab, labUnavailable, type Lab, type SiteSpec } from "../tests/helpers/nat-lab.ts";
import { netnsUnavailable, startHosted, tierOf, type HostedInstance, type TestHost } from "../tests/helpers/netns.ts";

const ROOM = "bench";
const TIMEOUT_MS = 30_000;
const args = process.argv.slice(2);
const runsArg = args.find((a) => /^\d+$/.test(a));
const RUNS = Number(runsArg ?? 10);
const only = args.filter((a) => a !== runsArg);

interface Scenario {
  name: string;
  lab: { publics?: number; sites: SiteSpec[] };
  /** Where A and B (and C, the public member both are told of) run, and the URL B (and A) are given. */
  place(lab: Lab): { a: TestHost; b: TestHost; c?: TestHost; url: string; aHttpPort?: number };
  lan?: boolean;
  /** C is no member but a rendezvous (relaying links, or not) that A and B are both given instead. */
  rendezvous?: { relay: boolean };
}

const SCENARIOS: Scenario[] = [
  { name: "same LAN", lab: { sites: [{ nat: "cone", hosts: 2 }] }, lan: true, place: (l) => ({ a: l.sites[0]!.hosts[0]!, b: l.sites[0]!.hosts[1]!, url: `http://${l.sites[0]!.hosts[0]!.ip}:8080` }) },
  { name: "A public, B cone", lab: { publics: 1, sites: [{ nat: "cone" }] }, place: (l) => ({ a: l.publics[0]!, b: l.sites[0]!.hosts[0]!, url: `http://${l.publics[0]!.ip}:8080` }) },
  {
    name: "both cone, A forwarded",
    lab: { sites: [{ nat: "cone", forward: [8080, 9000] }, { nat: "cone" }] },
    place: (l) => ({ a: l.sites[0]!.hosts[0]!, b: l.sites[1]!.hosts[0]!, url: `http://${l.sites[0]!.publicIp}:8080` }),
  },
  {
    name: "both symmetric, A forwarded",
    lab: { sites: [{ nat: "symmetric", forward: [8080, 9000] }, { nat: "symmetric" }] },
    place: (l) => ({ a: l.sites[0]!.hosts[0]!, b: l.sites[1]!.hosts[0]!, url: `http://${l.sites[0]!.publicIp}:8080` }),
  },
  {
    name: "both cone, A's router UPnP, public C",
    lab: { publics: 1, sites: [{ nat: "cone", portMapping: "upnp" }, { nat: "cone" }] },
    place: (l) => ({ a: l.sites[0]!.hosts[0]!, b: l.sites[1]!.hosts[0]!, c: l.publics[0]!, url: `http://${l.publics[0]!.ip}:8080` }),
  },
  {
    name: "both cone, no forward, public C",
    lab: { publics: 1, sites: [{ nat: "cone" }, { nat: "cone" }] },
    place: (l) => ({ a: l.sites[0]!.hosts[0]!, b: l.sites[1]!.hosts[0]!, c: l.publics[0]!, url: `http://${l.publics[0]!.ip}:8080` }),
  },
  {
    name: "both symmetric, no forward, public C",
    lab: { publics: 1, sites: [{ nat: "symmetric" }, { nat: "symmetric" }] },
    place: (l) => ({ a: l.sites[0]!.hosts[0]!, b: l.sites[1]!.hosts[0]!, c: l.publics[0]!, url: `http://${l.publics[0]!.ip}:8080` }),
  },
  {
    name: "both cone, no forward, rendezvous",
    lab: { publics: 1, sites: [{ nat: "cone" }, { nat: "cone" }] },
    rendezvous: { relay: false },
    place: (l) => ({ a: l.sites[0]!.hosts[0]!, b: l.sites[1]!.hosts[0]!, c: l.publics[0]!, url: `http://${l.publics[0]!.ip}:8080` }),
  },
  {
    name: "both symmetric, no forward, rendezvous",
    lab: { publics: 1, sites: [{ nat: "symmetric" }, { nat: "symmetric" }] },
    rendezvous: { relay: false },
    place: (l) => ({ a: l.sites[0]!.hosts[0]!, b: l.sites[1]!.hosts[0]!, c: l.publics[0]!, url: `http://${l.publics[0]!.ip}:8080` }),
  },
  {
    name: "both corporate, relaying rendezvous",
    lab: { publics: 1, sites: [{ nat: "cone", egress: "no-udp" }, { nat: "cone", egress: "no-udp" }] },
    rendezvous: { relay: true },
    place: (l) => ({ a: l.sites[0]!.hosts[0]!, b: l.sites[1]!.hosts[0]!, c: l.publics[0]!, url: `http://${l.publics[0]!.ip}:8080` }),
  },
  { name: "B corporate (no UDP)", lab: { publics: 1, sites: [{ nat: "cone", egress: "no-udp" }] }, place: (l) => ({ a: l.publics[0]!, b: l.sites[0]!.hosts[0]!, url: `http://${l.publics[0]!.ip}:8080` }) },
  {
    name: "B web-only, A on :80",
    lab: { publics: 1, sites: [{ nat: "cone", egress: "web-only" }] },
    place: (l) => ({ a: l.publics[0]!, b: l.sites[0]!.hosts[0]!, url: `http://${l.publics[0]!.ip}`, aHttpPort: 80 }),
  },
];

const pct = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : null);
const ms = (n: number | null) => (n === null ? "-" : `${Math.round(n)}`);

async function texts(at: HostedInstance): Promise<string[]> {
  return ((await (await at.api(`/history?room=${ROOM}&limit=100`)).json()) as { text: string }[]).map((m) => m.text);
}

/** One run: milliseconds from B's ready line to its message at A and to A's link to B (with its tier), or null. */
async function run(s: Scenario): Promise<{ message: number | null; link: number | null; tier: string | null }> {
  await using lab = await createNatLab({ ...s.lab, coturn: true });
  const where = s.place(lab);
  const transports = `webrtc,turn,websocket,http${s.rendezvous ? ",relay" : ""}`;
  const flags = ["--room", ROOM, "--transports", transports, "--lan-addr", "127.255.255.255", "--turn", lab.coturn!.turn];
  const stun = lab.coturn!.stun;
  const started: HostedInstance[] = [];
  try {
    // C: a member both are told of, or a rendezvous in no room.
    const cFlags = s.rendezvous ? ["--transports", "websocket,http", "--lan-addr", "127.255.255.255", ...(s.rendezvous.relay ? ["--relay"] : [])] : flags;
    const c = where.c ? await startHosted(where.c, [...cFlags, "--name", "C"], { stun }) : null;
    if (c) started.push(c);
    const toC = s.rendezvous ? ["--rendezvous", where.url] : ["--peer", where.url];
    const a = await startHosted(where.a, [...flags, "--name", "A", ...(c ? toC : [])], { stun, httpPort: where.aHttpPort });
    started.push(a);
    const b = await startHosted(where.b, [...flags, "--name", "B", ...(c ? toC : ["--peer", where.url])], { stun });
    started.push(b);
    const ready = performance.now();
    const text = `hello ${Math.random()}`;
    // Sent at once: it waits in B's store until a path to A exists, as a user's would.
    await b.api("/send", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ room: ROOM, text }) });
    let message: number | null = null;
    let link: number | null = null;
    let tier: string | null = null;
    while (performance.now() - ready < TIMEOUT_MS && (message === null || link === null)) {
      if (message === null && (await texts(a)).includes(text)) message = performance.now() - ready;
      if (link === null && (tier = await tierOf(a, b)) !== null) link = performance.now() - ready;
      await Bun.sleep(10);
    }
    // The tier a second on, when a better one may have taken over.
    if (link !== null) {
      await Bun.sleep(1000);
      tier = (await tierOf(a, b)) ?? tier;
    }
    return { message, link, tier };
  } finally {
    for (const instance of started.reverse()) await instance[Symbol.asyncDispose]();
  }
}

const unavailable = netnsUnavailable() ?? labUnavailable(true);
if (unavailable) {
  console.log(`bench/nat.ts: ${unavailable}`);
  process.exit(1);
}
const chosen = only.length ? SCENARIOS.filter((s) => only.some((o) => s.name.toLowerCase().includes(o.toLowerCase()))) : SCENARIOS;
console.log(`reach across a lab of NATs, ${RUNS} runs each; ms from B's ready line until a message B sent at once shows at A, and until A shows B linked\n`);
console.log(`${"network".padEnd(38)} ${"first message p50/p90".padStart(22)} ${"A-B link p50/p90".padStart(18)}   tiers (a second after the link)   target`);
for (const s of chosen) {
  const results = [];
  for (let i = 0; i < RUNS; i++) {
    // A run whose instance stops answering (README: the TURN deadlock in the bundled WebRTC library) counts as failed.
    results.push(await run(s).catch((error: unknown) => ({ message: null, link: null, tier: `failed (${(error as Error).message.split("\n")[0]!.slice(0, 60)})` })));
  }
  const messages = results.flatMap((r) => (r.message === null ? [] : [r.message])).sort((x, y) => x - y);
  const links = results.flatMap((r) => (r.link === null ? [] : [r.link])).sort((x, y) => x - y);
  const tiers = new Map<string, number>();
  for (const r of results) tiers.set(r.tier ?? "none", (tiers.get(r.tier ?? "none") ?? 0) + 1);
  const p90 = pct(messages, 90);
  const limit = s.lan ? 300 : 1000;
  const target = messages.length < RUNS ? `MISSED (${RUNS - messages.length} never arrived)` : p90! < limit ? `met (< ${limit})` : `MISSED (>= ${limit})`;
  console.log(
    `${s.name.padEnd(38)} ${`${ms(pct(messages, 50))} / ${ms(p90)}`.padStart(22)} ${`${ms(pct(links, 50))} / ${ms(pct(links, 90))}`.padStart(18)}   ${[...tiers].map(([t, n]) => `${t} ${n}`).join(", ").padEnd(32)} ${target}`,
  );
}
