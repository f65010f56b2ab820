/**
 * Issue 22, high: UPnP answers from a LAN bystander. The search took an answer from any host of the LAN, which then set
 * the advertised address; the description's redirects were followed, and its control URL could be any URL (the
 * instance POSTed SOAP to a service on its own loopback); a port of "abc" was advertised as `:NaN`, after which peers
 * refused every hello. Here, in network namespaces, the instance's host has its default gateway at 192.168.77.1; a
 * second host holds both that address and a bystander's, 192.168.77.2, and plays a hostile IGD from either; a
 * service on the instance's own loopback counts what reaches it.
 */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { waitFor } from "../helpers/instance.ts";
import { createTestLan, netnsUnavailable, reachPanel, startHosted, type TestHost, type TestLan } from "../helpers/netns.ts";

const unavailable = netnsUnavailable();
if (unavailable) console.log(`UPnP attack tests skipped: ${unavailable}`);

const ROOM = "lab";
const GATEWAY = "192.168.77.1";
const BYSTANDER = "192.168.77.2";
const LOOPBACK = "http://127.0.0.1:7777";

/** A helper process in a namespace, with the lines it printed. */
async function spawnIn(host: TestHost, config: object): Promise<{ lines: string[]; stop: () => Promise<void> }> {
  const proc: Subprocess<"ignore", "pipe", "inherit"> = Bun.spawn(
    ["ip", "netns", "exec", host.ns, process.execPath, join(import.meta.dir, "../helpers/fake-igd.ts"), JSON.stringify(config)],
    { stdin: "ignore", stdout: "pipe", stderr: "inherit" },
  );
  const lines: string[] = [];
  void (async () => {
    let rest = "";
    for await (const chunk of proc.stdout) {
      rest += new TextDecoder().decode(chunk);
      const parts = rest.split("\n");
      rest = parts.pop()!;
      lines.push(...parts);
    }
  })();
  await waitFor(() => lines.includes("ready"), 10_000, "the fake to listen");
  return {
    lines,
    stop: async () => {
      proc.kill();
      await proc.exited;
    },
  };
}

describe.skipIf(unavailable !== null)("UPnP answers on a LAN", () => {
  let lan: TestLan;
  let victim: TestHost;
  let other: TestHost;
  let sink: Awaited<ReturnType<typeof spawnIn>>;
  beforeAll(async () => {
    lan = createTestLan(2);
    [victim, other] = lan.hosts as [TestHost, TestHost];
    victim.exec(["ip", "addr", "add", "192.168.77.10/24", "dev", "eth0"]);
    victim.exec(["ip", "route", "add", "default", "via", GATEWAY]);
    other.exec(["ip", "addr", "add", `${BYSTANDER}/24`, "dev", "eth0"]);
    other.exec(["ip", "addr", "add", `${GATEWAY}/24`, "dev", "eth0"]);
    sink = await spawnIn(victim, { mode: "sink", listen: "127.0.0.1:7777" });
  });
  afterAll(async () => {
    await sink.stop();
    await lan[Symbol.asyncDispose]();
  });

  /** Starts the instance with a fake IGD answering, and waits until its search is over (the panel says so). */
  async function attempt(fake: object, settled: string) {
    const igd = await spawnIn(other, { join: BYSTANDER, loopback: LOOPBACK, externalIp: "198.51.100.9", reservedPort: "8080", ...fake });
    const a = await startHosted(victim, ["--room", ROOM, "--transports", "websocket,http", "--lan-addr", "127.255.255.255"]);
    try {
      await waitFor(() => igd.lines.some((l) => l.startsWith("ssdp M-SEARCH")), 10_000, "the instance's search");
      await waitFor(async () => (await reachPanel(a, ROOM)).includes(settled), 15_000, `the panel to say: ${settled}`).catch(async (err) => {
        throw new Error(`${(err as Error).message}\n${await reachPanel(a, ROOM)}\n--- instance\n${a.output()}\n--- fake\n${igd.lines.join("\n")}`);
      });
      const info = (await (await a.api("/mesh/info")).json()) as { addresses: Record<string, string> };
      return { info, igd: igd.lines, output: a.output() };
    } finally {
      await a[Symbol.asyncDispose]();
      await igd.stop();
    }
  }

  const NONE = "No router on this network offers port mapping";

  it("a bystander that is not the default gateway is not listened to: nothing fetched from it, its address not advertised", async () => {
    const { info, igd } = await attempt({ mode: "sane", from: BYSTANDER }, NONE);
    expect(igd.filter((l) => l.startsWith("http"))).toEqual([]);
    expect(JSON.stringify(info.addresses)).not.toContain("198.51.100.9");
  }, 60_000);

  it("the gateway's description naming a control URL on the instance's loopback: nothing is posted there", async () => {
    const { igd, output } = await attempt({ mode: "loopback-control", from: GATEWAY }, NONE);
    expect(igd).toContain("http GET /rootDesc.xml");
    expect(sink.lines.filter((l) => l.startsWith("sink"))).toEqual([]);
    expect(output).toContain("is not on 192.168.77.1:5000");
  }, 60_000);

  it("the gateway's description redirecting to the instance's loopback: the redirect is not followed", async () => {
    const { output } = await attempt({ mode: "redirect", from: GATEWAY }, NONE);
    expect(sink.lines.filter((l) => l.startsWith("sink"))).toEqual([]);
    expect(output).toContain("redirects are not followed");
  }, 60_000);

  it("the gateway answering a port of 'abc': nothing of it is advertised, and the panel says why", async () => {
    const { info } = await attempt({ mode: "sane", from: GATEWAY, reservedPort: "abc" }, "names no port");
    expect(JSON.stringify(info.addresses)).not.toContain("NaN");
    expect(JSON.stringify(info.addresses)).not.toContain("198.51.100.9");
  }, 60_000);
});
