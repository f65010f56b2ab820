// What a busy DataChannel does to a small message, with nothing of E-Goat involved: two node-datachannel peers in
// this process, one flooding a channel with 64 KiB messages while keeping BUFFER MiB in its bufferedAmount, and the
// round trip of a small ping (echoed by the far end) meanwhile: on the flooded channel itself, and on a second channel
// of the same connection. The floor under any file transfer over webrtc: bench/files.ts measures E-Goat against it.
// Usage: bun run bench/dc-queue.ts [BUFFER MiB ...]   (default 0.25 1 4)
import nodeDataChannel, { type DataChannel } from "node-datachannel";

const PINGS = 100;
const buffers = (process.argv.length > 2 ? process.argv.slice(2) : ["0.25", "1", "4"]).map(Number);

async function connected() {
  const a = new nodeDataChannel.PeerConnection("flood", { iceServers: [], bindAddress: "127.0.0.1" });
  const b = new nodeDataChannel.PeerConnection("echo", { iceServers: [], bindAddress: "127.0.0.1" });
  a.onLocalDescription((sdp, type) => b.setRemoteDescription(sdp, type));
  a.onLocalCandidate((candidate, mid) => b.addRemoteCandidate(candidate, mid));
  b.onLocalDescription((sdp, type) => a.setRemoteDescription(sdp, type));
  b.onLocalCandidate((candidate, mid) => a.addRemoteCandidate(candidate, mid));
  // The far end echoes pings and drops the flood.
  b.onDataChannel((dc) => dc.onMessage((m) => void ((m as Buffer).byteLength < 1024 && dc.sendMessageBinary(m as Buffer))));
  const bulk = a.createDataChannel("bulk");
  const chat = a.createDataChannel("chat");
  await Promise.all([new Promise<void>((r) => bulk.onOpen(r)), new Promise<void>((r) => chat.onOpen(r))]);
  return { bulk, chat, close: () => (a.close(), b.close()) };
}

/** p50 and p99 round trip of PINGS small messages on `channel`, one every 20 ms. */
async function pings(channel: DataChannel): Promise<string> {
  const rtts: number[] = [];
  for (let i = 0; i < PINGS; i++) {
    const started = performance.now();
    const back = new Promise<void>((r) => channel.onMessage((m) => void ((m as Buffer).byteLength < 1024 && r())));
    channel.sendMessageBinary(Buffer.from(`ping ${i}`));
    await back;
    rtts.push(performance.now() - started);
    await Bun.sleep(20);
  }
  rtts.sort((x, y) => x - y);
  return `${rtts[Math.floor(PINGS / 2)]!.toFixed(1)} / ${rtts[Math.floor(PINGS * 0.99)]!.toFixed(1)}`;
}

const idle = await connected();
console.log(`small-message round trip on an idle DataChannel, p50 / p99 ms: ${await pings(idle.chat)}\n`);
idle.close();
console.log("buffered MiB   flood MB/s   ping on the flooded channel   ping on a second channel   (p50 / p99 ms)");
for (const mib of buffers) {
  const { bulk, chat, close } = await connected();
  const high = mib * 1024 * 1024;
  const piece = Buffer.alloc(64 * 1024, 1);
  let flooding = true;
  let bytes = 0;
  const flood = () => {
    while (flooding && bulk.bufferedAmount() < high) {
      bulk.sendMessageBinary(piece);
      bytes += piece.byteLength;
    }
  };
  bulk.setBufferedAmountLowThreshold(high / 2);
  bulk.onBufferedAmountLow(flood);
  const started = performance.now();
  flood();
  const same = await pings(bulk);
  const other = await pings(chat);
  flooding = false;
  const rate = bytes / 1e6 / ((performance.now() - started) / 1000);
  console.log(`${String(mib).padStart(12)} ${rate.toFixed(0).padStart(12)} ${same.padStart(29)} ${other.padStart(26)}`);
  close();
}
process.exit(0);
