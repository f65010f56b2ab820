// Two real instances on loopback, restricted to one tier at a time, exchange messages both ways over it.
import { describe, expect, it } from "bun:test";
import { startCoturn, TURNSERVER } from "../../helpers/coturn.ts";
import { startInstance, waitFor } from "../../helpers/instance.ts";
import { history, peersOf, send, waitForCount, waitForLink } from "../../helpers/mesh.ts";
import { freeUdpPort } from "../../helpers/ports.ts";

async function pair(tier: string, extra: string[] = [], discover = false) {
  const lan = discover ? ["--lan-port", String(await freeUdpPort())] : [];
  const a = await startInstance({ args: ["--transports", tier, "--room", "talk", "--name", "alpha", ...lan, ...extra] });
  const b = await startInstance({ args: ["--transports", tier, "--room", "talk", "--name", "beta", ...lan, ...extra, ...(discover ? [] : ["--peer", a.http])] });
  return { a, b };
}

async function exchange(tier: string, extra: string[] = [], discover = false) {
  const { a, b } = await pair(tier, extra, discover);
  try {
    const ab = await waitForLink(a, b, tier);
    await waitForLink(b, a, tier);
    expect(ab).toMatchObject({ name: "beta", tier, state: "connected", rooms: ["talk"] });
    expect(ab.rtt_ms).toBeGreaterThanOrEqual(0);
    for (let i = 0; i < 10; i++) {
      await send(a, "talk", `a→b ${i}`);
      await send(b, "talk", `b→a ${i}`);
    }
    const atA = await waitForCount(a, "talk", 20);
    const atB = await waitForCount(b, "talk", 20);
    expect(new Set(atA.map((m) => m.id))).toEqual(new Set(atB.map((m) => m.id)));
    // Nothing moved over another tier: each side still names only this one.
    for (const row of [...(await peersOf(a)), ...(await peersOf(b))]) expect(row.tier).toBe(tier);
    // The page's peers panel shows the same.
    const panel = await (await fetch(`${a.http}/peers/panel`)).text();
    expect(panel).toContain('title="beta">beta</td>');
    expect(panel).toContain(`<td>${tier}</td>`);
    expect(panel).toContain('<td class="state">online</td>');
  } finally {
    await a[Symbol.asyncDispose]();
    await b[Symbol.asyncDispose]();
  }
}

describe("each tier between two real instances", () => {
  it("webrtc (signaled through the dialed instance's /signal hub)", () => exchange("webrtc"), 60_000);
  it("websocket", () => exchange("websocket"), 60_000);
  it("http long polling", () => exchange("http"), 60_000);
  it("lan, found by discovery alone (no --peer)", () => exchange("lan", [], true), 60_000);

  if (!TURNSERVER) console.log("turn tier test skipped: coturn missing (apt-get install coturn)");
  it.skipIf(!TURNSERVER)(
    "turn, relayed through a real coturn on loopback",
    async () => {
      await using coturn = await startCoturn();
      const { username, password, host, port } = coturn.server;
      await exchange("turn", ["--turn", `turn:${username}:${password}@${host}:${port}`]);
    },
    60_000,
  );
});

it("a message sent before the peer was linked arrives once it is", async () => {
  await using a = await startInstance({ args: ["--transports", "websocket", "--room", "late"] });
  await send(a, "late", "written alone");
  await using b = await startInstance({ args: ["--transports", "websocket", "--room", "late", "--peer", a.http] });
  const got = await waitForCount(b, "late", 1);
  expect(got.map((m) => m.text)).toEqual(["written alone"]);
  expect((await history(a, "late")).map((m) => m.text)).toEqual(["written alone"]);
});

it("a --peer that no tier can reach is reported with each tier's reason, and retried", async () => {
  // a listens on http only; b may use websocket only, so b's one tier is refused at a's /link.
  await using a = await startInstance({ args: ["--transports", "http", "--room", "lonely"] });
  await using b = await startInstance({ args: ["--transports", "websocket", "--room", "lonely", "--peer", a.http] });
  await waitFor(() => /--peer \S+: could not link to [0-9a-f]{32} on any tier \(DialRefusedError: [^)]+\); still trying/.test(b.output()), 15_000, "the failure line");
  const [row] = await peersOf(b);
  expect(row).toMatchObject({ node_id: a.nodeId, state: expect.stringMatching(/^(connecting|disconnected)$/), tier: null });
});

it("/peers?log=1 shows each peer's recent state changes; plain /peers does not", async () => {
  await using a = await startInstance({ args: ["--transports", "websocket", "--room", "logged"] });
  await using b = await startInstance({ args: ["--transports", "websocket", "--room", "logged", "--peer", a.http] });
  await waitForLink(b, a, "websocket");
  const [plain] = await peersOf(b);
  expect(plain).not.toHaveProperty("log");
  const [row] = (await (await fetch(`${b.http}/peers?log=1`)).json()) as { log: { at: number; event: string }[] }[];
  const events = row!.log.map((e) => e.event);
  expect(events).toContain("websocket link up (dialled)");
  expect(events).toContain("connected over websocket");
  expect(row!.log.every((e) => Number.isSafeInteger(e.at))).toBe(true);
  const bad = await fetch(`${b.http}/peers?log=yes`);
  expect(bad.status).toBe(400);
  expect(await bad.json()).toEqual({ error: "log must be 0 or 1" });
});
