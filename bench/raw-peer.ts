// The far end of the raw baselines of bench/mesh.ts and bench/files.ts, in a process of its own like a real peer:
//   ws: a bare Bun.serve WebSocket echo; prints "port N".
//   dc: a node-datachannel peer that answers an offer read from stdin (one JSON line per message) and echoes.
//   ws-sink BYTES, dc-sink BYTES: the same, but they only count what arrives and, once BYTES have, send back one
//   message with the count (for one-way throughput).
import nodeDataChannel from "node-datachannel";

const mode = process.argv[2];
const expected = Number(process.argv[3] ?? 0);
if ((mode === "ws-sink" || mode === "dc-sink") && !(expected > 0)) throw new Error(`${mode} needs the number of bytes to expect`);

/** A counter of bytes that calls `reply` with the total once `expected` bytes have arrived. */
function sink(reply: (count: string) => void) {
  let count = 0;
  return (size: number) => {
    const before = count;
    count += size;
    if (before < expected && count >= expected) reply(String(count));
  };
}

if (mode === "ws" || mode === "ws-sink") {
  const counters = new WeakMap<object, (size: number) => void>();
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: (req, s) => (s.upgrade(req) ? undefined : new Response("no", { status: 400 })),
    websocket:
      mode === "ws"
        ? { message: (ws, m) => void ws.send(m) }
        : {
            open: (ws) => {
              const reply = (total: string) => ws.send(total);
              counters.set(ws, sink(reply));
            },
            message: (ws, m) => counters.get(ws)!(typeof m === "string" ? Buffer.byteLength(m) : m.byteLength),
          },
  });
  console.log(`port ${server.port}`);
} else if (mode === "dc" || mode === "dc-sink") {
  const pc = new nodeDataChannel.PeerConnection("raw-peer", { iceServers: [], bindAddress: "127.0.0.1" });
  pc.onLocalDescription((sdp, type) => console.log(JSON.stringify({ sdp, type })));
  pc.onLocalCandidate((candidate, mid) => console.log(JSON.stringify({ candidate, mid })));
  pc.onDataChannel((dc) => {
    if (mode === "dc") return dc.onMessage((m) => dc.sendMessageBinary(Buffer.from(m as Buffer)));
    const count = sink((total) => dc.sendMessage(total));
    dc.onMessage((m) => count(typeof m === "string" ? Buffer.byteLength(m) : (m as Buffer).byteLength));
  });
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
