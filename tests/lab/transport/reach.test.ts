/**
 * Dial-backs (protocols/reach.ts): a peer asked to say how it reaches us dials only the address our link comes from, as
 * our node id, at most once a minute per asker (asked again sooner, it tells its last finding for the same address and
 * ports); answers no one asked for count for nothing.
 */
import { expect, it } from "bun:test";
import { Reach, type ReachPorts } from "../../../src/transport/protocols/reach.ts";
import { MemoryNetwork } from "../../../src/transport/memory/index.ts";
import { waitFor } from "../../helpers/instance.ts";
import { signalingNode } from "../../helpers/signaling-nodes.ts";

it("dials the asker back at the address its link comes from, as its node id, once a minute; asked again sooner, tells the same finding", async () => {
  const net = new MemoryNetwork();
  net.ips.set("a", "198.51.100.7");
  const dialled: { ip: string; ports: ReachPorts; nodeId: string }[] = [];
  const r = await signalingNode(net, "r", {
    dialBack: async (ip, ports, nodeId) => {
      dialled.push({ ip, ports, nodeId });
      return { http: true, ws: false };
    },
  });
  const a = await signalingNode(net, "a");
  await a.m.connect({ nodeId: r.id, memory: "r" });
  await waitFor(() => a.m.status().some((s) => s.state === "connected") && r.m.status().some((s) => s.state === "connected"), 3000, "linked");
  const answers = await a.m.checkReach({ http: 8080, ws: 9000 });
  // With what is known of the peer that answered: where its link comes from, and that it is no peer of rank.
  expect(answers).toEqual([{ by: r.id, seen: "198.51.100.7", http: true, ws: false, source: "websocket r", ranked: false }]);
  expect(dialled).toEqual([{ ip: "198.51.100.7", ports: { http: 8080, ws: 9000 }, nodeId: a.id }]);
  // Asked again at once, as by an instance that restarted: no second dial-back, the last finding is told again.
  expect(await a.m.checkReach({ http: 8080, ws: 9000 })).toEqual(answers);
  // Of other ports nothing is known: no dial-back, and the ask goes unanswered.
  const started = Date.now();
  expect(await a.m.checkReach({ http: 8081, ws: 9000 })).toEqual([]);
  expect(Date.now() - started).toBeGreaterThanOrEqual(7000);
  expect(dialled).toHaveLength(1);
}, 20_000);

it("answers nothing where the asker's address is unknown, and takes no answer it did not ask for", async () => {
  const net = new MemoryNetwork();
  let dialled = 0;
  const r = await signalingNode(net, "r", { dialBack: async () => (dialled++, { http: true, ws: true }) });
  const a = await signalingNode(net, "a");
  await a.m.connect({ nodeId: r.id, memory: "r" });
  await waitFor(() => a.m.status().some((s) => s.state === "connected"), 3000, "linked");
  expect(await a.m.checkReach({ http: 1, ws: 2 })).toEqual([]);
  expect(dialled).toBe(0);

  const sent: unknown[] = [];
  const reach = new Reach({ send: (_, message) => (sent.push(message), true) });
  const asking = reach.ask(["p"], { http: 1, ws: 2 });
  reach.answered("q", { seen: "203.0.113.9", http: true, ws: true });
  reach.answered("p", { seen: "203.0.113.8", http: false, ws: true });
  expect(await asking).toEqual([{ by: "p", seen: "203.0.113.8", http: false, ws: true }]);
  expect(sent).toEqual([{ t: "reach?", http: 1, ws: 2 }]);
}, 20_000);
