import { HubSignaling, type LocalHub } from "./hub-signaling.ts";
import { TIER_PRIORITY, TIERS } from "../domain/tiers.ts";
import { DialError, isSignalMessage, type Link, type PeerAddress, type Signaling, type SignalMessage, type Tier, type Transport } from "./types.ts";

export interface LinkManagerInit {
  /** This instance's node id, sent first on every link. */
  localNodeId: string;
  /** The tiers this instance may use (the `--transports` flag). */
  transports: Transport[];
  /** Where WebRTC offers for this instance arrive when no link exists yet (its own `/signal` hub). */
  hub?: LocalHub;
  /** How often every link is pinged. @default 500 */
  pingIntervalMs?: number;
  /** A link that has carried nothing for this long is dead: four pings in a row unanswered. @default 2000 */
  deadAfterMs?: number;
  /** Each dial attempt's own timeout. @default 10000 */
  dialTimeoutMs?: number;
  /** Delay between starting one tier's first dial and the next lower tier's. @default 250 */
  staggerMs?: number;
  /** First retry delay of a failed tier; doubles per failure. @default 1000 */
  retryMinMs?: number;
  /** Longest retry delay. @default 30000 */
  retryMaxMs?: number;
  /** Peers linked at most; beyond it new peers are refused (replication forwards to them). @default 64 */
  maxPeers?: number;
  /** An accepted link must name its instance within this. @default 5000 */
  handshakeTimeoutMs?: number;
  log?: (line: string) => void;
}

/** How one peer's links stand, for `/peers` and the page. */
export interface LinkStatus {
  nodeId: string;
  /** The primary link's tier, null when no link has carried a ping yet. */
  tier: Tier | null;
  /** The primary link's smoothed round trip. */
  rttMs: number | null;
  /** Share of the primary link's recent pings left unanswered, 0 to 1. */
  loss: number;
  state: "connecting" | "connected" | "disconnected";
  /** Every live tier, the primary and those standing by. */
  tiers: Tier[];
}

const PROTOCOL = 1;
const CONTROL = 0;
const DATA = 1;
const PING_WINDOW = 20;
const RTT_WEIGHT = 0.2;

type Control =
  | { t: "id"; node: string; protocol: number }
  | { t: "ping"; n: number }
  | { t: "pong"; n: number }
  | { t: "signal"; m: SignalMessage };

interface Attached {
  link: Link;
  tier: Tier;
  dialedByMe: boolean;
  peer: Peer | null;
  lastHeard: number;
  /** True once a ping was answered: only then may the link become primary. */
  ponged: boolean;
  rtt: number | null;
  pings: Map<number, number>;
  /** 1 per answered ping and 0 per lost one, newest last. */
  answers: number[];
}

interface Peer {
  nodeId: string;
  address: PeerAddress & { nodeId: string };
  links: Map<Tier, Attached>;
  dialing: Set<Tier>;
  retry: Map<Tier, { failures: number; nextAt: number }>;
  primary: Attached | null;
  /** Dial this peer (we were asked to connect), rather than only accept its links. */
  wanted: boolean;
  started: boolean;
}

type ChangeHandler = (nodeId: string, tier: Tier | null, previous: Tier | null) => void;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function controlFrame(message: Control): Uint8Array {
  const json = encoder.encode(JSON.stringify(message));
  const out = new Uint8Array(json.byteLength + 1);
  out[0] = CONTROL;
  out.set(json, 1);
  return out;
}

/**
 * Keeps, per peer, one link on every tier that works: the best one that has carried a ping is the primary and carries
 * the data; the others stand by, pinged, ready to take over the moment the primary goes silent. Tiers without a link
 * are redialled with backoff, so a better path that comes back takes over again.
 */
export class LinkManager {
  readonly #init: Required<Omit<LinkManagerInit, "hub" | "log">>;
  readonly #log: (line: string) => void;
  readonly #peers = new Map<string, Peer>();
  readonly #pending = new Set<Attached>();
  readonly #closing = new AbortController();
  readonly #dataHandlers: ((nodeId: string, data: Uint8Array, tier: Tier) => void)[] = [];
  readonly #changeHandlers: ChangeHandler[] = [];
  readonly #hubSignaling: HubSignaling | null;
  #signalHandler: (from: string, message: SignalMessage) => void = () => {};
  #timers: ReturnType<typeof setInterval>[] = [];
  #nonce = 0;

