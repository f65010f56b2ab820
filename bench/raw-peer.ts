// The far end of bench/mesh.ts's raw baselines, in a process of its own like a real peer:
//   ws: a bare Bun.serve WebSocket echo; prints "port N".
//   dc: a node-datachannel peer that answers an offer read from stdin (one JSON line per message) and echoes.
import nodeDataChannel from "node-datachannel";

const mode = process.argv[2];
if (mode === "ws") {
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: (req, s) => (s.upgrade(req) ? undefined : new Response("no", { status: 400 })),
    websocket: { message: (ws, m) => void ws.send(m) },
  });
  console.log(`port ${server.port}`);
} else if (mode === "dc") {
  const pc = new nodeDataChannel.PeerConnection("raw-peer", { iceServers: [], bindAddress: "127.0.0.1" });
  pc.onLocalDescription((sdp, type) => console.log(JSON.stringify({ sdp, type })));
  pc.onLocalCandidate((candidate, mid) => console.log(JSON.stringify({ candidate, mid })));
  pc.onDataChannel((dc) => dc.onMessage((m) => dc.sendMessageBinary(Buffer.from(m as Buffer))));
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of Bun.stdin.stream()) {
    buffer += decoder.decode(chunk);
    let nl: number;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const m = JSON.parse(buffer.slice(0, nl));
      buffer = buffer.slice(nl + 1);
      if (m.sdp) pc.setRemoteDescription(m.sdp, m.type);
      else pc.addRemoteCandidate(m.candidate, m.mid);
    }
  }
  pc.close();
  process.exit(0);
}
