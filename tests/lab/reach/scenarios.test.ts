// The networks the product names, in a lab of namespaces (tests/helpers/nat-lab.ts): for each, two instances in it
// link on the tier the product claims for it and carry messages both ways, and again after either restarts; the
// direct, relayed-through-TURN and relayed-through-a-rendezvous paths also after an outage longer than every idle timeout.
import { describe, expect, it } from "bun:test";
import { waitFor } from "../../helpers/instance.ts";
import { DROP_AFTER } from "../../../src/transport/links/address-book.ts";
import { createNatLab, labUnavailable, type Lab } from "../../helpers/nat-lab.ts";
import { netnsUnavailable, reachPanel, startHosted, startRestartable, tierOf, type HostedInstance, type RestartableHosted, type TestHost } from "../../helpers/netns.ts";

const unavailable = netnsUnavailable() ?? labUnavailable(true);
if (unavailable) console.log(`NAT lab tests skipped: ${unavailable}`);

const ROOM = "lab";
const LINK_TIMEOUT_MS = 30_000;
/** An outage longer than every idle timeout: a dead link (2 s), the longest redial wait (30 s), an idle hub session (60 s). */
const OUTAGE_MS = 65_000;

async function say(at: HostedInstance, text: string): Promise<void> {
  const res = await at.api("/send", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ room: ROOM, text }) });
  expect(res.status).toBe(200);
}

async function texts(at: HostedInstance): Promise<string[]> {
  return ((await (await at.api(`/history?room=${ROOM}&limit=1000`)).json()) as { text: string }[]).map((m) => m.text);
}

/** Both instances link on `tier` (or one of `tier`; each sees the other on it), then a message each way arrives. */
async function expectLinked(a: HostedInstance, b: HostedInstance, tier: string | string[], tag = "", timeoutMs = LINK_TIMEOUT_MS): Promise<void> {
  const tiers = typeof tier === "string" ? [tier] : tier;
  const seen = async () => [await tierOf(a, b), await tierOf(b, a)];
  const both = async () => {
    const [atA, atB] = await seen();
    return atA === atB && tiers.includes(atA ?? "");
  };
  await waitFor(both, timeoutMs, `a ${tiers.join(" or ")} link both ways`).catch(async (err) => {
    throw new Error(`${(err as Error).message}; tiers now ${JSON.stringify(await seen())}\n--- A\n${a.output()}\n--- B\n${b.output()}`);
  });
  await say(a, `from A${tag}`);
  await say(b, `from B${tag}`);
  await waitFor(async () => (await texts(b)).includes(`from A${tag}`), 10_000, "A's message at B");
  await waitFor(async () => (await texts(a)).includes(`from B${tag}`), 10_000, "B's message at A");
}


/**
 * A public rendezvous R in no room (relaying links with `relay`), and the flags with which A and B use it; each adds
 * its `--transports`.
 */
async function startRendezvous(lab: Lab, relay = false) {
  const hostR = lab.publics[0]!;
  const r = await startHosted(hostR, ["--name", "R", "--transports", "websocket,http", "--lan-addr", "127.255.255.255", ...(relay ? ["--relay"] : [])], { stun: lab.coturn!.stun });
  const flags = ["--room", ROOM, "--lan-addr", "127.255.255.255", "--turn", lab.coturn!.turn, "--rendezvous", `http://${hostR.ip}:8080`];
  return { r, flags };
}

interface Pair {
  readonly a: HostedInstance;
  readonly b: HostedInstance;
  /** Each can be stopped and started again on its own database (its node id and rooms kept). */
  A: RestartableHosted;
  B: RestartableHosted;
  [Symbol.asyncDispose](): Promise<void>;
}

