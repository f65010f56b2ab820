// The near end of the raw baselines (bench/mesh.ts, bench/files.ts): a bare WebSocket or DataChannel to a process
// of bench/raw-peer.ts, with nothing of E-Goat in between.
import { join } from "node:path";
import nodeDataChannel from "node-datachannel";

/** Lines a child process prints, one at a time. */
export async function* lines(stream: ReadableStream<Uint8Array>) {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of stream) {
    buffer += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      yield buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
    }
  }
}

/** A raw-peer.ts process in `mode` (with `args`). */
export function rawPeer(mode: string, args: string[] = []) {
  return Bun.spawn([process.execPath, join(import.meta.dir, "raw-peer.ts"), mode, ...args], { stdout: "pipe", stdin: "pipe", stderr: "inherit" });
}

/** An open WebSocket to a raw peer in a WebSocket `mode` ("ws", "ws-sink"). */
export async function rawWebSocketTo(mode: string, args: string[] = []) {
  const peer = rawPeer(mode, args);
  const first = await lines(peer.stdout).next();
  const port = Number(/port (\d+)/.exec(String(first.value))![1]);
  const ws = new WebSocket(`ws://127.0.0.1:${port}`);
  ws.binaryType = "arraybuffer";
  await new Promise((resolve, reject) => ((ws.onopen = resolve), (ws.onerror = reject)));
  return {
    ws,
    close: async () => {
      ws.close();
      peer.kill();
      await peer.exited;
    },
  };
}

/** An open DataChannel to a raw peer in a DataChannel `mode` ("dc", "dc-sink"), signalled over its stdin and stdout. */
export async function rawDataChannelTo(mode: string, args: string[] = []) {
  const peer = rawPeer(mode, args);
  const pc = new nodeDataChannel.PeerConnection("bench", { iceServers: [], bindAddress: "127.0.0.1" });
  const tell = (m: unknown) => {
    peer.stdin.write(`${JSON.stringify(m)}\n`);
    peer.stdin.flush();
  };
  pc.onLocalDescription((sdp, type) => tell({ sdp, type }));
  pc.onLocalCandidate((candidate, mid) => tell({ candidate, mid }));
  (async () => {
    for await (const line of lines(peer.stdout)) {
      const m = JSON.parse(line);
      if (m.sdp) pc.setRemoteDescription(m.sdp, m.type);
      else pc.addRemoteCandidate(m.candidate, m.mid);
    }
  })();
  const channel = pc.createDataChannel("bench");
  const close = async () => {
    channel.close();
    pc.close();
    peer.stdin.end();
    peer.kill();
    await peer.exited;
  };
  try {
    await Promise.race([new Promise<void>((resolve) => channel.onOpen(resolve)), Bun.sleep(10_000).then(() => Promise.reject(new Error("the raw DataChannel did not open within 10 s")))]);
  } catch (error) {
    await close();
    throw error;
  }
  return { channel, close, pid: peer.pid };
}
