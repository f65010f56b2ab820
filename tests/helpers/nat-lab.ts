// A lab of the networks people use, in network namespaces the test makes and removes: an "internet" (a bridge with
// public addresses from TEST-NET-3, 203.0.113.0/24, never routed anywhere), hosts on it, a coturn server (STUN and
// TURN) on it, and sites behind routers: home routers that NAT as a cone (MASQUERADE keeps ports) or symmetrically
// (MASQUERADE --random-fully), a corporate one that lets no UDP out, a restricted one that lets out only TCP to ports
// 80 and 443, optionally with TCP ports forwarded to the site's first host, or with miniupnpd answering UPnP IGD and
// NAT-PMP on the LAN side. Nothing of it touches the machine's own network: every link is made inside the namespaces.
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { TURNSERVER } from "./coturn.ts";
import { tempDir } from "./instance.ts";
import { must, sh, type TestHost } from "./netns.ts";

/** How a site's router maps its hosts' connections to its public address. */
export type Nat = "cone" | "symmetric";
/** What a site's router lets out: everything, everything but UDP (a corporate network), or TCP to 80 and 443 only. */
export type Egress = "open" | "no-udp" | "web-only";

export interface SiteSpec {
  nat: Nat;
  egress?: Egress;
  /** Hosts on the site's LAN. @default 1 */
  hosts?: number;
  /** TCP ports the router forwards from its public address to the site's first host. */
  forward?: number[];
  /** The router maps ports for its hosts when asked: miniupnpd with UPnP IGD, NAT-PMP, or both. */
  portMapping?: "upnp" | "nat-pmp" | "both";
}

export interface Site {
  /** The router's public address: what the internet sees of every host here. */
  publicIp: string;
  hosts: TestHost[];
  router: TestHost;
  /** The router's address on the site's LAN: its hosts' gateway. */
  lanGateway: string;
  /** The TCP ports the router's miniupnpd forwards now (none without `portMapping`). */
  mappedPorts(): number[];
  /** What miniupnpd logged so far ("" without `portMapping`). */
  mapperLog(): string;
}

export interface LabTurn {
  /** As `--stun` takes it. */
  stun: string;
  /** As `--turn` takes it. */
  turn: string;
  log(): string;
}

export interface Lab {
  /** Hosts on the internet, each with a public address of its own. */
  publics: TestHost[];
  sites: Site[];
  /** The lab's STUN and TURN server, when asked for. */
  coturn: LabTurn | null;
  [Symbol.asyncDispose](): Promise<void>;
}

const INTERNET = "203.0.113";
const TURN_IP = `${INTERNET}.2`;
const TURN_PORT = 3478;
/** A STUN server with two addresses (RFC 5780 tests): what miniupnpd asks to see whether its router is reachable. */
const STUN_5780_IPS = [`${INTERNET}.4`, `${INTERNET}.5`];

/** Debian's miniupnpd, built for nftables (the package miniupnpd-nftables); null when not installed. */
export const MINIUPNPD: string | null = Bun.which("miniupnpd") ?? (existsSync("/usr/sbin/miniupnpd") ? "/usr/sbin/miniupnpd" : null);

/** Why the lab cannot be built here, or null (needs what namespace tests need, coturn and miniupnpd when asked for). */
export function labUnavailable(withCoturn: boolean, withPortMapping = false): string | null {
  if ((withCoturn || withPortMapping) && !TURNSERVER) return "the NAT lab needs coturn (apt-get install coturn)";
  if (withPortMapping && !MINIUPNPD) return "the NAT lab's port-mapping router needs miniupnpd (apt-get install miniupnpd miniupnpd-nftables)";
  if (withPortMapping && !Bun.which("nft") && !existsSync("/usr/sbin/nft")) return "the NAT lab's port-mapping router needs nft (apt-get install nftables)";
  return null;
}