/** A in `hostA`, and B in `hostB` told of A at `aUrl`; both with the lab's STUN (and TURN where given). */
async function pair(lab: Lab, hostA: TestHost, hostB: TestHost, aUrl: string, opts: { transports: string; turn?: boolean; aHttpPort?: number }): Promise<Pair> {
  const flags = ["--room", ROOM, "--transports", opts.transports, "--lan-addr", "127.255.255.255", ...(opts.turn ? ["--turn", lab.coturn!.turn] : [])];
  const stun = lab.coturn!.stun;
  const A = await startRestartable(hostA, [...flags, "--name", "A"], { stun, httpPort: opts.aHttpPort });
  try {
    const B = await startRestartable(hostB, [...flags, "--name", "B", "--peer", aUrl], { stun });
    return {
      A,
      B,
      get a() {
        return A.current;
      },
      get b() {
        return B.current;
      },
      async [Symbol.asyncDispose]() {
        await B[Symbol.asyncDispose]();
        await A[Symbol.asyncDispose]();
      },
    };
  } catch (err) {
    await A[Symbol.asyncDispose]();
    throw err;
  }
}

/** A restarts and the two link again on `tier`, messages both ways; then B does. */
async function relinksAfterRestarts(A: RestartableHosted, B: RestartableHosted, tier: string | string[]): Promise<void> {
  await A.restart();
  await expectLinked(A.current, B.current, tier, " after A restarts");
  await B.restart();
  await expectLinked(A.current, B.current, tier, " after B restarts");
}

/**
 * Nothing crosses `router` for OUTAGE_MS (both ends see the link gone meanwhile, and each sends a message); then the
 * two link again on `tier`, and what each sent meanwhile arrives once.
 */
async function relinksAfterOutage(router: TestHost, a: HostedInstance, b: HostedInstance, tier: string | string[]): Promise<void> {
  router.exec(["iptables", "-I", "FORWARD", "1", "-j", "DROP"]);
  try {
    await waitFor(async () => (await tierOf(a, b)) === null && (await tierOf(b, a)) === null, 10_000, "both see the link gone");
    await say(a, "from A during the outage");
    await say(b, "from B during the outage");
    await Bun.sleep(OUTAGE_MS);
  } finally {
    router.exec(["iptables", "-D", "FORWARD", "1"]);
  }
  // Every path waited out its longest redial backoff (30 s) meanwhile, and may need it once more.
  await expectLinked(a, b, tier, " after the outage", 2 * LINK_TIMEOUT_MS);
  for (const at of [a, b]) {
    const all = await texts(at);
    for (const text of ["from A during the outage", "from B during the outage"]) expect(all.filter((t) => t === text)).toHaveLength(1);
  }
}

