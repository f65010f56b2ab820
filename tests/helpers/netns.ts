// Test hosts in network namespaces made (and removed) by the test itself: two hosts on one bridge, reachable from
// the test through UNIX sockets (which namespaces do not separate), so the machine's own network is never touched.
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { tempDir, waitFor } from "./instance.ts";

export function sh(args: string[]): { ok: boolean; out: string } {
  const r = Bun.spawnSync(args, { stdout: "pipe", stderr: "pipe" });
  return { ok: r.exitCode === 0, out: `${r.stdout.toString()}${r.stderr.toString()}` };
}

export function must(args: string[]): void {
  const r = sh(args);
  if (!r.ok) throw new Error(`${args.join(" ")}: ${r.out.trim()}`);
}

/** Why namespace tests cannot run here, or null when they can. */
export function netnsUnavailable(): string | null {
  if (process.getuid?.() !== 0) return "network-namespace tests need root";
  if (!Bun.which("ip")) return "network-namespace tests need iproute2 (ip)";
  if (!Bun.which("iptables")) return "network-namespace tests need iptables (apt-get install iptables)";
  const probe = `egprobe${process.pid % 100000}`;
  if (!sh(["ip", "netns", "add", probe]).ok) return "cannot create network namespaces here";
  const iptables = sh(["ip", "netns", "exec", probe, "iptables", "-S"]).ok;
  sh(["ip", "netns", "del", probe]);
  return iptables ? null : "iptables does not work inside a network namespace here";
}

export interface TestHost {
  ns: string;
  ip: string;
  /** Runs a command inside this host's namespace. */
  exec(args: string[]): void;
}

export interface TestLan {
  hosts: TestHost[];
  [Symbol.asyncDispose](): Promise<void>;
}

/** Creates `count` hosts (192.0.2.1, .2, …: TEST-NET-1, never routed) joined by a bridge in a namespace of its own. */
export function createTestLan(count: number): TestLan {
  const tag = `eg${(process.pid % 1000).toString(36)}${Math.floor(Math.random() * 36 ** 3).toString(36)}`;
  const bridgeNs = `${tag}-br`;
  const namespaces = [bridgeNs];
  const destroy = () => {
    for (const ns of namespaces) sh(["ip", "netns", "del", ns]);
  };
  try {
    must(["ip", "netns", "add", bridgeNs]);
    must(["ip", "netns", "exec", bridgeNs, "ip", "link", "add", "br0", "type", "bridge"]);
    must(["ip", "netns", "exec", bridgeNs, "ip", "link", "set", "br0", "up"]);
    const hosts: TestHost[] = [];
    for (let i = 1; i <= count; i++) {
      const ns = `${tag}-h${i}`;
      namespaces.push(ns);
      must(["ip", "netns", "add", ns]);
      // The veth pair is made inside the namespaces, so nothing is ever created in the machine's own.
      must(["ip", "netns", "exec", ns, "ip", "link", "add", "eth0", "type", "veth", "peer", "name", `p${i}`, "netns", bridgeNs]);
      must(["ip", "netns", "exec", bridgeNs, "ip", "link", "set", `p${i}`, "master", "br0", "up"]);
      must(["ip", "netns", "exec", ns, "ip", "addr", "add", `192.0.2.${i}/24`, "dev", "eth0"]);
      must(["ip", "netns", "exec", ns, "ip", "link", "set", "eth0", "up"]);
      must(["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"]);
      hosts.push({ ns, ip: `192.0.2.${i}`, exec: (args) => must(["ip", "netns", "exec", ns, ...args]) });
    }
    return { hosts, [Symbol.asyncDispose]: async () => destroy() };
  } catch (err) {
    destroy();
    throw err;
  }
}

/** A process inside a host, with a UNIX-socket proxy to its HTTP port so the test can reach it from outside. */
export interface HostedInstance {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  nodeId: string;
  /** fetch() against the instance's HTTP API. */
  api(path: string, init?: RequestInit): Promise<Response>;
  output(): string;
  [Symbol.asyncDispose](): Promise<void>;
}