/**
 * miniupnpd's rules live in a table of their own, whose chains it fills; a forward chain that accepts (the lab's own
 * iptables rules still filter), and the NAT chains for the forwards.
 */
const MINIUPNPD_TABLES = `table inet miniupnpd {
  chain forward { type filter hook forward priority 0; policy accept; jump miniupnpd; }
  chain miniupnpd { }
  chain prerouting { type nat hook prerouting priority -100; policy accept; jump prerouting_miniupnpd; }
  chain postrouting { type nat hook postrouting priority 100; policy accept; jump postrouting_miniupnpd; }
  chain prerouting_miniupnpd { }
  chain postrouting_miniupnpd { }
}
`;

/** Builds the lab; everything it made is removed by its async dispose, or at once when building fails. */
export async function createNatLab(spec: { publics?: number; sites?: SiteSpec[]; coturn?: boolean }): Promise<Lab> {
  const tag = `eg${(process.pid % 1000).toString(36)}${Math.floor(Math.random() * 36 ** 3).toString(36)}`;
  const namespaces: string[] = [];
  const processes: Subprocess[] = [];
  const dirs: string[] = [];
  const destroy = async () => {
    for (const proc of processes) proc.kill("SIGKILL");
    await Promise.all(processes.map((p) => p.exited));
    for (const ns of namespaces.reverse()) sh(["ip", "netns", "del", ns]);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  };
  const namespace = (name: string): TestHost => {
    const ns = `${tag}-${name}`;
    must(["ip", "netns", "add", ns]);
    namespaces.push(ns);
    must(["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"]);
    return { ns, ip: "", exec: (args) => must(["ip", "netns", "exec", ns, ...args]) };
  };
  let ports = 0;
  /** A veth pair from `host` (as `ifname`) into `bridgeNs`'s bridge `bridge`. */
  const plug = (host: TestHost, ifname: string, bridgeNs: string, bridge: string) => {
    const peer = `v${++ports}`;
    host.exec(["ip", "link", "add", ifname, "type", "veth", "peer", "name", peer, "netns", bridgeNs]);
    must(["ip", "netns", "exec", bridgeNs, "ip", "link", "set", peer, "master", bridge, "up"]);
    host.exec(["ip", "link", "set", ifname, "up"]);
  };
  try {
    const internet = namespace("inet");
    internet.exec(["ip", "link", "add", "br0", "type", "bridge"]);
    internet.exec(["ip", "link", "set", "br0", "up"]);
    const onInternet = (name: string, ip: string): TestHost => {
      const host = namespace(name);
      plug(host, "eth0", internet.ns, "br0");
      host.exec(["ip", "addr", "add", `${ip}/24`, "dev", "eth0"]);
      return { ...host, ip };
    };

    // miniupnpd maps ports only once a STUN server with two addresses tells it nothing filters in front of its router:
    // it will not otherwise trust an address of TEST-NET-3, which it takes for a reserved one.
    let stun5780: TestHost | null = null;
    const startMiniupnpd = (router: TestHost, lan: string, protocols: NonNullable<SiteSpec["portMapping"]>) => {
      if (!MINIUPNPD || !TURNSERVER) throw new Error("miniupnpd or coturn missing: apt-get install miniupnpd miniupnpd-nftables coturn");
      if (!stun5780) {
        const host = onInternet("stun", STUN_5780_IPS[0]!);
        host.exec(["ip", "addr", "add", `${STUN_5780_IPS[1]}/24`, "dev", "eth0"]);
        const dir = tempDir("e-goat-lab-stun-");
        dirs.push(dir);
        // prettier-ignore
        processes.push(Bun.spawn(["ip", "netns", "exec", host.ns, TURNSERVER, "-n", "--stun-only", ...STUN_5780_IPS.flatMap((ip) => ["-L", ip]),
          `--listening-port=${TURN_PORT}`, "--no-cli", "--no-tls", "--no-dtls", "--no-software-attribute", "--no-stdout-log",
          `--pidfile=${join(dir, "turnserver.pid")}`, `--userdb=${join(dir, "turndb")}`], { stdin: "ignore", stdout: "ignore", stderr: "ignore" }));
        const probe = Bun.spawnSync(["ip", "netns", "exec", host.ns, process.execPath, join(import.meta.dir, "stun-probe.ts"), STUN_5780_IPS[0]!, String(TURN_PORT)]);
        if (probe.exitCode !== 0) throw new Error("the lab's RFC 5780 STUN server did not answer within 10 s");
        stun5780 = host;
      }
      const dir = tempDir("e-goat-lab-upnp-");
      dirs.push(dir);
      writeFileSync(join(dir, "tables.nft"), MINIUPNPD_TABLES);
      router.exec(["nft", "-f", join(dir, "tables.nft")]);
      // prettier-ignore
      const conf = [
        "ext_ifname=eth0", "listening_ip=lan", "port=0", `enable_upnp=${protocols === "nat-pmp" ? "no" : "yes"}`,
        `enable_natpmp=${protocols === "upnp" ? "no" : "yes"}`, "secure_mode=yes", "system_uptime=yes",
        `uuid=${crypto.randomUUID()}`, "upnp_table_name=miniupnpd", "upnp_nat_table_name=miniupnpd", "upnp_forward_chain=miniupnpd",
        "upnp_nat_chain=prerouting_miniupnpd", "upnp_nat_postrouting_chain=postrouting_miniupnpd",
        "ext_perform_stun=yes", `ext_stun_host=${STUN_5780_IPS[0]}`, `ext_stun_port=${TURN_PORT}`,
        `allow 1024-65535 ${lan} 1024-65535`, "deny 0-65535 0.0.0.0/0 0-65535",
      ];
      writeFileSync(join(dir, "miniupnpd.conf"), conf.join("\n") + "\n");
      const logFile = join(dir, "miniupnpd.log");
      // -d: in the foreground, logging to stderr (kept in the lab's directory for failure messages).
      const proc = Bun.spawn(["ip", "netns", "exec", router.ns, MINIUPNPD, "-d", "-f", join(dir, "miniupnpd.conf"), "-P", join(dir, "miniupnpd.pid")], {
        stdin: "ignore",
        stdout: Bun.file(logFile),
        stderr: Bun.file(logFile),
      });
      processes.push(proc);
      const log = () => (existsSync(logFile) ? readFileSync(logFile, "utf8") : "");
      // Up once it listens on the LAN side, after its STUN check (a few seconds at most).
      const until = Date.now() + 15_000;
      while (!/Listening for NAT-PMP|HTTP listening on port/.test(log()) || /STUN: Performing/.test(log()) && !/Port forwarding is now (enabled|disabled)/.test(log())) {
        if (Date.now() > until || proc.exitCode !== null) throw new Error(`miniupnpd in the lab did not start:\n${log()}`);
        Bun.sleepSync(50);
      }
      if (!/Port forwarding is now enabled/.test(log())) throw new Error(`miniupnpd in the lab will not forward ports:\n${log()}`);
      return { log };
    };

    const publics = Array.from({ length: spec.publics ?? 0 }, (_, i) => onInternet(`p${i + 1}`, `${INTERNET}.${10 + i}`));

    const sites = (spec.sites ?? []).map((site, i): Site => {
      const publicIp = `${INTERNET}.${100 + i}`;
      const lan = `10.${i + 1}.0`;
      const router = onInternet(`r${i + 1}`, publicIp);
      router.exec(["ip", "link", "add", "lan", "type", "bridge"]);
      router.exec(["ip", "link", "set", "lan", "up"]);
      router.exec(["ip", "addr", "add", `${lan}.1/24`, "dev", "lan"]);
      router.exec(["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
      const hosts = Array.from({ length: site.hosts ?? 1 }, (_, j) => {
        const host = namespace(`s${i + 1}h${j + 1}`);
        plug(host, "eth0", router.ns, "lan");
        const ip = `${lan}.${j + 2}`;
        host.exec(["ip", "addr", "add", `${ip}/24`, "dev", "eth0"]);
        host.exec(["ip", "route", "add", "default", "via", `${lan}.1`]);
        return { ...host, ip };
      });
      const nat = ["iptables", "-t", "nat", "-A", "POSTROUTING", "-s", `${lan}.0/24`, "-o", "eth0", "-j", "MASQUERADE"];
      router.exec(site.nat === "symmetric" ? [...nat, "--random-fully"] : nat);
      for (const port of site.forward ?? []) {
        router.exec(["iptables", "-t", "nat", "-A", "PREROUTING", "-i", "eth0", "-p", "tcp", "--dport", String(port), "-j", "DNAT", "--to-destination", `${hosts[0]!.ip}:${port}`]);
      }
      let mapper: { log: () => string } | null = null;
      if (site.portMapping) mapper = startMiniupnpd(router, `${lan}.0/24`, site.portMapping);
      const out = ["iptables", "-A", "FORWARD", "-i", "lan", "-o", "eth0"];
      if (site.egress === "no-udp") router.exec([...out, "-p", "udp", "-j", "DROP"]);
      if (site.egress === "web-only") {
        router.exec([...out, "-p", "tcp", "-m", "multiport", "--dports", "80,443", "-j", "ACCEPT"]);
        router.exec([...out, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"]);
        router.exec([...out, "-j", "DROP"]);
      }
      const mappedPorts = () => {
        if (!mapper) return [];
        const rules = sh(["ip", "netns", "exec", router.ns, "nft", "list", "chain", "inet", "miniupnpd", "prerouting_miniupnpd"]).out;
        // miniupnpd writes raw matches: "@nh,72,8 0x6" is the IP protocol field = TCP.
        return [...rules.matchAll(/@nh,72,8 0x6 th dport (\d+) dnat/g)].map((m) => Number(m[1]));
      };
      return { publicIp, hosts, router, lanGateway: `${lan}.1`, mappedPorts, mapperLog: () => mapper?.log() ?? "" };
    });

    let coturn: LabTurn | null = null;
    if (spec.coturn) {
      if (!TURNSERVER) throw new Error("coturn missing: apt-get install coturn");
      const host = onInternet("turn", TURN_IP);
      const dir = tempDir("e-goat-lab-turn-");
      dirs.push(dir);
      const logFile = join(dir, "turn.log");
      // prettier-ignore
      const proc = Bun.spawn(["ip", "netns", "exec", host.ns, TURNSERVER, "-n", `--listening-ip=${TURN_IP}`, `--relay-ip=${TURN_IP}`,
        `--listening-port=${TURN_PORT}`, "--user=u:p", "--realm=egoat", "--lt-cred-mech", "--no-cli", "--no-tls", "--no-dtls",
        "--no-software-attribute", "--no-stdout-log", "--simple-log", `--log-file=${logFile}`,
        `--pidfile=${join(dir, "turnserver.pid")}`, `--userdb=${join(dir, "turndb")}`], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
      processes.push(proc);
      const log = () => (existsSync(logFile) ? readFileSync(logFile, "utf8") : "");
      // Up once it answers a STUN request from the internet (the probe runs in coturn's namespace, on its address).
      const probe = Bun.spawnSync(["ip", "netns", "exec", host.ns, process.execPath, join(import.meta.dir, "stun-probe.ts"), TURN_IP, String(TURN_PORT)]);
      if (probe.exitCode !== 0) throw new Error(`coturn in the lab did not answer STUN within 10 s:\n${log()}`);
      coturn = { stun: `stun:${TURN_IP}:${TURN_PORT}`, turn: `turn:u:p@${TURN_IP}:${TURN_PORT}`, log };
    }
    return { publics, sites, coturn, [Symbol.asyncDispose]: destroy };
  } catch (err) {
    await destroy();
    throw err;
  }
}
