import { randomUUID } from "node:crypto";
import nodeDataChannel, { type DataChannel, type IceServer, type PeerConnection, type RtcConfig } from "node-datachannel";
import type { TurnServer } from "../config.ts";
import { BaseLink } from "./base-link.ts";
import { DialError, isSignalMessage, LinkClosedError, type Link, type PeerAddress, type SignalMessage, type Signaling, type Transport } from "./types.ts";

/** The largest frame a link carries; bigger ones are refused on send and end the link on receipt. */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;
/** Unsent bytes past which the peer is taken to have stopped reading, and the link closes. */
export const MAX_BUFFERED_BYTES = 64 * 1024 * 1024;
/** How long a dial, or an accepted offer, may take to open its DataChannel. */
export const DEFAULT_DIAL_TIMEOUT_MS = 10_000;

const CHANNEL_LABEL = "e-goat";
/** SCTP messages are capped (libdatachannel announces 256 KiB), so frames travel as chunks of at most this size. */
const CHUNK_BYTES = 64 * 1024;
// The first byte of every DataChannel message: more chunks of this frame follow, last chunk, or close with a reason.
const CHUNK_MORE = 0;
const CHUNK_LAST = 1;
const CHUNK_CLOSE = 2;
const MAX_REASON_CHARS = 200;

const MAX_PENDING = 256;
const MAX_PENDING_PER_PEER = 16;
const MAX_EARLY_CANDIDATES = 32;

/** Settings of one WebRTC-based tier. */
export interface WebRtcTransportInit {
  /** `webrtc` uses the STUN servers and any path; `turn` only relays through the TURN servers. */
  tier: "webrtc" | "turn";
  /** This instance's node id, named in the PeerConnections for logs. */
  localNodeId: string;
  /** Where offers, answers and candidates travel. */
  signaling: Signaling;
  /** STUN URLs (`stun:host:port`) for the `webrtc` tier. */
  iceServers: string[];
  /** TURN servers for the `turn` tier. */
  turnServers?: TurnServer[];
  /** Local address ICE binds to, e.g. 127.0.0.1 in tests. @default every interface */
  bindAddress?: string;
  /** Local UDP ports ICE may use. @default any */
  portRange?: { begin: number; end: number };
  /** @default DEFAULT_DIAL_TIMEOUT_MS */
  dialTimeoutMs?: number;
  /** Makes the PeerConnections; tests pass one that records them. @default node-datachannel's */
  createPeerConnection?: (name: string, config: RtcConfig) => PeerConnection;
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** A `--turn` server as node-datachannel takes it. Its prebuilt addon (libjuice) gathers nothing from `turns:` (TLS). */
function turnIceServer(server: TurnServer): IceServer {
  return { hostname: server.host, port: server.port, username: server.username, password: server.password, relayType: server.secure ? "TurnTls" : "TurnUdp" };
}

/** A link over one ordered, reliable DataChannel; it owns its PeerConnection and closes it with the link. */
export class WebRtcLink extends BaseLink {
  #parts: Uint8Array[] = [];
  #partBytes = 0;
  readonly #chunkBytes: number;

