/**
 * The WebRTC helper process: it holds the instance's PeerConnections and DataChannels (node-datachannel) and does
 * what the instance asks over IPC (helper-protocol.ts). The bundled libdatachannel can deadlock inside a DTLS
 * handshake over TURN (README, "Known problem"); in here that stops only this process, which the instance replaces
 * (helper-client.ts), instead of the whole instance.
 */
import type { DataChannel, PeerConnection, RtcConfig } from "node-datachannel";
import { messageOf } from "../errors.ts";
import { INCOMING_CHANNEL_BASE, type Op, type Report } from "./helper-protocol.ts";
import { importNodeDataChannel } from "./library.ts";

const report = (r: Report) => void process.send!(r);
/** Longest a probe of the STUN servers gathers. */
const PROBE_MS = 5000;

export async function runWebRtcHelper(): Promise<void> {
  if (!process.send) {
    console.error("e-goat: --webrtc-helper is started by an instance, not by hand");
    process.exit(2);
  }
  // The instance is gone (or let go of us): nothing here is worth keeping.
  process.on("disconnect", () => process.exit(0));
  let library: Awaited<ReturnType<typeof importNodeDataChannel>>;
  try {
    library = await importNodeDataChannel();
  } catch (error) {
    report({ ev: "unavailable", reason: messageOf(error).split("\n")[0]!.slice(0, 1000) });
    return;
  }
  const pcs = new Map<number, PeerConnection>();
  const channels = new Map<number, DataChannel>();
  /** Per channel, bytes handed to it since its last `buffered` report. */
  const taken = new Map<number, number>();
  let nextIncoming = INCOMING_CHANNEL_BASE;

  const pairOf = (pc: PeerConnection) => pc.getSelectedCandidatePair();
  const flush = () => {
    for (const [dc, bytes] of taken) {
      const channel = channels.get(dc);
      report({ ev: "buffered", dc, taken: bytes, amount: channel?.isOpen() ? channel.bufferedAmount() : 0 });
    }
    taken.clear();
  };

  const wireChannel = (dc: number, channel: DataChannel, pc: PeerConnection) => {
    channels.set(dc, channel);
    channel.onOpen(() => report({ ev: "open", dc, maxMessageSize: channel.maxMessageSize(), pair: pairOf(pc) }));
    channel.onMessage((message) => {
      const data = typeof message === "string" ? new TextEncoder().encode(message) : new Uint8Array(message as ArrayBuffer);
      report({ ev: "message", dc, data });
    });
    channel.onClosed(() => {
      channels.delete(dc);
      report({ ev: "closed", dc });
    });
    channel.onError((error) => report({ ev: "error", dc, error: String(error).slice(0, 1000) }));
  };

  /** Gathers candidates on a connection of its own until gathering completes (or PROBE_MS), then reports them. */
  const probe = (id: number, config: RtcConfig) => {
    let pc: PeerConnection;
    try {
      pc = new library.PeerConnection(`probe-${id}`, config);
    } catch {
      return report({ ev: "probed", id, candidates: [] }); // a STUN URL the library refuses: nothing to say
    }
    const candidates: string[] = [];
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      report({ ev: "probed", id, candidates: candidates.slice(0, 64) });
      pc.close();
    };
    const timer = setTimeout(finish, PROBE_MS);
    pc.onLocalCandidate((candidate) => void candidates.push(candidate));
    pc.onGatheringStateChange((state) => state === "complete" && finish());
    pc.createDataChannel("probe");
  };

  const handle = (m: Op) => {
    switch (m.op) {
      case "ping":
        return report({ ev: "pong", n: m.n });
      case "probe":
        return probe(m.id, m.config);
      case "pc": {
        const pc = new library.PeerConnection(m.name, m.config);
        pcs.set(m.pc, pc);
        pc.onLocalDescription((sdp, type) => report({ ev: "description", pc: m.pc, sdp, type }));
        pc.onLocalCandidate((candidate, mid) => report({ ev: "candidate", pc: m.pc, candidate, mid }));
        pc.onGatheringStateChange((state) => report({ ev: "gathering", pc: m.pc, state, sdp: pc.localDescription()?.sdp ?? null }));
        pc.onStateChange((state) => report({ ev: "state", pc: m.pc, state }));
        pc.onDataChannel((channel) => {
          const dc = nextIncoming++;
          wireChannel(dc, channel, pc);
          report({ ev: "incoming", pc: m.pc, dc, open: channel.isOpen(), maxMessageSize: channel.maxMessageSize() });
        });
        return;
      }
      case "remote":
        return pcs.get(m.pc)?.setRemoteDescription(m.sdp, m.type);
      case "candidate":
        try {
          pcs.get(m.pc)?.addRemoteCandidate(m.candidate, m.mid);
        } catch {
          // A malformed candidate is dropped, as in the instance before.
        }
        return;
      case "channel": {
        const pc = pcs.get(m.pc);
        if (pc) wireChannel(m.dc, pc.createDataChannel(m.label), pc);
        return;
      }
      case "send": {
        const channel = channels.get(m.dc);
        if (!channel) return;
        channel.sendMessageBinary(m.data);
        // Reported once per turn: the instance's bufferedAmount is what it sent and we have not said taken, plus this.
        if (taken.size === 0) setImmediate(flush);
        taken.set(m.dc, (taken.get(m.dc) ?? 0) + m.data.byteLength);
        return;
      }
      case "close-channel":
        channels.get(m.dc)?.close();
        return void channels.delete(m.dc);
      case "close":
        pcs.get(m.pc)?.close();
        return void pcs.delete(m.pc);
    }
  };

  process.on("message", (m: Op) => {
    try {
      handle(m);
    } catch (error) {
      if ("pc" in m) report({ ev: "failed", pc: m.pc, reason: messageOf(error).slice(0, 1000) });
    }
  });
  report({ ev: "ready" });
}
