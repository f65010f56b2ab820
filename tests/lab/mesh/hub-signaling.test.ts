/**
 * WebRTC signaling through `/signal` hubs between real instances: sealed end to end, so a hub member can neither
 * take an instance's place in its own room, nor read offers meant for another node, nor inject one in its name.
 */
import { describe, expect, it } from "bun:test";
import nodeDataChannel from "node-datachannel";
import { SignalHub } from "../../../src/transport/signaling/hub.ts";
import { SignalSessions } from "../../../src/transport/signaling/sessions.ts";
import type { SignalMessage } from "../../../src/transport/signaling/signal.ts";
import { startInstance, waitFor, type Instance } from "../../helpers/instance.ts";
import { peersOf, waitForLink } from "../../helpers/mesh.ts";
import { rogueIdentity } from "../../helpers/rogue.ts";

const WEBRTC = ["--transports", "webrtc", "--room", "lobby"];
/** What would give an offer or answer away: its DTLS fingerprint, ICE credentials, candidates. */
const SDP_MARKERS = ["a=fingerprint", "ice-ufrag", "ice-pwd", "candidate:"];

/** A raw hub member: joins `room` as `peerId` on the instance's hub and keeps everything it is sent. */
async function hubMember(instance: Instance, room: string, peerId: string) {
  const query = new URLSearchParams({ room, peer_id: peerId });
  const ws = new WebSocket(`${instance.ws}/signal?${query}`);
  const inbox: string[] = [];
  ws.onmessage = (event) => inbox.push(String(event.data));
  const opened = await new Promise<boolean>((resolve) => {
    ws.onopen = () => resolve(true);
    ws.onerror = () => resolve(false);
    ws.onclose = () => resolve(false);
  });
  return { opened, inbox, ws, send: (envelope: unknown) => ws.send(JSON.stringify(envelope)), [Symbol.dispose]: () => ws.close() };
}

/** A WebSocket relay in front of an instance's hub that records everything passing through, both ways. */
function recordingRelay(instance: Instance) {
  const seen: string[] = [];
  const server = Bun.serve<{ upstream: WebSocket; early: string[] }, never>({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req, srv) {
      const upstream = new WebSocket(`${instance.ws}${new URL(req.url).pathname}${new URL(req.url).search}`);
      return srv.upgrade(req, { data: { upstream, early: [] } }) ? undefined : new Response("no", { status: 400 });
    },
    websocket: {
      open(ws) {
        const { upstream, early } = ws.data;
        upstream.onmessage = (event) => (seen.push(String(event.data)), ws.send(String(event.data)));
        upstream.onopen = () => early.splice(0).forEach((m) => upstream.send(m));
        upstream.onclose = () => ws.close();
      },
      message(ws, message) {
        seen.push(String(message));
        const { upstream, early } = ws.data;
        if (upstream.readyState === WebSocket.OPEN) upstream.send(String(message));
        else early.push(String(message));
      },
      close(ws) {
        ws.data.upstream.close();
      },
    },
  });
  return { url: `ws://127.0.0.1:${server.port}`, seen, [Symbol.dispose]: () => server.stop(true) };
}

/** A real WebRTC offer, as an instance would make one. Sessions are "<tier>:<tier>-<id>" (the router's tag, the tier's). */
async function realOffer(): Promise<string> {
  const pc = new nodeDataChannel.PeerConnection("rogue", { iceServers: [] });
  const sdp = Promise.withResolvers<string>();
  pc.onLocalDescription((description) => sdp.resolve(description));
  pc.createDataChannel("x");
  const offer = await sdp.promise;
  pc.close();
  return offer;
}

describe("signaling through hubs", () => {
  it("hijack: no one can join an instance's own hub room under its id; offers still reach it and the link comes up", async () => {
    await using b = await startInstance({ args: WEBRTC });
    using hijacker = await hubMember(b, `mesh.${b.nodeId}`, b.nodeId);
    await using a = await startInstance({ args: [...WEBRTC, "--peer", b.http] });
    await waitForLink(a, b, "webrtc", 30_000);
    expect(hijacker.opened).toBe(false);
    for (const marker of SDP_MARKERS) expect(hijacker.inbox.join("\n")).not.toContain(marker);
  }, 60_000);

  it("injection: a member claiming another node's id gets no answer, in the clear or through a session of its own key", async () => {
    await using b = await startInstance({ args: WEBRTC });
    await using a = await startInstance({ args: WEBRTC });
    // In the clear, as hubs carried offers before: a real offer in A's name.
    using clear = await hubMember(b, `mesh.${b.nodeId}`, a.nodeId);
    expect(clear.opened).toBe(true);
    clear.send({ type: "webrtc", payload: { session: "webrtc:webrtc-s1", kind: "offer", sdp: await realOffer() }, target_peer_id: b.nodeId });
    // Through a secure session run with its own key while claiming A's id.
    const heard: SignalMessage[] = [];
    const sealed = new SignalSessions({ identity: rogueIdentity(a.nodeId), hub: new SignalHub(), onMessage: (_from, m) => heard.push(m) });
    sealed.start();
    try {
      await sealed.send({ nodeId: b.nodeId, ws: b.ws }, { session: "webrtc:webrtc-s2", kind: "offer", sdp: await realOffer() }).catch(() => {});
      await Bun.sleep(1500);
      expect(heard).toEqual([]);
      for (const marker of SDP_MARKERS) expect(clear.inbox.join("\n")).not.toContain(marker);
      expect((await peersOf(b)).filter((p) => p.node_id === a.nodeId)).toEqual([]);
    } finally {
      sealed.close();
    }
  }, 60_000);

  it("reading: a hub or relay between two instances sees only a handshake and sealed frames, never an offer or answer", async () => {
    await using b = await startInstance({ args: WEBRTC });
    using relay = recordingRelay(b);
    const heard: SignalMessage[] = [];
    const a = new SignalSessions({ identity: rogueIdentity(), hub: new SignalHub(), onMessage: (_from, m) => heard.push(m) });
    a.start();
    try {
      await a.send({ nodeId: b.nodeId, ws: relay.url }, { session: "webrtc:webrtc-s1", kind: "offer", sdp: await realOffer() });
      // B's real WebRTC tier answers through the relay: A reads the answer, the relay does not.
      const answer = await waitFor(() => heard.find((m) => m.kind === "answer"), 10_000, "b's answer");
      expect(answer.kind === "answer" && answer.sdp).toContain("a=fingerprint");
      expect(relay.seen.length).toBeGreaterThan(2);
      for (const marker of SDP_MARKERS) expect(relay.seen.join("\n")).not.toContain(marker);
    } finally {
      a.close();
    }
  }, 60_000);
});
