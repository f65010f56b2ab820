/**
 * Issue 22, relay: two strangers that waited at a common (invented) topic had a rendezvous started with `--relay`
 * pass 256 MiB per relayed link at 51 MiB/s, and 8 pairs took all 64 relayed links. A rendezvous cannot tell a real
 * room's topic from an invented one (it must learn nothing of rooms), so what bounds relaying is fair shares: relayed
 * links and bytes a second per instance and per source address.
 */
import { afterEach, describe, expect, it } from "bun:test";
import { randomBytes } from "node:crypto";
import { linkManager, type Links } from "../../src/network.ts";
import { CircuitRelay, RELAY_LIMITS } from "../../src/transport/protocols/circuit-relay.ts";
import { startInstance, waitFor } from "../helpers/instance.ts";
import { rogueIdentity } from "../helpers/rogue.ts";
import { websocketFrom } from "../helpers/ws-from.ts";

/** A relay over a recording wire, as the link manager wires it, every end at `sourceOf` its node. */
function relayOf(sourceOf: (nodeId: string) => string, limits: Partial<typeof RELAY_LIMITS> = {}) {
  const sent: { to: string; message?: { t: string; why?: string }; bytes?: number }[] = [];
  const relay = new CircuitRelay({
    wire: {
      control: (to, message) => (sent.push({ to, message: message as { t: string } }), true),
      frame: (to, parts) => (sent.push({ to, bytes: parts.reduce((n, p) => n + p.byteLength, 0) }), true),
      buffered: () => 0,
    },
    allowed: () => true,
    sourceOf,
    limits,
  });
  return { relay, sent };
}
const id = (n: number) => `${n}`.padStart(22, "A");

describe("a relay", () => {
  it("holds one source to its share of relayed links, however many identities it has", () => {
    const { relay } = relayOf(() => "198.51.100.7");
    // 8 pairs of identities from one address, each pair opening 8 relayed links.
    let n = 0;
    for (let pair = 0; pair < 8; pair++) for (let i = 0; i < 8; i++) relay.open(`a${pair}`, id(n++), `b${pair}`);
    expect(relay.size).toBe(RELAY_LIMITS.perSource);
    // Another address still gets its relayed links.
    const other = relayOf((node) => (node.startsWith("x") ? "203.0.113.9" : "198.51.100.7"));
    for (let i = 0; i < 12; i++) other.relay.open(`a${i}`, id(i), `b${i}`);
    other.relay.open("x1", id(99), "x2");
    expect(other.relay.size).toBe(RELAY_LIMITS.perSource + 1);
  });

  it("ends a relayed link that carries more than its instance's share a second", () => {
    const { relay, sent } = relayOf((node) => node, { bytesPerSecond: 1024 * 1024, burstBytes: 4 * 1024 * 1024 });
    relay.open("a", id(1), "b");
    for (let i = 0; i < 8; i++) relay.frame("a", id(1), new Uint8Array(1024 * 1024));
    const carried = sent.filter((s) => s.bytes !== undefined).length;
    expect(carried).toBeLessThanOrEqual(4);
    expect(relay.size).toBe(0);
    expect(sent.find((s) => s.message?.t === "shut")?.message?.why).toContain("share of this relay");
  });
});

describe("two strangers at a real relay", () => {
  const managers: Links[] = [];
  afterEach(async () => {
    await Promise.all(managers.splice(0).map((m) => m.close()));
  });

  it("pass no more than their share through it", async () => {
    await using r = await startInstance({ args: ["--transports", "websocket", "--relay"] });
    const topic = randomBytes(16).toString("base64url");
    const ends = await Promise.all(
      ["127.0.0.2", "127.0.0.3"].map(async (from) => {
        const identity = rogueIdentity();
        const m = linkManager({ identity, transports: [websocketFrom(from)], circuits: true, retryMinMs: 200, retryMaxMs: 1000 });
        await m.start();
        managers.push(m);
        m.useRendezvous(r.nodeId, [topic]);
        await m.connect({ nodeId: r.nodeId, ws: r.ws }, "given");
        return { m, id: identity.nodeId };
      }),
    );
    const [a, b] = ends as [(typeof ends)[0], (typeof ends)[0]];
    const relayed = () => a.m.status().find((s) => s.nodeId === b.id)?.tier === "relay";
    await waitFor(relayed, 10_000, "a relayed link between the strangers");
    let received = 0;
    b.m.onData((_from, data) => void (received += data.byteLength));
    const frame = new Uint8Array(1024 * 1024);
    const started = Date.now();
    while (Date.now() - started < 3000 && relayed()) {
      if ((a.m.buffered(b.id) ?? 0) > 8 * 1024 * 1024) await Bun.sleep(2);
      else a.m.send(b.id, frame);
    }
    const seconds = (Date.now() - started) / 1000;
    await Bun.sleep(1000); // what the relay passed on before it ended the link, still on its way
    console.log(`two strangers passed ${(received / 1024 / 1024).toFixed(0)} MiB through the relay in ${seconds.toFixed(1)} s`);
    expect(received).toBeLessThanOrEqual(RELAY_LIMITS.burstBytes + RELAY_LIMITS.bytesPerSecond * seconds + 2 * frame.byteLength);
  }, 60_000);
});