const ROOT = join(import.meta.dir, "..", "..");

export interface HostedOptions {
  /** `--stun` (a lab's server). @default none */
  stun?: string;
  /** @default 8080 */
  httpPort?: number;
  /** The database to use (kept after the instance stops), as for a restart. @default a new one */
  db?: string;
  timeoutMs?: number;
}

/** Starts an instance in `host` (HTTP on 8080 and WebSocket on 9000 unless told), and a proxy beside it; resolves at its ready line. */
export async function startHosted(host: TestHost, args: string[], opts: HostedOptions = {}): Promise<HostedInstance> {
  const { stun = "none", httpPort = 8080, timeoutMs = 20_000 } = opts;
  const dir = tempDir("e-goat-ns-");
  const db = opts.db ?? join(dir, "chat.db");
  const socket = join(dir, "http.sock");
  const proc = Bun.spawn(
    ["ip", "netns", "exec", host.ns, process.execPath, "run", join(ROOT, "src/main.ts"), "--host", "0.0.0.0", "--stun", stun, "--http-port", String(httpPort), "--db", db, ...args],
    { cwd: ROOT, stdin: "ignore", stdout: "pipe", stderr: "pipe" },
  );
  let out = "";
  const ready = Promise.withResolvers<string>();
  (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of proc.stdout) {
      out += decoder.decode(chunk, { stream: true });
      const m = /^e-goat ready .* node=(\S+)$/m.exec(out);
      if (m) ready.resolve(m[1]!);
    }
  })();
  (async () => {
    for await (const chunk of proc.stderr) out += new TextDecoder().decode(chunk);
  })();
  proc.exited.then((code) => ready.reject(new Error(`instance in ${host.ns} exited with ${code}:\n${out}`)));
  const timer = setTimeout(() => ready.reject(new Error(`no ready line from ${host.ns}:\n${out}`)), timeoutMs);
  const proxy = Bun.spawn(["ip", "netns", "exec", host.ns, process.execPath, join(ROOT, "tests/helpers/ns-proxy.ts"), socket, `http://127.0.0.1:${httpPort}`], {
    stdin: "ignore",
    stdout: "ignore",
    stderr: "inherit",
  });
  let nodeId: string;
  try {
    nodeId = await ready.promise;
    while (!existsSync(socket)) await Bun.sleep(20);
  } catch (err) {
    proc.kill("SIGKILL");
    proxy.kill("SIGKILL");
    throw err;
  } finally {
    clearTimeout(timer);
  }
  return {
    proc,
    nodeId,
    // The Host a browser on the instance's own host would send: the guard refuses names it does not know.
    api: (path, init) => fetch(`http://localhost${path}`, { ...init, unix: socket } as RequestInit),
    output: () => out,
    async [Symbol.asyncDispose]() {
      proc.kill("SIGTERM");
      proxy.kill("SIGTERM");
      const timer = setTimeout(() => {
        console.log(`instance in ${host.ns} did not stop within 10 s of SIGTERM; killing it${threadDump(proc.pid)}\n--- its output\n${out.slice(-4000)}`);
        proc.kill("SIGKILL");
        proxy.kill("SIGKILL");
      }, 10_000);
      await Promise.all([proc.exited, proxy.exited]);
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `to` as `from`'s `/peers` lists it, if it does. */
export async function peerRow(from: HostedInstance, to: HostedInstance) {
  const peers = (await (await from.api("/peers")).json()) as { node_id: string; tier: string | null; state: string; chunks_received: number }[];
  return peers.find((p) => p.node_id === to.nodeId);
}

/** The tier of `from`'s connected link to `to`, or null. */
export async function tierOf(from: HostedInstance, to: HostedInstance): Promise<string | null> {
  const row = await peerRow(from, to);
  return row?.state === "connected" ? row.tier : null;
}

export interface WebrtcPair {
  hostB: TestHost;
  a: HostedInstance;
  b: HostedInstance;
  /** Drops every UDP packet in and out of B's host: webrtc dies, websocket stays. */
  cutUdp(): void;
  restoreUdp(): void;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Two hosts whose instances share `room` (webrtc and websocket only), once they are linked over webrtc both ways. */
export async function startWebrtcPair(room: string): Promise<WebrtcPair> {
  const net = createTestLan(2);
  const [hostA, hostB] = net.hosts as [TestHost, TestHost];
  const flags = ["--room", room, "--transports", "webrtc,websocket"];
  const started: HostedInstance[] = [];
  const dispose = async () => {
    for (const instance of started.reverse()) await instance[Symbol.asyncDispose]();
    await net[Symbol.asyncDispose]();
  };
  try {
    const a = await startHosted(hostA, [...flags, "--name", "A"]);
    started.push(a);
    const b = await startHosted(hostB, [...flags, "--name", "B", "--peer", `http://${hostA.ip}:8080`]);
    started.push(b);
    await waitFor(async () => (await tierOf(a, b)) === "webrtc" && (await tierOf(b, a)) === "webrtc", 30_000, "webrtc between the hosts").catch((err) => {
      throw new Error(`${(err as Error).message}\n--- A\n${a.output()}\n--- B\n${b.output()}`);
    });
    return {
      hostB,
      a,
      b,
      cutUdp: () => {
        hostB.exec(["iptables", "-A", "INPUT", "-p", "udp", "-j", "DROP"]);
        hostB.exec(["iptables", "-A", "OUTPUT", "-p", "udp", "-j", "DROP"]);
      },
      restoreUdp: () => hostB.exec(["iptables", "-F"]),
      [Symbol.asyncDispose]: dispose,
    };
  } catch (err) {
    await dispose();
    throw err;
  }
}

/** Where each thread of a stuck process is, when gdb is here to say (the stacks of a deadlock name its locks). */
function threadDump(pid: number): string {
  if (!Bun.which("gdb")) return "";
  const dump = Bun.spawnSync(["gdb", "-p", String(pid), "-batch", "-ex", "thread apply all bt 30"], { stdout: "pipe", stderr: "pipe", timeout: 20_000 });
  const stacks = dump.stdout.toString().split("\n").filter((line) => /^(Thread|#)/.test(line));
  return `; its threads:\n${stacks.join("\n").slice(0, 20_000)}`;
}

/** The reachability paragraph of an instance's invite panel (the owner's page of `room`). */
export async function reachPanel(at: HostedInstance, room: string): Promise<string> {
  return /<p class="hint reach">[^<]*/.exec(await (await at.api(`/?room=${room}&peer_id=owner`)).text())?.[0] ?? "";
}

/** A hosted instance that can be stopped and started again on its own database (node id and rooms kept). */
export interface RestartableHosted {
  readonly current: HostedInstance;
  restart(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export async function startRestartable(host: TestHost, args: string[], opts: Omit<HostedOptions, "db"> = {}): Promise<RestartableHosted> {
  const dir = tempDir("e-goat-ns-db-");
  const db = join(dir, "chat.db");
  let current: HostedInstance;
  try {
    current = await startHosted(host, args, { ...opts, db });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    get current() {
      return current;
    },
    async restart() {
      await current[Symbol.asyncDispose]();
      current = await startHosted(host, args, { ...opts, db });
    },
    async [Symbol.asyncDispose]() {
      await current[Symbol.asyncDispose]();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `curl` from inside `host`'s namespace (a client on another machine): the status and body; `json` posts it. */
export function curlFrom(host: TestHost, url: string, json?: unknown): { status: number; body: string } {
  const data = json === undefined ? [] : ["-H", "content-type: application/json", "--data-binary", JSON.stringify(json)];
  const r = Bun.spawnSync(["ip", "netns", "exec", host.ns, "curl", "-s", "-m", "10", "-w", "\n%{http_code}", ...data, url], { stdout: "pipe", stderr: "pipe" });
  const out = r.stdout.toString();
  const at = out.lastIndexOf("\n");
  return { status: Number(out.slice(at + 1)), body: out.slice(0, at) };
}
