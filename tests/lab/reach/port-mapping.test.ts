// Port mapping in the lab (tests/helpers/nat-lab.ts): a home router running Debian's miniupnpd forwards an instance's
// ports when it asks (UPnP IGD or NAT-PMP), the instance advertises the address that gives, and the forwards are gone
// once it stops.
import { describe, expect, it } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { ensureBuilt } from "../../helpers/build.ts";
import { tempDir, waitFor } from "../../helpers/instance.ts";
import { createNatLab, labUnavailable, type Site } from "../../helpers/nat-lab.ts";
import { netnsUnavailable, reachPanel, startHosted, tierOf, type HostedInstance, type TestHost } from "../../helpers/netns.ts";

const unavailable = netnsUnavailable() ?? labUnavailable(true, true);
if (unavailable) console.log(`port mapping lab tests skipped: ${unavailable}`);

const ROOM = "lab";


async function panelSays(at: HostedInstance, text: string, what: string, site: Site): Promise<void> {
  await waitFor(async () => (await reachPanel(at, ROOM)).includes(text), 20_000, what).catch(async (err) => {
    throw new Error(`${(err as Error).message}\n${await reachPanel(at, ROOM)}\n--- instance\n${at.output()}\n--- miniupnpd\n${site.mapperLog().slice(-4000)}`);
  });
}

const flags = (peer: string) => ["--room", ROOM, "--transports", "websocket,http", "--lan-addr", "127.255.255.255", "--peer", peer];

describe.skipIf(unavailable !== null)("port mapping, in a lab of NATs", () => {
  it("both behind cone NATs, A's router speaks UPnP IGD, both told only of public C and D: the router forwards A's ports, A advertises that address, B links to A there over websocket, and the forwards go when A stops", async () => {
    await using lab = await createNatLab({ publics: 2, sites: [{ nat: "cone", portMapping: "upnp" }, { nat: "cone" }], coturn: true });
    const [siteA, siteB] = lab.sites as [Site, Site];
    const [hostC, hostD] = lab.publics as [TestHost, TestHost];
    const stun = lab.coturn!.stun;
    const peerC = `http://${hostC.ip}:8080`;
    await using c = await startHosted(hostC, ["--room", ROOM, "--transports", "websocket,http", "--lan-addr", "127.255.255.255", "--name", "C"], { stun });
    // Two public peers at two addresses: one peer's word that A is reached there is not enough (issue 22).
    await using _d = await startHosted(hostD, ["--room", ROOM, "--transports", "websocket,http", "--lan-addr", "127.255.255.255", "--name", "D"], { stun });
    const a = await startHosted(siteA.hosts[0]!, [...flags(peerC), "--peer", `http://${hostD.ip}:8080`, "--name", "A"], { stun });
    try {
      await panelSays(a, `The router at ${siteA.lanGateway} (UPnP IGD) forwards ${siteA.publicIp}:8080 here (WebSocket :9000).`, "A's panel naming the mapping", siteA);
      expect(siteA.mappedPorts().sort()).toEqual([8080, 9000]);
      // C and D dial A back through the forwards: the address is checked, not only the router's word.
      await panelSays(a, `Reachable from the internet at http://${siteA.publicIp}:8080`, "A's panel saying it is reached from outside", siteA);
      await using b = await startHosted(siteB.hosts[0]!, [...flags(peerC), "--name", "B"], { stun });
      // B hears of A from C with the address A advertises: the only one of A's that a TCP dial from B's network reaches.
      await waitFor(async () => (await tierOf(a, b)) === "websocket" && (await tierOf(b, a)) === "websocket", 30_000, "a websocket link between A and B").catch((err) => {
        throw new Error(`${(err as Error).message}\n--- A\n${a.output()}\n--- B\n${b.output()}`);
      });
      expect(await tierOf(c, a)).not.toBeNull();
    } finally {
      await a[Symbol.asyncDispose]();
    }
    expect(siteA.mappedPorts()).toEqual([]);
    expect(siteA.mapperLog()).toMatch(/removing redirect rule port 8080/);
  }, 90_000);

  it("A's router speaks only NAT-PMP: the router forwards A's ports, C and D reach A there, the forwards go when A stops; with --port-mapping off it is not asked", async () => {
    await using lab = await createNatLab({ publics: 2, sites: [{ nat: "cone", portMapping: "nat-pmp" }], coturn: true });
    const siteA = lab.sites[0]!;
    const [hostC, hostD] = lab.publics as [TestHost, TestHost];
    const stun = lab.coturn!.stun;
    const peerC = `http://${hostC.ip}:8080`;
    await using c = await startHosted(hostC, ["--room", ROOM, "--transports", "websocket,http", "--lan-addr", "127.255.255.255", "--name", "C"], { stun });
    await using _d = await startHosted(hostD, ["--room", ROOM, "--transports", "websocket,http", "--lan-addr", "127.255.255.255", "--name", "D"], { stun });
    {
      await using off = await startHosted(siteA.hosts[0]!, [...flags(peerC), "--name", "A", "--port-mapping", "off"], { stun });
      await panelSays(off, "Port mapping is off (--port-mapping off).", "the panel saying port mapping is off", siteA);
      await waitFor(async () => (await tierOf(c, off)) !== null, 20_000, "A linked to C");
      expect(siteA.mappedPorts()).toEqual([]);
      expect(siteA.mapperLog()).not.toMatch(/NAT-PMP port mapping request/);
    }
    const a = await startHosted(siteA.hosts[0]!, [...flags(peerC), "--peer", `http://${hostD.ip}:8080`, "--name", "A"], { stun });
    try {
      await panelSays(a, `(NAT-PMP) forwards ${siteA.publicIp}:8080 here (WebSocket :9000).`, "A's panel naming the mapping", siteA);
      expect(siteA.mappedPorts().sort()).toEqual([8080, 9000]);
      await panelSays(a, `Reachable from the internet at http://${siteA.publicIp}:8080`, "A's panel saying it is reached from outside", siteA);
    } finally {
      await a[Symbol.asyncDispose]();
    }
    expect(siteA.mappedPorts()).toEqual([]);
  }, 90_000);

  it("the compiled binary asks the router too (UPnP IGD), and removes the forwards when it stops on SIGTERM", async () => {
    const binary = join(import.meta.dir, "../../../dist/e-goat");
    await ensureBuilt(binary);
    await using lab = await createNatLab({ sites: [{ nat: "cone", portMapping: "upnp" }] });
    const site = lab.sites[0]!;
    const dir = tempDir("e-goat-lab-bin-");
    const proc = Bun.spawn(["ip", "netns", "exec", site.hosts[0]!.ns, binary, "--stun", "none", "--lan-addr", "127.255.255.255", "--db", join(dir, "chat.db")], {
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    let out = "";
    void (async () => {
      for await (const chunk of proc.stdout) out += new TextDecoder().decode(chunk);
    })();
    const said = `port mapping: the router at ${site.lanGateway} (UPnP IGD) forwards ${site.publicIp}:8080 (http) and :9000 (ws)`;
    try {
      await waitFor(async () => out.includes(said), 15_000, "the binary saying what the router forwards").catch((err) => {
        throw new Error(`${(err as Error).message}\n--- binary\n${out}\n--- miniupnpd\n${site.mapperLog().slice(-3000)}`);
      });
      expect(site.mappedPorts().sort()).toEqual([8080, 9000]);
      proc.kill("SIGTERM");
      expect(await proc.exited).toBe(0);
      expect(site.mappedPorts()).toEqual([]);
    } finally {
      proc.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
