// Issue 24: catching up from a mailbox against catching up from a live member, in one run, between real instances
// (websocket tier, loopback). A mailbox M (`--mailbox`); Alice, using M as her rendezvous, creates a private room and
// writes COUNT messages (POST /send, 8 in flight), which she pushes to M; the bench waits until M's GET /mailbox holds
// them all. Then RUNS rounds, each of both paths in turn (so a busy moment of the machine weighs on both alike):
// - member path: with M away (Alice would tell Carol of it), a new Carol joins with an invite that names no rendezvous
//   (she links to Alice alone) and is timed from her ready line until her /history holds all COUNT; then Carol and
//   Alice stop, and M comes back;
// - mailbox path: a new Bob joins with the invite and `--rendezvous M`, nobody else up, timed the same; then Bob stops
//   and Alice comes back (same ports, same database) for the next round.
// Every catch-up must give every message once, in Alice's order, from the one instance it is meant to link to.
// Bytes are the TCP payload the catching-up instance's sockets carried each way (`ss -ti`: bytes_received,
// bytes_sent), its own HTTP server's excluded: it is a new process, so that is all of its linking and catching up.
// CPU is utime+stime from /proc/<pid>/stat, from the ready line to the last message, of the instance catching up and
// of the one serving it; "waited for a core" is the time the catching-up instance's JavaScript thread was runnable but
// not running (/proc/<pid>/schedstat), as on a busy 2-core machine; "first" is when its first message showed, "stall"
// the longest time its long-polled /history then brought nothing new. The table gives the median of each path's runs.
// Targets (printed, not enforced): the mailbox path within 1.5x the member path's seconds, and under 3 s.
// Usage: bun run bench/mailbox.ts [COUNT=10000] [RUNS=5]; with PROFILE_DIR=DIR, each instance started writes a CPU
// profile there as it stops (DIR/<name>-<n>.md, Bun's --cpu-prof-md).
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deadTcpPort } from "../tests/helpers/ports.ts";
import { startInstance, type Instance } from "../tests/helpers/instance.ts";

const COUNT = Number(process.argv[2] ?? 10_000);
if (!Number.isInteger(COUNT) || COUNT < 1) throw new Error(`COUNT must be a whole number of messages, not '${process.argv[2]}'`);
const RUNS = Number(process.argv[3] ?? 5);
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error(`RUNS must be a whole number, not '${process.argv[3]}'`);
const ROOM = "bench";
const WS = ["--transports", "websocket"];
/** Sends in flight at Alice while she writes. */
const IN_FLIGHT = 8;
/** How long M may take to hold all that Alice wrote, and each catch-up to finish. */
const FILL_TIMEOUT_MS = 120_000;
const CATCH_UP_TIMEOUT_MS = 120_000;
/** The whole run stops by itself past this, killing what it started. */
const RUN_TIMEOUT_MS = 10 * 60_000;
/** How often the catching-up instance's sockets are read (a socket that closes keeps its last count). */
const SOCKETS_EVERY_MS = 250;

const dir = mkdtempSync(join(tmpdir(), "e-goat-bench-mailbox-"));
const started: Instance[] = [];

/** Stops every instance this run started (killed when it does not stop in time) and removes the temp dir. */
async function cleanUp(): Promise<void> {
  await Promise.allSettled(started.map((i) => i.stop()));
  rmSync(dir, { recursive: true, force: true });
}
function killNow(why: string): never {
  console.error(`\n${why}: stopping the instances`);
  for (const i of started) if (i.proc.exitCode === null && i.proc.signalCode === null) i.proc.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
  process.exit(1);
}
process.on("SIGINT", () => killNow("interrupted"));
process.on("SIGTERM", () => killNow("terminated"));
const runTimer = setTimeout(() => killNow(`no result within ${RUN_TIMEOUT_MS / 60_000} min`), RUN_TIMEOUT_MS);

/** With PROFILE_DIR set, every instance writes a CPU profile there (markdown) when it stops. */
const PROFILE_DIR = process.env.PROFILE_DIR;
let profiles = 0;

