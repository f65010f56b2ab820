import { randomUUID } from "node:crypto";
import type { RtcConfig } from "node-datachannel";
import { DialError, DialRefusedError, DialTimeoutError, messageOf, TransportClosedError } from "../errors.ts";
import type { Link, NodeAddress, PeerAddress, Transport } from "../link.ts";
import { DIAL_TIMEOUT_MS } from "../limits.ts";
import { isSignalMessage, type Signaling, type SignalMessage } from "../signaling/signal.ts";
import { rtcConfig, type IceSettings } from "./ice.ts";
import { WebRtcLibraryLoader, type RtcChannel, type RtcPeer, type WebRtcLibrary } from "./library.ts";
import { WebRtcLink } from "./link.ts";
import { Negotiation } from "./negotiation.ts";

const CHANNEL_LABEL = "e-goat";
/** Handshakes in progress at once, in all and with one peer; past them offers are ignored and dials refused. */
const MAX_PENDING = 256;
const MAX_PENDING_PER_PEER = 16;

/** A signal message of each kind, before the handshake's session is added. */
type Unsessioned<M> = M extends SignalMessage ? Omit<M, "session"> : never;

/** Settings of one WebRTC-based tier. */
export interface WebRtcTransportInit extends IceSettings {
  /** This instance's node id, named in the PeerConnections for logs. */
  localNodeId: string;
  /** Where offers, answers and candidates travel. */
  signaling: Signaling;
  /** How long a dial, or an accepted offer, may take to open its DataChannel. @default DIAL_TIMEOUT_MS */
  dialTimeoutMs?: number;
  /** Bytes a link may hold for a far end that stopped reading before it closes (see link.ts). @default MAX_QUEUED_BYTES */
  maxQueuedBytes?: number;
  /** Loads node-datachannel on first need; the two WebRTC tiers share one. @default a loader of its own */
  library?: WebRtcLibraryLoader;
  /** Makes the PeerConnections; tests pass one that records them. @default the library's */
  createPeerConnection?: (name: string, config: RtcConfig) => RtcPeer;
}

/** The `webrtc` tier (any ICE path, STUN servers) or the `turn` tier (relay-only through TURN servers), over node-datachannel. */
export class WebRtcTransport implements Transport {
  readonly tier: "webrtc" | "turn";
  readonly #init: WebRtcTransportInit;
  readonly #config: RtcConfig;
  readonly #timeoutMs: number;
  /** Session ids carry the tier, so the two tiers can share one signaling path without taking each other's offers. */
  readonly #sessionPrefix: string;
  readonly #negotiations = new Map<string, Negotiation>();
  readonly #links = new Set<Link>();
  readonly #stopSignaling: () => void;
  readonly #library: WebRtcLibraryLoader;
  #onLink: ((link: Link) => void) | null = null;
  #closed = false;

  constructor(init: WebRtcTransportInit) {
    this.tier = init.tier;
    this.#init = init;
    this.#timeoutMs = init.dialTimeoutMs ?? DIAL_TIMEOUT_MS;
    this.#sessionPrefix = `${init.tier}-`;
    this.#config = rtcConfig(init);
    this.#library = init.library ?? new WebRtcLibraryLoader();
    // Answers and candidates for our dials come this way too, so the handler is set before any listen().
    this.#stopSignaling = init.signaling.onMessage((from, message) => this.#onSignal(from, message));
  }

