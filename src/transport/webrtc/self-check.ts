import type { DataChannel, PeerConnection } from "node-datachannel";
import { importNodeDataChannel } from "./library.ts";

export interface WebRtcCheck {
  /** Time from creating the peer connections to an echoed message, in ms. */
  setupMs: number;
  /** One round trip over the open DataChannel, in ms. */
  rttMs: number;
}

/** One side of the check: its PeerConnection, and the far end's candidates until it can take them. */
interface Side {
  pc: PeerConnection;
  /** Its own description exists (its ICE transport with it) and the far end's is applied. */
  described: boolean;
  hasRemote: boolean;
  pending: [string, string][];
}

/**
 * Sends `from`'s description and candidates to `to`. A candidate waits until `to` has both descriptions: before its
 * own exists, libdatachannel may have no ICE transport yet and throws. The library's callbacks come through the event
 * loop, some after the check is over and the connections closed; a call that throws inside one would abort the
 * process, so each is guarded, and nothing is passed on once `isOver()`.
 */
function wire(from: Side, to: Side, isOver: () => boolean): void {
  const pass = (step: () => void) => {
    if (isOver()) return;
    try {
      step();
    } catch {
      // A step that fails leaves the check to its timeout.
    }
  };
  const flush = (side: Side) => {
    if (!side.described || !side.hasRemote) return;
    for (const [candidate, mid] of side.pending.splice(0)) side.pc.addRemoteCandidate(candidate, mid);
  };
  from.pc.onLocalDescription((sdp, type) =>
    pass(() => {
      from.described = true;
      flush(from);
      to.pc.setRemoteDescription(sdp, type);
      to.hasRemote = true;
      flush(to);
    }),
  );
  from.pc.onLocalCandidate((candidate, mid) =>
    pass(() => {
      to.pending.push([candidate, mid]);
      flush(to);
    }),
  );
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
  let over = false;
  try {
    const [sideA, sideB] = [a, b].map((pc): Side => ({ pc, described: false, hasRemote: false, pending: [] })) as [Side, Side];
    wire(sideA, sideB, () => over);
    wire(sideB, sideA, () => over);
    b.onDataChannel((dc) => {
      bChannel = dc;
      dc.onMessage((msg) => over || dc.sendMessage(String(msg)));
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
    over = true;
    clearTimeout(timer);
    bChannel?.close();
    a.close();
    b.close();
  }
}
