import type { DataChannel, PeerConnection } from "node-datachannel";
import { importNodeDataChannel } from "./library.ts";

export interface WebRtcCheck {
  /** Time from creating the peer connections to an echoed message, in ms. */
  setupMs: number;
  /** One round trip over the open DataChannel, in ms. */
  rttMs: number;
}

/** Sends `from`'s description and candidates to `to`, holding candidates back until the description is in place. */
function wire(from: PeerConnection, to: PeerConnection): void {
  const pending: [string, string][] = [];
  let hasRemote = false;
  from.onLocalDescription((sdp, type) => {
    to.setRemoteDescription(sdp, type);
    hasRemote = true;
    for (const [candidate, mid] of pending.splice(0)) to.addRemoteCandidate(candidate, mid);
  });
  from.onLocalCandidate((candidate, mid) => (hasRemote ? to.addRemoteCandidate(candidate, mid) : pending.push([candidate, mid])));
}

/**
 * Opens a DataChannel between two peer connections in this process over loopback and echoes one message:
 * proof that the native WebRTC addon loads and works (in the compiled binary too).
 */
export async function checkWebRtc(timeoutMs = 10_000): Promise<WebRtcCheck> {
  const config = { iceServers: [], bindAddress: "127.0.0.1" };
  const { PeerConnection } = await importNodeDataChannel();
  const a = new PeerConnection("self-test-a", config);
  const b = new PeerConnection("self-test-b", config);
  const started = performance.now();
  const done = Promise.withResolvers<WebRtcCheck>();
  const timer = setTimeout(() => done.reject(new Error(`no DataChannel within ${timeoutMs} ms`)), timeoutMs);
  let bChannel: DataChannel | undefined;
  try {
    // Each side's candidates wait for the other side's remote description: the library's callbacks come through the
    // event loop in no fixed order, and libdatachannel throws on a candidate that comes before the description.
    wire(a, b);
    wire(b, a);
    b.onDataChannel((dc) => {
      bChannel = dc;
      dc.onMessage((msg) => dc.sendMessage(String(msg)));
    });
    const channel = a.createDataChannel("self-test");
    let sentAt = 0;
    channel.onOpen(() => {
      sentAt = performance.now();
      channel.sendMessage("ping");
    });
    channel.onMessage((msg) => {
      if (String(msg) !== "ping") return done.reject(new Error(`unexpected echo '${String(msg)}'`));
      const now = performance.now();
      done.resolve({ setupMs: now - started, rttMs: now - sentAt });
    });
    const result = await done.promise;
    channel.close();
    return result;
  } finally {
    clearTimeout(timer);
    bChannel?.close();
    a.close();
    b.close();
  }
}