  constructor(init: LinkManagerInit) {
    this.#init = {
      pingIntervalMs: 500,
      deadAfterMs: 2000,
      dialTimeoutMs: 10_000,
      staggerMs: 250,
      retryMinMs: 1000,
      retryMaxMs: 30_000,
      maxPeers: 64,
      handshakeTimeoutMs: 5000,
      ...init,
      transports: [...init.transports].sort((a, b) => TIER_PRIORITY[b.tier] - TIER_PRIORITY[a.tier]),
    };
    this.#log = init.log ?? (() => {});
    this.#hubSignaling = init.hub
      ? new HubSignaling({
          localNodeId: init.localNodeId,
          hub: init.hub,
          onMessage: (from, m) => this.#signalHandler(from, m),
        })
      : null;
  }

  /** WebRTC negotiation over an existing link to the peer, else through a signaling hub. */
  readonly signaling: Signaling = {
    send: async (to, message) => {
      const peer = this.#peers.get(to.nodeId);
      const via = peer?.primary ?? [...(peer?.links.values() ?? [])][0];
      if (via) return void via.link.send(controlFrame({ t: "signal", m: message }));
      if (this.#hubSignaling) return this.#hubSignaling.send(to, message);
      throw new DialError(`no signaling path to ${to.nodeId}`);
    },
    onMessage: (handler) => {
      this.#signalHandler = handler;
    },
  };

  /** Starts accepting links on every transport, pinging, and redialling. */
  async start(): Promise<void> {
    for (const transport of this.#init.transports) {
      await transport.listen((link) => this.#adopt(link, transport.tier, false, null));
    }
    this.#hubSignaling?.start();
    this.#timers.push(setInterval(() => this.#pingAll(), this.#init.pingIntervalMs));
    this.#timers.push(setInterval(() => this.#pumpAll(), Math.min(500, this.#init.retryMinMs)));
  }

  /** Links to the instance at `address` on every tier that can reach it, and keeps doing so. */
  connect(address: PeerAddress & { nodeId: string }): void {
    if (address.nodeId === this.#init.localNodeId || this.#closing.signal.aborted) return;
    const peer = this.#peers.get(address.nodeId) ?? this.#addPeer(address.nodeId);
    if (!peer) return;
    peer.address = { ...peer.address, ...address };
    peer.wanted = true;
    this.#pump(peer);
  }

  /** Sends data to a peer over its primary link; false when the peer has no live link. */
  send(nodeId: string, data: Uint8Array): boolean {
    const peer = this.#peers.get(nodeId);
    if (!peer) return false;
    const frame = new Uint8Array(data.byteLength + 1);
    frame[0] = DATA;
    frame.set(data, 1);
    // Each failed try removes that link, so this ends after at most one try per tier.
    for (let tries = 0; peer.primary && tries <= TIERS.length; tries++) {
      const primary = peer.primary;
      try {
        primary.link.send(frame);
        return true;
      } catch (err) {
        primary.link.close(`send failed: ${(err as Error).message}`);
        this.#drop(primary);
      }
    }
    return false;
  }

  /** Calls `handler` with every data frame from any peer, and the tier it came over. */
  onData(handler: (nodeId: string, data: Uint8Array, tier: Tier) => void): void {
    this.#dataHandlers.push(handler);
  }

  /** Closes a peer's link on one tier, e.g. after it sent a bad frame; the tier is redialled later. */
  closeLink(nodeId: string, tier: Tier, reason: string): void {
    this.#peers.get(nodeId)?.links.get(tier)?.link.close(reason);
  }

  /** Calls `handler` whenever a peer's primary tier changes (null: the peer has no live link). */
  onChange(handler: ChangeHandler): void {
    this.#changeHandlers.push(handler);
  }

  status(): LinkStatus[] {
    return [...this.#peers.values()].map((peer) => {
      const primary = peer.primary;
      const answers = primary?.answers ?? [];
      return {
        nodeId: peer.nodeId,
        tier: primary?.tier ?? null,
        rttMs: primary?.rtt ?? null,
        loss: answers.length === 0 ? 0 : 1 - answers.reduce((a, b) => a + b, 0) / answers.length,
        state: primary ? "connected" : peer.dialing.size > 0 || peer.links.size > 0 ? "connecting" : "disconnected",
        tiers: [...peer.links.keys()].sort((a, b) => TIER_PRIORITY[b] - TIER_PRIORITY[a]),
      };
    });
  }

  /** Closes every link and transport; nothing is dialled afterwards. */
  async close(): Promise<void> {
    this.#closing.abort(new DialError("shutting down"));
    for (const timer of this.#timers) clearInterval(timer);
    this.#hubSignaling?.close();
    for (const attached of this.#pending) attached.link.close("shutting down");
    for (const peer of this.#peers.values()) for (const a of peer.links.values()) a.link.close("shutting down");
    await Promise.all(this.#init.transports.map((t) => t.close()));
  }

  #addPeer(nodeId: string): Peer | null {
    if (this.#peers.size >= this.#init.maxPeers) {
      this.#log(`not linking to ${nodeId}: already linked to the most peers allowed (${this.#init.maxPeers})`);
      return null;
    }
    const peer: Peer = { nodeId, address: { nodeId }, links: new Map(), dialing: new Set(), retry: new Map(), primary: null, wanted: false, started: false };
    this.#peers.set(nodeId, peer);
    return peer;
  }

  #pumpAll(): void {
    for (const peer of this.#peers.values()) this.#pump(peer);
  }

  /** Dials every tier of a wanted peer that has no link, no dial under way and no retry pending. */
  #pump(peer: Peer): void {
    if (!peer.wanted || this.#closing.signal.aborted) return;
    const now = Date.now();
    const dialable = this.#init.transports.filter((t) => t.canDial(peer.address));
    if (!peer.started) {
      // Happy eyeballs: lower tiers start a little later, so a slow WebRTC setup delays nothing.
      peer.started = true;
      dialable.forEach((t, rank) => rank > 0 && peer.retry.set(t.tier, { failures: 0, nextAt: now + rank * this.#init.staggerMs }));
    }
    for (const transport of dialable) {
      const tier = transport.tier;
      if (peer.links.has(tier) || peer.dialing.has(tier) || (peer.retry.get(tier)?.nextAt ?? 0) > now) continue;
      this.#dial(peer, transport);
    }
  }

  #dial(peer: Peer, transport: Transport): void {
    const tier = transport.tier;
    peer.dialing.add(tier);
    const signal = AbortSignal.any([AbortSignal.timeout(this.#init.dialTimeoutMs), this.#closing.signal]);
    transport.dial(peer.address, signal).then(
      (link) => {
        peer.dialing.delete(tier);
        peer.retry.delete(tier);
        this.#adopt(link, tier, true, peer);
      },
      (err: Error) => {
        peer.dialing.delete(tier);
        this.#backOff(peer, tier, err.message);
      },
    );
  }

  /** Schedules the next dial of a tier that failed, doubling the wait per failure in a row. */
  #backOff(peer: Peer, tier: Tier, why: string): void {
    const failures = (peer.retry.get(tier)?.failures ?? 0) + 1;
    const delay = Math.min(this.#init.retryMaxMs, this.#init.retryMinMs * 2 ** (failures - 1));
    peer.retry.set(tier, { failures, nextAt: Date.now() + delay * (0.8 + Math.random() * 0.4) });
    if (failures === 1 || failures % 10 === 0) this.#log(`${tier} dial to ${peer.nodeId} failed (${failures}x): ${why}`);
  }

  /** Takes a fresh link (dialled or accepted): says who we are, and waits to hear who is on the other end. */
  #adopt(link: Link, tier: Tier, dialedByMe: boolean, expected: Peer | null): void {
    if (this.#closing.signal.aborted) return link.close("shutting down");
    const attached: Attached = { link, tier, dialedByMe, peer: null, lastHeard: Date.now(), ponged: false, rtt: null, pings: new Map(), answers: [] };
    this.#pending.add(attached);
    const timer = setTimeout(() => {
      if (!attached.peer) link.close("no handshake");
    }, this.#init.handshakeTimeoutMs);
    link.onClose((reason) => {
      clearTimeout(timer);
      const wasPending = this.#pending.delete(attached);
      if (attached.peer) this.#log(`${tier} link to ${attached.peer.nodeId} closed: ${reason}`);
      // A dial that connected but never completed the handshake (wrong instance, no answer) counts as a failure.
      else if (wasPending && expected) this.#backOff(expected, tier, `link closed before the handshake: ${reason}`);
      this.#drop(attached);
    });
    link.onFrame((frame) => {
      attached.lastHeard = Date.now();
      if (frame[0] === DATA) {
        if (!attached.peer) return link.close("data before handshake");
        const data = frame.subarray(1);
        for (const handler of this.#dataHandlers) handler(attached.peer.nodeId, data, tier);
        return;
      }
      let message: Control;
      try {
        message = JSON.parse(decoder.decode(frame.subarray(1)));
      } catch {
        return link.close("unreadable control frame");
      }
      this.#control(attached, message, expected);
    });
    try {
      link.send(controlFrame({ t: "id", node: this.#init.localNodeId, protocol: PROTOCOL }));
    } catch {
      link.close("closed before handshake");
    }
  }

  #control(attached: Attached, message: Control, expected: Peer | null): void {
    const { link } = attached;
    switch (message?.t) {
      case "id": {
        if (attached.peer) return;
        if (typeof message.node !== "string" || !/^[0-9a-f]{20}$/.test(message.node)) return link.close("bad node id");
        if (message.protocol !== PROTOCOL) return link.close(`protocol ${message.protocol} is not ${PROTOCOL}`);
        if (message.node === this.#init.localNodeId) return link.close("link to self");
        if (expected && expected.nodeId !== message.node) return link.close(`reached ${message.node}, not ${expected.nodeId}`);
        const peer = this.#peers.get(message.node) ?? this.#addPeer(message.node);
        if (!peer) return link.close("mesh is full");
        this.#pending.delete(attached);
        this.#attach(peer, attached);
        return;
      }
      case "ping":
        if (Number.isSafeInteger(message.n)) link.send(controlFrame({ t: "pong", n: message.n }));
        return;
      case "pong": {
        const sentAt = attached.pings.get(message.n);
        if (sentAt === undefined) return;
        attached.pings.delete(message.n);
        const sample = performance.now() - sentAt;
        attached.rtt = attached.rtt === null ? sample : attached.rtt + RTT_WEIGHT * (sample - attached.rtt);
        attached.answers.push(1);
        if (attached.answers.length > PING_WINDOW) attached.answers.shift();
        if (!attached.ponged) {
          attached.ponged = true;
          if (attached.peer) this.#elect(attached.peer);
        }
        return;
      }
      case "signal":
        if (attached.peer && isSignalMessage(message.m)) this.#signalHandler(attached.peer.nodeId, message.m);
        return;
      default:
        link.close("unknown control frame");
    }
  }

  /** Files an identified link under its peer; of two links on one tier, both ends keep the one the lower id dialled. */
  #attach(peer: Peer, attached: Attached): void {
    attached.peer = peer;
    const existing = peer.links.get(attached.tier);
    if (existing) {
      const lowerDialled = (a: Attached) => a.dialedByMe === (this.#init.localNodeId < peer.nodeId);
      if (lowerDialled(existing) || !lowerDialled(attached)) {
        attached.peer = null;
        return attached.link.close("duplicate link");
      }
      existing.peer = null;
      peer.links.delete(attached.tier);
      existing.link.close("duplicate link");
    }
    peer.links.set(attached.tier, attached);
    // The link replaced may have been the primary: elect again, so the primary is always one of the peer's links.
    this.#elect(peer);
    this.#ping(attached);
  }

  /** Forgets a closed or failed link; its peer's next best link takes over at once. */
  #drop(attached: Attached): void {
    const peer = attached.peer;
    if (!peer) return;
    attached.peer = null;
    if (peer.links.get(attached.tier) === attached) {
      peer.links.delete(attached.tier);
      // A tier that worked and broke is redialled soon, not after a long backoff.
      peer.retry.set(attached.tier, { failures: 0, nextAt: Date.now() + this.#init.retryMinMs });
    }
    this.#elect(peer);
  }

  /** Makes the best link that has carried a ping the primary, and tells listeners when that changes. */
  #elect(peer: Peer): void {
    let best: Attached | null = null;
    for (const a of peer.links.values()) if (a.ponged && (!best || TIER_PRIORITY[a.tier] > TIER_PRIORITY[best.tier])) best = a;
    if (best === peer.primary) return;
    const previous = peer.primary?.tier ?? null;
    peer.primary = best;
    this.#log(`${peer.nodeId} primary: ${previous ?? "none"} -> ${best?.tier ?? "none"}`);
    for (const handler of this.#changeHandlers) handler(peer.nodeId, best?.tier ?? null, previous);
  }

  #ping(attached: Attached): void {
    const n = ++this.#nonce;
    attached.pings.set(n, performance.now());
    try {
      attached.link.send(controlFrame({ t: "ping", n }));
    } catch {
      attached.link.close("ping failed");
    }
  }

  #pingAll(): void {
    const now = Date.now();
    for (const peer of this.#peers.values()) {
      for (const attached of [...peer.links.values()]) {
        if (now - attached.lastHeard > this.#init.deadAfterMs) {
          attached.link.close(`silent for ${now - attached.lastHeard} ms`);
          this.#drop(attached);
          continue;
        }
        // Pings older than the dead time count as lost.
        for (const [n, sentAt] of attached.pings) {
          if (performance.now() - sentAt > this.#init.deadAfterMs) {
            attached.pings.delete(n);
            attached.answers.push(0);
            if (attached.answers.length > PING_WINDOW) attached.answers.shift();
          }
        }
        this.#ping(attached);
      }
    }
  }
}