async function start(name: string, args: string[]): Promise<Instance> {
  const cmd = PROFILE_DIR
    ? [process.execPath, "--cpu-prof-md", `--cpu-prof-dir=${PROFILE_DIR}`, `--cpu-prof-name=${name}-${++profiles}.md`, "run", join(import.meta.dir, "../src/main.ts")]
    : undefined;
  const instance = await startInstance({ db: join(dir, `${name}.db`), args: [...WS, "--name", name, ...args], cmd, timeoutMs: 60_000 });
  started.push(instance);
  return instance;
}

async function json<T>(res: Response | Promise<Response>): Promise<T> {
  const r = await res;
  if (!r.ok) throw new Error(`${r.url} answered ${r.status}: ${await r.text()}`);
  return (await r.json()) as T;
}

async function waitUntil<T>(check: () => Promise<T | null | undefined | false>, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms / 1000} s`);
    await Bun.sleep(50);
  }
}

interface Message {
  id: string;
  text: string;
  timestamp: number;
  origin: string;
}

/** All of the room's history at `at`, oldest first, a page of 1000 at a time. */
async function wholeHistory(at: Instance): Promise<Message[]> {
  const all: Message[] = [];
  for (;;) {
    const page = await json<Message[]>(fetch(`${at.http}/history?room=${ROOM}&since=${all.at(-1)?.timestamp ?? 0}&limit=1000`));
    all.push(...page);
    if (page.length < 1000) return all;
  }
}

/** Long-polls `at`'s history from the start until it holds `count` messages; resolves with them and when the last came. */
/**
 * Long-polls `at`'s history from the start until it holds `count` messages: them, when the first and the last came,
 * and the longest time between two answers that brought more, once messages flowed (a stall, if there was one).
 */
async function follow(at: Instance, count: number): Promise<{ messages: Message[]; firstAt: number; doneAt: number; pause: number }> {
  const messages: Message[] = [];
  const deadline = performance.now() + CATCH_UP_TIMEOUT_MS;
  let firstAt = 0;
  let lastAt = 0;
  let pause = 0;
  while (messages.length < count) {
    if (performance.now() > deadline) throw new Error(`${messages.length} of ${count} messages after ${CATCH_UP_TIMEOUT_MS / 1000} s`);
    const since = messages.at(-1)?.timestamp ?? 0;
    const page = await json<Message[]>(fetch(`${at.http}/history?room=${ROOM}&since=${since}&limit=1000&wait=5`));
    if (page.length === 0) continue;
    const now = performance.now();
    if (messages.length === 0) firstAt = now;
    else pause = Math.max(pause, now - lastAt);
    lastAt = now;
    messages.push(...page);
  }
  return { messages, firstAt, doneAt: lastAt, pause };
}

/** Milliseconds the main (JavaScript) thread of `pid` spent waiting for a core while it could have run (schedstat). */
function waitedMs(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ")[1]) / 1e6;
}

/** CPU milliseconds (user + system, all threads) `pid` has used so far. */
function cpuMs(pid: number): number {
  // The fields after the command name (which may hold spaces): utime and stime are the 12th and 13th, in ticks of 10 ms.
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ").at(-1)!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * The TCP payload bytes `pid`'s sockets received and sent, but those its HTTP server on `httpPort` accepted (the
 * bench's own requests), sampled every SOCKETS_EVERY_MS with each socket's last count kept, so one that closes counts.
 */
function socketBytes(pid: number, httpPort: number) {
  const last = new Map<string, { received: number; sent: number }>();
  const sample = () => {
    const out = Bun.spawnSync(["ss", "-tinpH"], { stdout: "pipe", stderr: "pipe" });
    if (out.exitCode !== 0) throw new Error(`ss -tinpH failed: ${out.stderr.toString()}`);
    // Each socket is a line of addresses and its process, then an indented line of its TCP info.
    const lines = out.stdout.toString().split("\n");
    for (let i = 0; i + 1 < lines.length; i++) {
      const head = lines[i]!;
      if (!head.includes(`pid=${pid},`)) continue;
      const [local, peer] = head.trim().split(/\s+/).slice(3, 5) as [string, string];
      if (local.endsWith(`:${httpPort}`)) continue;
      const info = lines[i + 1]!;
      const received = Number(/bytes_received:(\d+)/.exec(info)?.[1] ?? 0);
      const sent = Number(/bytes_sent:(\d+)/.exec(info)?.[1] ?? 0);
      last.set(`${local} ${peer}`, { received, sent });
    }
  };
  sample();
  const timer = setInterval(sample, SOCKETS_EVERY_MS);
  return () => {
    clearInterval(timer);
    sample();
    let received = 0;
    let sent = 0;
    for (const s of last.values()) (received += s.received), (sent += s.sent);
    return { received, sent, sockets: last.size };
  };
}

interface CatchUp {
  seconds: number;
  received: number;
  sent: number;
  sockets: number;
  /** Seconds from the ready line to the first message, and the longest stall after it. */
  first: number;
  pause: number;
  cpuCatcher: number;
  /** What the main thread of the instance catching up waited for a core while it could have run, in ms. */
  waited: number;
  cpuServer: number;
  problem: string | null;
}

/** Times `catcher` from its ready line (its start resolved just now) until it holds `reference`, all once and in order. */
async function catchUp(catcher: Instance, server: Instance, reference: string[]): Promise<CatchUp> {
  const ready = performance.now();
  const cpuBefore = [cpuMs(catcher.proc.pid), cpuMs(server.proc.pid)];
  const waitedBefore = waitedMs(catcher.proc.pid);
  const stopSockets = socketBytes(catcher.proc.pid, Number(new URL(catcher.http).port));
  try {
    const { messages, firstAt, doneAt, pause } = await follow(catcher, reference.length);
    const cpuCatcher = cpuMs(catcher.proc.pid) - cpuBefore[0]!;
    const cpuServer = cpuMs(server.proc.pid) - cpuBefore[1]!;
    const waited = waitedMs(catcher.proc.pid) - waitedBefore;
    // A little later, to see that nothing comes twice.
    await Bun.sleep(1000);
    const got = (await wholeHistory(catcher)).map((m) => m.id);
    const { received, sent, sockets } = stopSockets();
    let problem: string | null = null;
    if (new Set(got).size !== got.length) problem = `${got.length - new Set(got).size} messages twice`;
    else if (got.length !== reference.length) problem = `${got.length} messages, not ${reference.length}`;
    else {
      const at = got.findIndex((id, i) => id !== reference[i]);
      if (at >= 0) problem = `out of Alice's order from message ${at + 1} on`;
    }
    if (messages.length !== reference.length) problem ??= `the long poll saw ${messages.length} messages`;
    return { seconds: (doneAt - ready) / 1000, first: (firstAt - ready) / 1000, pause: pause / 1000, received, sent, sockets, cpuCatcher, waited, cpuServer, problem };
  } finally {
    stopSockets();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** One catch-up by a new instance `join` starts, which must link to `server` alone; it is stopped and its database removed after. */
async function once(name: string, join: () => Promise<Instance>, server: Instance, reference: string[], m: Instance): Promise<CatchUp> {
  const catcher = await join();
  try {
    const r = await catchUp(catcher, server, reference);
    // The member path's Carol links to Alice alone; the mailbox path's Bob to M alone.
    const links = await json<{ node_id: string; state: string }[]>(fetch(`${catcher.http}/peers`));
    const strays = links.filter((p) => p.state === "connected" && p.node_id !== server.nodeId).map((p) => (p.node_id === m.nodeId ? "M" : p.node_id));
    if (strays.length > 0) r.problem ??= `linked to ${strays.join(", ")} as well`;
    console.log(
      `  ${name}: ${r.seconds.toFixed(2)} s (first message at ${r.first.toFixed(2)} s, longest stall ${r.pause.toFixed(2)} s; ` +
        `CPU ${r.cpuCatcher} ms, waited for a core ${r.waited.toFixed(0)} ms)${r.problem ? `, ${r.problem.toUpperCase()}` : ""}`,
    );
    return r;
  } finally {
    await catcher.stop();
    started.splice(started.indexOf(catcher), 1);
    for (const suffix of ["", "-wal", "-shm"]) rmSync(`${catcher.db}${suffix}`, { force: true });
  }
}

const mb = (bytes: number) => (bytes / 1e6).toFixed(2);
let failed = false;
try {
  console.log(
    `${COUNT} messages in a private room, caught up by a new member from a live member and from a mailbox alone, ${RUNS} times each (websocket tier, loopback)\n`,
  );
  // M on fixed ports too: it is away while Carol catches up (Alice tells her of it, and she would read it as well).
  const mArgs = ["--mailbox", "--http-port", String(deadTcpPort()), "--ws-port", String(deadTcpPort())];
  let m = await start("mailbox", mArgs);
  // Alice on fixed ports: she stops before each mailbox run and comes back, at the same URL, for the next member run.
  const aliceArgs = ["--rendezvous", m.http, "--http-port", String(deadTcpPort()), "--ws-port", String(deadTcpPort())];
  let alice = await start("alice", aliceArgs);
  const created = await json<{ invite: string }>(
    fetch(`${alice.http}/rooms`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: ROOM }) }),
  );
  const invite = new URL(created.invite);
  if (!invite.searchParams.getAll("rendezvous").includes(m.http)) throw new Error(`Alice's invite names not M as its rendezvous: ${created.invite}`);
  // Carol's invite names Alice alone: she must not read the mailbox.
  const direct = new URL(invite);
  direct.searchParams.delete("rendezvous");

  const writing = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      for (let i = next++; i < COUNT; i = next++) {
        const body = JSON.stringify({ room: ROOM, text: `message ${i + 1} of ${COUNT}, about as long as a line of chat usually is` });
        await json(fetch(`${alice.http}/send`, { method: "POST", headers: { "content-type": "application/json" }, body }));
      }
    }),
  );
  const written = performance.now();
  const fill = await waitUntil(
    async () => {
      const box = await json<{ items: number; bytes: number }>(fetch(`${m.http}/mailbox`));
      return box.items >= COUNT && box;
    },
    FILL_TIMEOUT_MS,
    `M holding ${COUNT} items`,
  );
  const filled = performance.now();
  const reference = (await wholeHistory(alice)).map((m) => m.id);
  if (reference.length !== COUNT) throw new Error(`Alice holds ${reference.length} messages, not ${COUNT}`);
  console.log(
    `Alice wrote ${COUNT} in ${((written - writing) / 1000).toFixed(1)} s (${(COUNT / ((written - writing) / 1000)).toFixed(0)}/s); ` +
      `M held them all ${((filled - written) / 1000).toFixed(1)} s later: ${fill.items} items, ${mb(fill.bytes)} MB sealed (${(fill.bytes / fill.items).toFixed(0)} bytes each)`,
  );
  // What M said no to while Alice pushed (a refused push waits a while before it is tried again).
  for (const line of alice.output().split("\n").filter((l) => l.includes("refused what we pushed")).slice(0, 3)) console.log(`  Alice: ${line}`);
  console.log();

  // The runs of both paths take turns, so a busy moment of the machine weighs on both alike.
  const member: CatchUp[] = [];
  const mailbox: CatchUp[] = [];
  for (let run = 1; run <= RUNS; run++) {
    if (run > 1) {
      alice = await start("alice", aliceArgs);
      // Back at M, with nothing new to give it, before Carol comes.
      await waitUntil(async () => (await json<{ node_id: string; state: string }[]>(fetch(`${alice.http}/peers`))).some((p) => p.node_id === m.nodeId && p.state === "connected"), 30_000, "Alice linked to M again");
      await Bun.sleep(1000);
    }
    // The member path: Carol links to Alice alone and gets everything from her; M is away meanwhile.
    await m.stop();
    started.splice(started.indexOf(m), 1);
    member.push(await once(`member path ${run}, Carol`, () => start(`carol-${run}`, ["--invite", direct.toString()]), alice, reference, m));
    await alice.stop();
    started.splice(started.indexOf(alice), 1);
    m = await start("mailbox", mArgs);
    // The mailbox path: Bob, with nobody but M up.
    mailbox.push(await once(`mailbox path ${run}, Bob`, () => start(`bob-${run}`, ["--rendezvous", m.http, "--invite", created.invite]), m, reference, m));
  }

  const memberSeconds = median(member.map((r) => r.seconds));
  console.log(`\nmedians of ${RUNS} runs; seconds from the ready line of the instance catching up to its /history holding all ${COUNT}`);
  console.log(
    "path                        seconds (min-max)   first   stall   MB in   kB out   bytes in/message   CPU ms catching up   waited for a core ms   CPU ms serving   ratio to member",
  );
  for (const [name, rs] of [
    ["member (Carol from Alice)", member],
    ["mailbox (Bob from M)", mailbox],
  ] as const) {
    const med = (f: (r: CatchUp) => number) => median(rs.map(f));
    const seconds = med((r) => r.seconds);
    const range = `(${Math.min(...rs.map((r) => r.seconds)).toFixed(2)}-${Math.max(...rs.map((r) => r.seconds)).toFixed(2)})`;
    const problems = [...new Set(rs.flatMap((r) => (r.problem ? [r.problem] : [])))];
    console.log(
      `${name.padEnd(27)} ${seconds.toFixed(2).padStart(7)} ${range.padStart(11)} ${med((r) => r.first).toFixed(2).padStart(7)} ${med((r) => r.pause).toFixed(2).padStart(7)} ` +
        `${mb(med((r) => r.received)).padStart(7)} ${(med((r) => r.sent) / 1000).toFixed(1).padStart(8)} ${(med((r) => r.received) / COUNT).toFixed(0).padStart(18)} ` +
        `${med((r) => r.cpuCatcher).toFixed(0).padStart(20)} ${med((r) => r.waited).toFixed(0).padStart(22)} ${med((r) => r.cpuServer).toFixed(0).padStart(16)} ` +
        `${(seconds / memberSeconds).toFixed(2).padStart(17)}${problems.length ? `   ${problems.join("; ").toUpperCase()}` : ""}`,
    );
    if (problems.length) failed = true;
  }
  const mailboxSeconds = median(mailbox.map((r) => r.seconds));
  const mark = (ok: boolean) => (ok ? "met" : "MISSED");
  console.log("\ntargets (printed, not enforced):");
  console.log(`  mailbox path within 1.5x the member path: ${(mailboxSeconds / memberSeconds).toFixed(2)}x, ${mark(mailboxSeconds <= 1.5 * memberSeconds)}`);
  console.log(`  mailbox path under 3 s: ${mailboxSeconds.toFixed(2)} s, ${mark(mailboxSeconds < 3)}`);
  const cpu = (rs: CatchUp[]) => median(rs.map((r) => r.cpuCatcher));
  console.log(`  (CPU of the instance catching up, mailbox path to member path: ${(cpu(mailbox) / cpu(member)).toFixed(2)}x; a run that waited long for a core is slower for it)`);
} catch (error) {
  console.error(`\nFAILED: ${(error as Error).message}`);
  for (const i of started) if (i.errors().trim()) console.error(`--- stderr of ${i.nodeId}:\n${i.errors().slice(-2000)}`);
  failed = true;
} finally {
  clearTimeout(runTimer);
  await cleanUp();
}
if (failed) {
  console.error("\nFAILED: a catch-up was incomplete, repeated or out of order, or the run could not finish (see above)");
  process.exit(1);
}
process.exit(0);
