/**
 * Issue 22: the rendezvous an invite link names was kept across restarts and told a topic for every room joined here,
 * so a hostile invite learnt where to watch every room's members meet. It is now used for the invite's room only,
 * and kept as that.
 */
import { expect, it } from "bun:test";
import { rendezvousTopic, inviteUrl } from "../../../src/domain/rooms.ts";
import { PROTOCOL_VERSION } from "../../../src/domain/protocol.ts";
import { decodeFrame, encodeControl } from "../../../src/transport/links/control.ts";
import { secureChannel } from "../../../src/transport/secure/channel.ts";
import { routedWebSocket, websocketTransport, type Routed } from "../../../src/transport/websocket/index.ts";
import { startInstance, waitFor } from "../../helpers/instance.ts";
import { rogueIdentity } from "../../helpers/rogue.ts";

/** An instance-like rendezvous that records the topics each `meet` says, and keeps links alive. */
async function listeningRendezvous() {
  const identity = rogueIdentity();
  const meets: string[][] = [];
  const tier = websocketTransport();
  await tier.listen((raw) => {
    secureChannel(raw, { identity, initiator: false, timeoutMs: 5000 }).then(
      ({ link }) =>
        link.onFrame((frame) => {
          const decoded = decodeFrame(frame);
          if (decoded.kind !== "control") return;
          if (decoded.message.t === "ping") link.send(encodeControl({ t: "pong", n: decoded.message.n }));
          if (decoded.message.t === "meet") meets.push(decoded.message.topics);
        }),
      () => {},
    );
  });
  const server = Bun.serve<Routed>({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req, srv) {
      const { pathname } = new URL(req.url);
      const base = `127.0.0.1:${srv.port}`;
      if (pathname === "/mesh/info") return Response.json({ node_id: identity.nodeId, name: "r", protocol: PROTOCOL_VERSION, addresses: { http: `http://${base}`, ws: `ws://${base}` } });
      if (pathname === "/link") return tier.upgrade(req, srv);
      return new Response("not here", { status: 404 });
    },
    websocket: routedWebSocket,
  });
  return { url: `http://127.0.0.1:${server.port}`, nodeId: identity.nodeId, meets, [Symbol.asyncDispose]: async () => (await tier.close(), server.stop(true)) };
}

it("uses the rendezvous an invite names for that invite's room only, after a restart too", async () => {
  const ROOMS = ["--transports", "websocket", "--room", "lobby", "--room", "other"];
  await using hostile = await listeningRendezvous();
  await using alice = await startInstance({ args: ["--transports", "websocket"] });
  const created = await fetch(`${alice.http}/rooms`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "trip" }) });
  const { key } = (await created.json()) as { key: string };
  const trip = rendezvousTopic({ name: "trip", key }, hostile.nodeId);
  const invite = inviteUrl(alice.http, { name: "trip", key }, alice.nodeId, [hostile.url]);
  await using bob = await startInstance({ args: [...ROOMS, "--invite", invite] });
  await waitFor(() => hostile.meets.length > 0, 15_000, "bob waits at the invite's rendezvous");
  expect(hostile.meets.at(-1)).toEqual([trip]);
  await bob.stop();
  hostile.meets.length = 0;
  // Started again without the invite: the kept rendezvous is used again, still for the invite's room only.
  await using again = await startInstance({ db: bob.db, args: ROOMS });
  expect(again.nodeId).toBe(bob.nodeId);
  await waitFor(() => hostile.meets.length > 0, 15_000, "bob waits there again");
  expect(hostile.meets.at(-1)).toEqual([trip]);
}, 60_000);