  /** Needs the peer's node id and a WebRTC library that loads; the `turn` tier also a TURN server. */
  canDial(address: PeerAddress): boolean {
    if (this.#library.failure !== undefined) return false;
    return address.nodeId !== undefined && (this.tier === "webrtc" || (this.#init.turnServers?.length ?? 0) > 0);
  }

  /** Sends an offer through signaling; resolves once the RtcChannel opens. */
  async dial(address: PeerAddress, signal?: AbortSignal): Promise<Link> {
    signal?.throwIfAborted();
    if (this.#closed) throw new TransportClosedError(`the ${this.tier} transport is closed`);
    if (!this.canDial(address)) throw new DialError(`the ${this.tier} tier cannot dial ${JSON.stringify(address)}`);
    const to = { ...address, nodeId: address.nodeId! };
    const library = await this.#library.load();
    signal?.throwIfAborted();
    if (this.#closed) throw new TransportClosedError(`the ${this.tier} transport is closed`);
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
      const pc = this.#connect(n, to, library);
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

  /** Starts answering offers; each link opened by one goes to `onLink`. */
  async listen(onLink: (link: Link) => void): Promise<void> {
    if (this.#closed) throw new TransportClosedError(`the ${this.tier} transport is closed`);
    this.#onLink = onLink;
  }

  /** Stops answering, gives up every handshake and closes every link. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#onLink = null;
    this.#stopSignaling();
    for (const n of [...this.#negotiations.values()]) n.fail(new TransportClosedError(`the ${this.tier} transport closed`));
    for (const link of [...this.#links]) link.close("transport closed");
  }

  #onSignal(from: string, m: SignalMessage): void {
    // Signaling paths check messages from the wire, but a tier must not trust that they all do.
    if (this.#closed || !isSignalMessage(m)) return;
    const n = this.#negotiations.get(`${from} ${m.session}`);
    const mayAccept = this.#onLink !== null && m.session.startsWith(this.#sessionPrefix);
    if (m.kind === "candidate") {
      // A candidate may overtake its offer: keep it (bounded) in a handshake that the offer will fill in.
      (n ?? (mayAccept ? this.#begin(from, m.session, false) : undefined))?.addCandidate(m.candidate, m.mid);
    } else if (m.kind === "offer") {
      if (!mayAccept || n?.offered || n?.outgoing) return;
      const incoming = n ?? this.#begin(from, m.session, false);
      if (!incoming) return;
      incoming.offered = true;
      // Candidates that come while the library loads wait in the handshake.
      this.#library.load().then(
        (library) => incoming.done || this.#answer(incoming, m.sdp, library),
        (error) => incoming.fail(error),
      );
    } else if (n?.outgoing && !n.hasRemote) {
      n.setRemote(m.sdp, "answer");
    }
  }

  /** Registers a handshake, within the caps, with its timeout; undefined when a cap is reached. */
  #begin(peer: string, session: string, outgoing: boolean): Negotiation | undefined {
    const pending = [...this.#negotiations.values()];
    if (pending.length >= MAX_PENDING || pending.filter((p) => p.peer === peer).length >= MAX_PENDING_PER_PEER) return undefined;
    const n = new Negotiation(peer, session, outgoing);
    n.fail = () => this.#finish(n);
    n.timer = setTimeout(() => n.fail(new DialTimeoutError(`no ${this.tier} link with ${peer} within ${this.#timeoutMs} ms`)), this.#timeoutMs);
    this.#negotiations.set(`${peer} ${session}`, n);
    return n;
  }

  /** Forgets a handshake; closes its RtcPeer unless a link now owns it. */
  #finish(n: Negotiation, linked = false): void {
    if (n.done) return;
    n.done = true;
    clearTimeout(n.timer);
    this.#negotiations.delete(`${n.peer} ${n.session}`);
    if (linked) return;
    n.channel?.close();
    n.pc?.close();
  }

  /** Makes the handshake's RtcPeer and sends its description and candidates to the far end. */
  #connect(n: Negotiation, to: NodeAddress, library: WebRtcLibrary): RtcPeer {
    const create = this.#init.createPeerConnection ?? ((name, config) => new library.PeerConnection(name, config));
    const pc = create(`${this.#init.localNodeId}-${n.peer}`, this.#config);
    n.pc = pc;
    const send = (message: Unsessioned<SignalMessage>): void => {
      this.#init.signaling
        .send(to, { session: n.session, ...message })
        .catch((error: unknown) => n.fail(new DialError(`no signaling path to ${n.peer}: ${messageOf(error)}`)));
    };
    pc.onLocalDescription((sdp, type) => {
      n.described();
      send({ kind: type === "offer" ? "offer" : "answer", sdp });
    });
    n.sendCandidate = (candidate, mid) => send({ kind: "candidate", candidate, mid });
    pc.onLocalCandidate((candidate, mid) => n.announce(candidate, mid));
    // With relay-only ICE this is what a wrong TURN password looks like: gathering ends at once with nothing.
    pc.onGatheringStateChange((state) => {
      if (state === "complete" && !pc.localDescription()?.sdp.includes("a=candidate:")) {
        n.fail(new DialRefusedError(`no ${this.tier === "turn" ? "relay " : ""}candidate gathered for ${n.peer}`));
      }
    });
    pc.onStateChange((state) => {
      if (state === "failed" || state === "closed") n.fail(new DialRefusedError(`${this.tier} connection with ${n.peer} ${state}`));
    });
    return pc;
  }

  /** Answers an offer; the link is made when the dialer's RtcChannel opens. */
  #answer(n: Negotiation, sdp: string, library: WebRtcLibrary): void {
    try {
      const pc = this.#connect(n, { nodeId: n.peer }, library);
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

  #adopt(peer: string, pc: RtcPeer, channel: RtcChannel): Link {
    const link = new WebRtcLink(this.tier, peer, pc, channel, this.#init.maxQueuedBytes);
    this.#links.add(link);
    link.onClose(() => this.#links.delete(link));
    return link;
  }
}