  constructor(
    readonly tier: "webrtc" | "turn",
    readonly remote: string,
    private readonly pc: PeerConnection,
    private readonly channel: DataChannel,
  ) {
    super(MAX_BUFFERED_BYTES);
    this.#chunkBytes = Math.min(CHUNK_BYTES, channel.maxMessageSize()) - 1;
    pc.onLocalCandidate(() => {});
    pc.onDataChannel((extra) => extra.close());
    pc.onStateChange((state) => {
      if (state === "disconnected" || state === "failed" || state === "closed") this.ended(`connection ${state}`);
    });
    channel.onMessage((message) => this.#receive(message));
    channel.onClosed(() => void this.ended("closed by peer"));
    channel.onError((error) => void this.ended(`DataChannel error: ${error}`));
  }

  /** The ICE candidate pair in use (its `local.type` is `relay` when a TURN server carries the traffic). */
  selectedCandidatePair() {
    return this.pc.getSelectedCandidatePair();
  }

  send(frame: Uint8Array): void {
    this.checkSend(frame);
    if (frame.byteLength > MAX_FRAME_BYTES) throw new RangeError(`frame of ${frame.byteLength} bytes is over the ${MAX_FRAME_BYTES}-byte limit`);
    if (this.channel.bufferedAmount() + frame.byteLength > MAX_BUFFERED_BYTES) {
      const reason = `peer is not reading: over ${MAX_BUFFERED_BYTES} bytes waiting to be sent`;
      this.close(reason);
      throw new LinkClosedError(reason);
    }
    try {
      for (let start = 0; ; start += this.#chunkBytes) {
        const end = Math.min(start + this.#chunkBytes, frame.byteLength);
        const chunk = new Uint8Array(1 + end - start);
        chunk[0] = end === frame.byteLength ? CHUNK_LAST : CHUNK_MORE;
        chunk.set(frame.subarray(start, end), 1);
        // false only means "queued behind earlier messages"; bufferedAmount above bounds that queue.
        this.channel.sendMessageBinary(chunk);
        if (end === frame.byteLength) return;
      }
    } catch (error) {
      const reason = `send failed: ${messageOf(error)}`;
      this.ended(reason);
      throw new LinkClosedError(reason);
    }
  }

  close(reason = "closed"): void {
    if (this.closed) return;
    try {
      const text = new TextEncoder().encode(reason.slice(0, MAX_REASON_CHARS));
      const chunk = new Uint8Array(1 + text.length);
      chunk[0] = CHUNK_CLOSE;
      chunk.set(text, 1);
      this.channel.sendMessageBinary(chunk);
    } catch {
      // The channel is already gone: the far end learns of it from the connection instead.
    }
    this.ended(reason);
  }

  #receive(message: string | Buffer | ArrayBuffer): void {
    if (this.closed) return;
    if (typeof message === "string") return this.close("protocol error: text message");
    const bytes = message instanceof ArrayBuffer ? new Uint8Array(message) : message;
    const kind = bytes[0];
    if (kind === CHUNK_CLOSE) return void this.ended(`closed by peer: ${new TextDecoder().decode(bytes.subarray(1))}`);
    if (kind !== CHUNK_MORE && kind !== CHUNK_LAST) return this.close(`protocol error: chunk kind ${kind}`);
    this.#partBytes += bytes.length - 1;
    if (this.#partBytes > MAX_FRAME_BYTES) return this.close(`peer sent a frame over ${MAX_FRAME_BYTES} bytes`);
    this.#parts.push(bytes.subarray(1));
    if (kind === CHUNK_MORE) return;
    const frame = new Uint8Array(this.#partBytes);
    let offset = 0;
    for (const part of this.#parts) {
      frame.set(part, offset);
      offset += part.length;
    }
    this.#parts = [];
    this.#partBytes = 0;
    this.deliver(frame);
  }

  protected override release(): void {
    this.#parts = [];
    this.channel.close();
    this.pc.close();
  }
}

/** One WebRTC handshake in progress, from dial or offer until its DataChannel opens. */
class Negotiation {
  pc: PeerConnection | null = null;
  channel: DataChannel | null = null;
  hasRemote = false;
  done = false;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** Remote candidates waiting for the remote description (libdatachannel refuses them before it). */
  readonly candidates: [string, string][] = [];
  /** Ends the handshake; dials replace it to also reject their promise. */
  fail: (error: unknown) => void = () => {};

  constructor(
    readonly peer: string,
    readonly session: string,
    readonly outgoing: boolean,
  ) {}

  /** Applies the far end's description, then the candidates that came before it. */
  setRemote(sdp: string, type: "offer" | "answer"): void {
    try {
      this.pc!.setRemoteDescription(sdp, type);
    } catch (error) {
      return this.fail(new DialError(`bad ${type} from ${this.peer}: ${messageOf(error)}`));
    }
    this.hasRemote = true;
    for (const [candidate, mid] of this.candidates.splice(0)) this.addCandidate(candidate, mid);
  }

  addCandidate(candidate: string, mid: string): void {
    if (!this.pc || !this.hasRemote) {
      if (this.candidates.length < MAX_EARLY_CANDIDATES) this.candidates.push([candidate, mid]);
      return;
    }
    try {
      this.pc.addRemoteCandidate(candidate, mid);
    } catch {
      // A malformed candidate is dropped; the others may still connect.
    }
  }
}

class WebRtcTransport implements Transport {
  readonly tier: "webrtc" | "turn";
  readonly #init: WebRtcTransportInit;
  readonly #config: RtcConfig;
  readonly #timeoutMs: number;
  /** Session ids carry the tier, so the two tiers can share one signaling path without taking each other's offers. */
  readonly #sessionPrefix: string;
  readonly #negotiations = new Map<string, Negotiation>();
  readonly #links = new Set<Link>();
  #onLink: ((link: Link) => void) | null = null;
  #closed = false;

  constructor(init: WebRtcTransportInit) {
    this.tier = init.tier;
    this.#init = init;
    this.#timeoutMs = init.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS;
    this.#sessionPrefix = `${init.tier}-`;
    const relayOnly = init.tier === "turn";
    this.#config = {
      iceServers: relayOnly ? (init.turnServers ?? []).map(turnIceServer) : init.iceServers,
      // libjuice applies "relay" only to the candidates we announce; it may still reach the peer's relay from a
      // host socket, or a path found through it (libdatachannel#1587). Without a relay nothing connects, though.
      iceTransportPolicy: relayOnly ? "relay" : "all",
      ...(init.bindAddress !== undefined && { bindAddress: init.bindAddress }),
      ...(init.portRange && { portRangeBegin: init.portRange.begin, portRangeEnd: init.portRange.end }),
    };
    // Answers and candidates for our dials come this way too, so the handler is set before any listen().
    init.signaling.onMessage((from, message) => this.#onSignal(from, message));
  }

  canDial(address: PeerAddress): boolean {
    return address.nodeId !== undefined && (this.tier === "webrtc" || (this.#init.turnServers?.length ?? 0) > 0);
  }

  async dial(address: PeerAddress, signal?: AbortSignal): Promise<Link> {
    signal?.throwIfAborted();
    if (this.#closed) throw new DialError("transport is closed");
    if (!this.canDial(address)) throw new DialError(`the ${this.tier} tier cannot dial ${JSON.stringify(address)}`);
    const to = { ...address, nodeId: address.nodeId! };
    const n = this.#begin(to.nodeId, this.#sessionPrefix + randomUUID(), true);
    if (!n) throw new DialError(`too many ${this.tier} handshakes pending with ${to.nodeId}`);
    const { promise, resolve, reject } = Promise.withResolvers<Link>();
    n.fail = (error) => {
      this.#finish(n);
      reject(error);
    };
    const abort = () => n.fail(signal!.reason);
    signal?.addEventListener("abort", abort, { once: true });
    try {
      const pc = this.#connect(n, to);
      const channel = pc.createDataChannel(CHANNEL_LABEL);
      n.channel = channel;
      channel.onOpen(() => {
        if (n.done) return;
        this.#finish(n, true);
        resolve(this.#adopt(n.peer, pc, channel));
      });
    } catch (error) {
      n.fail(new DialError(`cannot start a ${this.tier} connection: ${messageOf(error)}`));
    }
    try {
      return await promise;
    } finally {
      signal?.removeEventListener("abort", abort);
    }
  }

  async listen(onLink: (link: Link) => void): Promise<void> {
    if (this.#closed) throw new DialError("transport is closed");
    this.#onLink = onLink;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#onLink = null;
    for (const n of [...this.#negotiations.values()]) n.fail(new DialError("transport closed"));
    for (const link of [...this.#links]) link.close("transport closed");
  }

  #onSignal(from: string, m: SignalMessage): void {
    if (this.#closed || !isSignalMessage(m)) return;
    const n = this.#negotiations.get(`${from} ${m.session}`);
    const mayAccept = this.#onLink !== null && m.session.startsWith(this.#sessionPrefix);
    if (m.kind === "offer") {
      if (!mayAccept || n?.pc || n?.outgoing) return;
      const incoming = n ?? this.#begin(from, m.session, false);
      if (incoming) this.#answer(incoming, m.sdp!);
    } else if (m.kind === "answer") {
      if (n?.outgoing && !n.hasRemote) n.setRemote(m.sdp!, "answer");
    } else {
      // A candidate may overtake its offer: keep it (bounded) in a handshake that the offer will fill in.
      (n ?? (mayAccept ? this.#begin(from, m.session, false) : undefined))?.addCandidate(m.candidate!, m.mid!);
    }
  }

  /** Registers a handshake, within the caps, with its timeout; undefined when a cap is reached. */
  #begin(peer: string, session: string, outgoing: boolean): Negotiation | undefined {
    const pending = [...this.#negotiations.values()];
    if (pending.length >= MAX_PENDING || pending.filter((p) => p.peer === peer).length >= MAX_PENDING_PER_PEER) return undefined;
    const n = new Negotiation(peer, session, outgoing);
    n.fail = () => this.#finish(n);
    n.timer = setTimeout(() => n.fail(new DialError(`no ${this.tier} link with ${peer} within ${this.#timeoutMs} ms`)), this.#timeoutMs);
    this.#negotiations.set(`${peer} ${session}`, n);
    return n;
  }

  /** Forgets a handshake; closes its PeerConnection unless a link now owns it. */
  #finish(n: Negotiation, linked = false): void {
    if (n.done) return;
    n.done = true;
    clearTimeout(n.timer);
    this.#negotiations.delete(`${n.peer} ${n.session}`);
    if (linked) return;
    n.channel?.close();
    n.pc?.close();
  }

  /** Makes the handshake's PeerConnection and sends its description and candidates to the far end. */
  #connect(n: Negotiation, to: PeerAddress & { nodeId: string }): PeerConnection {
    const create = this.#init.createPeerConnection ?? ((name, config) => new nodeDataChannel.PeerConnection(name, config));
    const pc = create(`${this.#init.localNodeId}-${n.peer}`, this.#config);
    n.pc = pc;
    const send = (message: Omit<SignalMessage, "session">) =>
      this.#init.signaling
        .send(to, { session: n.session, ...message })
        .catch((error) => n.fail(new DialError(`no signaling path to ${n.peer}: ${messageOf(error)}`)));
    pc.onLocalDescription((sdp, type) => void send({ kind: type === "offer" ? "offer" : "answer", sdp }));
    pc.onLocalCandidate((candidate, mid) => void send({ kind: "candidate", candidate, mid }));
    // With relay-only ICE this is what a wrong TURN password looks like: gathering ends at once with nothing.
    pc.onGatheringStateChange((state) => {
      if (state === "complete" && !pc.localDescription()?.sdp.includes("a=candidate:")) {
        n.fail(new DialError(`no ${this.tier === "turn" ? "relay " : ""}candidate gathered for ${n.peer}`));
      }
    });
    pc.onStateChange((state) => {
      if (state === "failed" || state === "closed") n.fail(new DialError(`${this.tier} connection with ${n.peer} ${state}`));
    });
    return pc;
  }

  /** Answers an offer; the link is made when the dialer's DataChannel opens. */
  #answer(n: Negotiation, sdp: string): void {
    try {
      const pc = this.#connect(n, { nodeId: n.peer });
      pc.onDataChannel((channel) => {
        const accept = () => {
          if (n.done) return channel.close();
          this.#finish(n, true);
          this.#onLink?.(this.#adopt(n.peer, pc, channel));
        };
        if (channel.isOpen()) accept();
        else channel.onOpen(accept);
      });
      n.setRemote(sdp, "offer");
    } catch (error) {
      n.fail(error);
    }
  }

  #adopt(peer: string, pc: PeerConnection, channel: DataChannel): Link {
    const link = new WebRtcLink(this.tier, peer, pc, channel);
    this.#links.add(link);
    link.onClose(() => this.#links.delete(link));
    return link;
  }
}

/** The `webrtc` tier (any ICE path, STUN servers) or the `turn` tier (relay-only through TURN servers), over node-datachannel. */
export function webrtcTransport(init: WebRtcTransportInit): Transport {
  return new WebRtcTransport(init);
}
