// What crosses the wire between two instances, tier by tier: a packet capture while they link and exchange messages
// must hold neither a message's text nor the room's name. Each capture also carries a control marker sent in the
// clear over the same path, so a capture that saw nothing cannot pass.
import { describe, expect, it } from "bun:test";
import { createSocket } from "node:dgram";
import { captureUnavailable, startCapture } from "../../helpers/capture.ts";
import { startCoturn, TURNSERVER } from "../../helpers/coturn.ts";
import { startInstance, waitFor } from "../../helpers/instance.ts";
import { send, waitForCount, waitForLink } from "../../helpers/mesh.ts";
import { createTestLan, netnsUnavailable, startHosted, type HostedInstance } from "../../helpers/netns.ts";

const unavailable = captureUnavailable() ?? netnsUnavailable();
if (unavailable) console.log(`capture tests skipped: ${unavailable}`);

const unique = () => Math.random().toString(36).slice(2, 10);

/** Messages in `room` at an instance in a namespace. */
async function textsAt(instance: HostedInstance, room: string): Promise<string[]> {
  const page = (await (await instance.api(`/history?room=${room}&limit=1000`)).json()) as { text: string }[];
  return page.map((m) => m.text);
}

async function post(instance: HostedInstance, room: string, text: string): Promise<void> {
  const res = await instance.api("/send", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ room, text }) });
  expect(res.status).toBe(200);
}

/** What a tier's packets look like in tcpdump's summary lines. */
const TIER_PACKETS: Record<string, RegExp> = {
  webrtc: /192\.0\.2\.\d+\.\d+ > 192\.0\.2\.\d+\.\d+: UDP/,
  websocket: /\.9000[ :]/,
  http: /\.8080[ :]/,
  lan: /> 192\.0\.2\.255\.\d+: UDP/,
};

describe.skipIf(unavailable !== null)("captured between two instances", () => {
  for (const tier of ["webrtc", "websocket", "http", "lan"] as const) {
    it(`${tier}: neither the messages nor the room name cross in the clear`, async () => {
      const room = `room-${unique()}`;
      const markers = [`marker-a-${unique()}`, `marker-b-${unique()}`];
      const control = `control-${unique()}`;
      await using net = createTestLan(2);
      const [hostA, hostB] = net.hosts as [(typeof net.hosts)[0], (typeof net.hosts)[0]];
      // Captured from B's side of the wire: everything between the two hosts, from before either starts.
      const capture = await startCapture("eth0", { ns: hostB.ns });
      const flags = ["--transports", tier, "--room", room, ...(tier === "lan" ? ["--lan-addr", "192.0.2.255"] : [])];
      await using a = await startHosted(hostA, [...flags, "--name", "A"]);
      await using b = await startHosted(hostB, [...flags, "--name", "B", ...(tier === "lan" ? [] : ["--peer", `http://${hostA.ip}:8080`])]);
      await waitFor(
        async () => ((await (await b.api("/peers")).json()) as { node_id: string; tier: string; rooms: string[] }[]).some((p) => p.node_id === a.nodeId && p.tier === tier && p.rooms.length > 0),
        30_000,
        `B linked to A over ${tier}`,
      );
      await post(a, room, markers[0]!);
      await post(b, room, markers[1]!);
      await waitFor(async () => (await textsAt(a, room)).length === 2 && (await textsAt(b, room)).length === 2, 15_000, "both messages on both sides");
      // The control: a request in the clear across the same wire.
      hostB.exec([process.execPath, "-e", `await fetch("http://${hostA.ip}:8080/healthz?${control}")`]);
      const { bytes, packets } = await capture.stop();

      expect(bytes.includes(control)).toBe(true);
      expect(packets.filter((line) => TIER_PACKETS[tier]!.test(line)).length).toBeGreaterThan(10);
      for (const secret of [...markers, room]) expect(bytes.includes(secret)).toBe(false);
    }, 90_000);
  }

  it.skipIf(!TURNSERVER)("turn: what passes through the TURN server holds neither the messages nor the room name", async () => {
    await using coturn = await startCoturn();
    const { username, password, host, port } = coturn.server;
    const room = `room-${unique()}`;
    const markers = [`marker-a-${unique()}`, `marker-b-${unique()}`];
    const control = `control-${unique()}`;
    // On loopback, only the TURN server's port: the test's own API calls (which carry the markers) stay out of it.
    const capture = await startCapture("lo", { filter: ["udp", "port", String(port)] });
    const flags = ["--transports", "turn", "--room", room, "--turn", `turn:${username}:${password}@${host}:${port}`];
    await using a = await startInstance({ args: flags });
    await using b = await startInstance({ args: [...flags, "--peer", a.http] });
    await waitForLink(b, a, "turn", 30_000);
    await send(a, room, markers[0]!);
    await send(b, room, markers[1]!);
    await waitForCount(a, room, 2);
    await waitForCount(b, room, 2);
    const udp = createSocket("udp4");
    await new Promise<void>((resolve) => udp.send(control, port, host, () => resolve()));
    udp.close();
    await Bun.sleep(100);
    const { bytes, packets } = await capture.stop();

    expect(bytes.includes(control)).toBe(true);
    expect(packets.length).toBeGreaterThan(10);
    for (const secret of [...markers, room]) expect(bytes.includes(secret)).toBe(false);
  }, 90_000);
});