describe.skipIf(unavailable !== null)("reach, in a lab of NATs", () => {
  it("same LAN (behind one router): webrtc, and again after either restarts", async () => {
    await using lab = await createNatLab({ sites: [{ nat: "cone", hosts: 2 }], coturn: true });
    const [hostA, hostB] = lab.sites[0]!.hosts as [TestHost, TestHost];
    await using p = await pair(lab, hostA, hostB, `http://${hostA.ip}:8080`, { transports: "webrtc,websocket,http" });
    await expectLinked(p.a, p.b, "webrtc");
    await relinksAfterRestarts(p.A, p.B, "webrtc");
  }, 90_000);

  it("A public, B behind a cone NAT: webrtc, and again after either restarts; B's invite panel names its public address as STUN sees it", async () => {
    await using lab = await createNatLab({ publics: 1, sites: [{ nat: "cone" }], coturn: true });
    const hostA = lab.publics[0]!;
    await using p = await pair(lab, hostA, lab.sites[0]!.hosts[0]!, `http://${hostA.ip}:8080`, { transports: "webrtc,websocket,http" });
    await expectLinked(p.a, p.b, "webrtc");
    await waitFor(async () => (await reachPanel(p.b, ROOM)).includes(`Public address (from STUN): ${lab.sites[0]!.publicIp}.`), 30_000, "B's public address from STUN").catch(async (err) => {
      throw new Error(`${(err as Error).message}: ${await reachPanel(p.b, ROOM)}`);
    });
    await relinksAfterRestarts(p.A, p.B, "webrtc");
  }, 90_000);

  it("both behind cone NATs, A's ports forwarded: a UDP tier, websocket and http besides, and again after either restarts", async () => {
    await using lab = await createNatLab({ sites: [{ nat: "cone", forward: [8080, 9000] }, { nat: "cone" }], coturn: true });
    const [siteA, siteB] = lab.sites as [Lab["sites"][0], Lab["sites"][0]];
    await using p = await pair(lab, siteA.hosts[0]!, siteB.hosts[0]!, `http://${siteA.publicIp}:8080`, { transports: "webrtc,turn,websocket,http", turn: true });
    await expectLinked(p.a, p.b, ["webrtc", "turn"]);
    // A advertises its private address; B keeps the one it was given, which works, for every tier that dials it.
    const log = async () => JSON.stringify(await (await p.b.api("/peers?log=1")).json());
    await waitFor(async () => /websocket link up/.test(await log()) && /http link up/.test(await log()), 10_000, "websocket and http links").catch(async (err) => {
      throw new Error(`${(err as Error).message}: ${await log()}`);
    });
    await relinksAfterRestarts(p.A, p.B, ["webrtc", "turn", "websocket"]);
  }, 120_000);

  it("A public, B behind a cone NAT: after an outage of B's network longer than every idle timeout, the link comes back and what each sent meanwhile arrives once", async () => {
    await using lab = await createNatLab({ publics: 1, sites: [{ nat: "cone" }], coturn: true });
    const hostA = lab.publics[0]!;
    const router = lab.sites[0]!.router;
    await using p = await pair(lab, hostA, lab.sites[0]!.hosts[0]!, `http://${hostA.ip}:8080`, { transports: "webrtc,websocket,http" });
    await expectLinked(p.a, p.b, "webrtc");
    await relinksAfterOutage(router, p.a, p.b, "webrtc");
  }, 180_000);

  it("both behind cone NATs, A's ports forwarded, both told only of public C and D: A learns from them that it is reachable at its public address (two peers at two addresses agree; no STUN without webrtc, and the router has no hairpin) and advertises it, B links to it there over websocket (again after either restarts), and A's invite panel says so", async () => {
    await using lab = await createNatLab({ publics: 2, sites: [{ nat: "cone", forward: [8080, 9000] }, { nat: "cone" }], coturn: true });
    const [siteA, siteB] = lab.sites as [Lab["sites"][0], Lab["sites"][0]];
    const [hostC, hostD] = lab.publics as [TestHost, TestHost];
    const flags = ["--room", ROOM, "--transports", "websocket,http", "--lan-addr", "127.255.255.255", "--peer", `http://${hostC.ip}:8080`, "--peer", `http://${hostD.ip}:8080`];
    const stun = lab.coturn!.stun;
    const publicFlags = ["--room", ROOM, "--transports", "websocket,http", "--lan-addr", "127.255.255.255"];
    await using c = await startHosted(hostC, [...publicFlags, "--name", "C"], { stun });
    await using d = await startHosted(hostD, [...publicFlags, "--name", "D"], { stun });
    expect(d.nodeId).not.toBe(c.nodeId);
    await using A = await startRestartable(siteA.hosts[0]!, [...flags, "--name", "A"], { stun });
    const a = A.current;
    await waitFor(async () => (await reachPanel(a, ROOM)).includes(`Reachable from the internet at http://${siteA.publicIp}:8080`), 20_000, "A's panel saying where it is reached").catch(async (err) => {
      throw new Error(`${(err as Error).message}\n${await reachPanel(a, ROOM)}\n--- A\n${a.output()}`);
    });
    await using B = await startRestartable(siteB.hosts[0]!, [...flags, "--name", "B"], { stun });
    const b = B.current;
    // B hears of A from C, with the address A now advertises: the only one of A's a TCP dial from B's network reaches.
    await expectLinked(a, b, ["websocket"]);
    expect(await tierOf(a, c)).not.toBeNull();
    const seen = `Seen from the internet at ${siteB.publicIp}, but its ports do not answer there`;
    await waitFor(async () => (await reachPanel(b, ROOM)).includes(seen), 20_000, "B's panel saying it is seen from outside").catch(async (err) => {
      throw new Error(`${(err as Error).message}: ${await reachPanel(b, ROOM)}`);
    });
    await relinksAfterRestarts(A, B, ["websocket"]);
  }, 120_000);

  it("both behind symmetric NATs, A's ports forwarded: turn, and again after either restarts", async () => {
    await using lab = await createNatLab({ sites: [{ nat: "symmetric", forward: [8080, 9000] }, { nat: "symmetric" }], coturn: true });
    const [siteA, siteB] = lab.sites as [Lab["sites"][0], Lab["sites"][0]];
    await using p = await pair(lab, siteA.hosts[0]!, siteB.hosts[0]!, `http://${siteA.publicIp}:8080`, { transports: "webrtc,turn,websocket,http", turn: true });
    await expectLinked(p.a, p.b, "turn");
    await relinksAfterRestarts(p.A, p.B, "turn");
  }, 90_000);

  for (const nat of ["cone", "symmetric"] as const) {
    it(`both behind ${nat} NATs, no port forwarded, a public C in the room: A and B link to each other directly (${nat === "cone" ? "webrtc or turn" : "turn"}), and stop dialling each other's private addresses; again after either restarts`, async () => {
      await using lab = await createNatLab({ publics: 1, sites: [{ nat }, { nat }], coturn: true });
      const hostC = lab.publics[0]!;
      const flags = ["--room", ROOM, "--transports", "webrtc,turn,websocket,http", "--lan-addr", "127.255.255.255", "--turn", lab.coturn!.turn];
      const stun = lab.coturn!.stun;
      const peerC = ["--peer", `http://${hostC.ip}:8080`];
      await using c = await startHosted(hostC, [...flags, "--name", "C"], { stun });
      await using A = await startRestartable(lab.sites[0]!.hosts[0]!, [...flags, "--name", "A", ...peerC], { stun });
      await using B = await startRestartable(lab.sites[1]!.hosts[0]!, [...flags, "--name", "B", ...peerC], { stun });
      const [a, b] = [A.current, B.current];
      // Each learns of the other from C; the negotiation goes through C, sealed; the link is their own.
      await expectLinked(a, b, nat === "cone" ? ["webrtc", "turn"] : ["turn"]);
      expect(await tierOf(a, c)).not.toBeNull();
      // The other's private address (another network's) stops being dialled once it failed a few times with the two
      // linked. Which side dials it is the one that heard of the other first: the other may link to it before it is
      // introduced, and a linked peer is not dialled again; so both sides' logs are read.
      const failedAt = async (from: HostedInstance, to: HostedInstance) => {
        const rows = (await (await from.api("/peers?log=1")).json()) as { node_id: string; log: { event: string }[] }[];
        const log = rows.find((r) => r.node_id === to.nodeId)?.log ?? [];
        return Math.max(0, ...log.map((e) => Number(/^websocket dial failed \((\d+)x\)/.exec(e.event)?.[1] ?? 0)));
      };
      const failures = async () => Math.max(await failedAt(a, b), await failedAt(b, a));
      // Each failure takes the dial's 10 s timeout here (the lab's routers drop what has no route), then backoff.
      await waitFor(async () => (await failures()) >= DROP_AFTER, 60_000, `${DROP_AFTER} failed websocket dials to the other's private address`).catch(async (err) => {
        throw new Error(`${(err as Error).message}: A: ${JSON.stringify(await (await a.api("/peers?log=1")).json())} B: ${JSON.stringify(await (await b.api("/peers?log=1")).json())}`);
      });
      const settled = await failures();
      await Bun.sleep(12_000);
      expect(await failures()).toBeLessThanOrEqual(settled + 1);
      await relinksAfterRestarts(A, B, nat === "cone" ? ["webrtc", "turn"] : ["turn"]);
    }, 150_000);
  }

  for (const nat of ["cone", "symmetric"] as const) {
    it(`both behind ${nat} NATs, no port forwarded, no common member: A and B meet at a public rendezvous that holds no room and link directly (${nat === "cone" ? "webrtc or turn" : "turn"}), and again after either restarts${nat === "symmetric" ? " and after an outage longer than every idle timeout" : ""}`, async () => {
      await using lab = await createNatLab({ publics: 1, sites: [{ nat }, { nat }], coturn: true });
      const stun = lab.coturn!.stun;
      const rendezvous = await startRendezvous(lab);
      await using r = rendezvous.r;
      const flags = [...rendezvous.flags, "--transports", "webrtc,turn,websocket,http"];
      await using A = await startRestartable(lab.sites[0]!.hosts[0]!, [...flags, "--name", "A"], { stun });
      await using B = await startRestartable(lab.sites[1]!.hosts[0]!, [...flags, "--name", "B"], { stun });
      const tiers = nat === "cone" ? ["webrtc", "turn"] : ["turn"];
      await expectLinked(A.current, B.current, tiers);
      await relinksAfterRestarts(A, B, tiers);
      // Through B's router go B's links to R and to A: both are met again once it passes traffic.
      if (nat === "symmetric") await relinksAfterOutage(lab.sites[1]!.router, A.current, B.current, tiers);
      // R linked both, passed their signaling on, and holds neither the room nor a message of it.
      const atR = (await (await r.api("/peers")).json()) as { node_id: string; rooms: string[] }[];
      expect(atR.map((p) => p.node_id).sort()).toEqual([A.current.nodeId, B.current.nodeId].sort());
      expect(atR.every((p) => p.rooms.length === 0)).toBe(true);
      expect(await (await r.api(`/history?room=${ROOM}`)).json()).toEqual([]);
    }, nat === "symmetric" ? 240_000 : 120_000);
  }

  it("both in corporate networks (no UDP out), no port forwarded: A and B link through a public rendezvous that relays (relay), again after either restarts and after an outage longer than every idle timeout", async () => {
    await using lab = await createNatLab({ publics: 1, sites: [{ nat: "cone", egress: "no-udp" }, { nat: "cone", egress: "no-udp" }], coturn: true });
    const stun = lab.coturn!.stun;
    const rendezvous = await startRendezvous(lab, true);
    await using r = rendezvous.r;
    const flags = [...rendezvous.flags, "--transports", "webrtc,turn,websocket,http,relay"];
    await using A = await startRestartable(lab.sites[0]!.hosts[0]!, [...flags, "--name", "A"], { stun });
    await using B = await startRestartable(lab.sites[1]!.hosts[0]!, [...flags, "--name", "B"], { stun });
    await expectLinked(A.current, B.current, "relay");
    await relinksAfterRestarts(A, B, "relay");
    await relinksAfterOutage(lab.sites[0]!.router, A.current, B.current, "relay");
    expect(await (await r.api(`/history?room=${ROOM}`)).json()).toEqual([]);
  }, 240_000);

  it("B in a corporate network (no UDP out), A public: websocket, and again after either restarts", async () => {
    await using lab = await createNatLab({ publics: 1, sites: [{ nat: "cone", egress: "no-udp" }], coturn: true });
    const hostA = lab.publics[0]!;
    await using p = await pair(lab, hostA, lab.sites[0]!.hosts[0]!, `http://${hostA.ip}:8080`, { transports: "webrtc,websocket,http" });
    await expectLinked(p.a, p.b, "websocket");
    await relinksAfterRestarts(p.A, p.B, "websocket");
  }, 90_000);

  it("B allowed only TCP to ports 80 and 443, A public on port 80: http, and again after either restarts", async () => {
    await using lab = await createNatLab({ publics: 1, sites: [{ nat: "cone", egress: "web-only" }], coturn: true });
    const hostA = lab.publics[0]!;
    await using p = await pair(lab, hostA, lab.sites[0]!.hosts[0]!, `http://${hostA.ip}`, { transports: "webrtc,websocket,http", aHttpPort: 80 });
    await expectLinked(p.a, p.b, "http");
    await relinksAfterRestarts(p.A, p.B, "http");
  }, 90_000);
});
