import { byPriority, type Tier } from "../../domain/tiers.ts";
import { Handlers } from "../../util/handlers.ts";
import { RateLimiter } from "../../util/rate-limit.ts";
import { DialError, messageOf } from "../errors.ts";
import type { FrameData, Link, NodeAddress } from "../link.ts";
import { SignalRouter } from "../signaling/router.ts";
import type { AddressSource } from "./address-book.ts";
import { decodeFrame, encodeData, sendControl } from "./control.ts";
import { DialQueue, handledRejection } from "./dial-queue.ts";
import { HandshakeGate } from "./handshakes.ts";
import { LinkHealth } from "./health.ts";
import type { LinkStatus, Peer, PeerLink } from "./peer.ts";
import { PeerTable } from "./peer-table.ts";
import { Pings } from "./pings.ts";
import type { LinkContext, LinkProtocol } from "./protocol.ts";
import { ProtocolRegistry } from "./registry.ts";
import { LINK_MANAGER_DEFAULTS, type LinkManagerInit, type LinkManagerSettings } from "./settings.ts";
import { sourceOf } from "./sources.ts";
import { Ranks } from "./standing.ts";

/**
 * Keeps, per peer, one link on every tier that works: the best one that has carried a ping is the primary and carries
 * the data; the others stand by, pinged, ready to take over the moment the primary goes silent. The jobs are apart:
 * handshakes (handshakes.ts), the table (peer-table.ts), dialling (dial-queue.ts), pings (pings.ts, health.ts), each
 * peer's election (peer.ts), the wire (control.ts); this class wires them together. Every control message but pings
 * and signaling goes to the protocol registered for its kind (protocol.ts, registry.ts).
 */
export class LinkManager {
  readonly signaling: SignalRouter;
  readonly #init: LinkManagerSettings;
  readonly #log: (line: string) => void;
  readonly #peers: PeerTable;
  /** The secure handshakes, and what accepted links may cost in them per source. */
  readonly #gate: HandshakeGate;
  readonly #closing = new AbortController();
  readonly #onData = new Handlers<[string, Uint8Array, Tier]>();
  readonly #onChange = new Handlers<[string, Tier | null, Tier | null]>();
  readonly #queue: DialQueue;
  /** Frames per peer, over all its links. */
  readonly #frames: RateLimiter;
  readonly #protocols = new ProtocolRegistry();
  readonly #context: LinkContext;
  readonly #pings: Pings;
  #timers: ReturnType<typeof setInterval>[] = [];

  constructor(init: LinkManagerInit) {
    this.#init = { ...LINK_MANAGER_DEFAULTS, ...init, transports: [...init.transports].sort((a, b) => byPriority(a.tier, b.tier)) };
    this.#log = init.log ?? (() => {});
    this.#gate = new HandshakeGate({ identity: init.identity, timeoutMs: this.#init.handshakeTimeoutMs, closing: this.#closing.signal });
    const protocols = this.#protocols;
    const ranks = new Ranks({ standing: init.standing, ours: (id) => protocols.standing(id, "named"), waiting: (id) => protocols.standing(id, "waiting") });
    this.#peers = new PeerTable({ maxPeers: this.#init.maxPeers, ranks, displace: (id, why) => this.forget(id, why), log: this.#log });
    this.signaling = init.signaling ?? new SignalRouter();
    this.signaling.useLinks((nodeId, message) => {
      const peer = this.#peers.get(nodeId);
      const via = peer?.primary ?? peer?.links()[0];
      return !!via && sendControl(via, { t: "signal", m: message });
    });
    this.#pings = new Pings({ deadAfterMs: this.#init.deadAfterMs, lost: (peer, entry, reason) => this.#lost(peer, entry, reason) });
    this.#frames = new RateLimiter({ perSecond: this.#init.framesPerSecond, burst: 2 * this.#init.framesPerSecond });
    this.#queue = new DialQueue({
      ...this.#init,
      closing: this.#closing.signal,
      identify: (link, expected) => this.#gate.identify(link, expected),
      onLinked: (peer, link, tier) => this.#attach(peer, link, tier, true),
      onDue: (peer) => this.#pump(peer),
      log: this.#log,
    });
    this.#context = {
      settings: this.#init,
      signaling: this.signaling,
      replays: this.#gate.replays,
      closing: this.#closing.signal,
      peers: this.#peers,
      control: sendControl,
      connect: (address, source, options) => this.connect(address, source, options),
      forget: (nodeId, reason) => this.forget(nodeId, reason),
      hurry: (peer, by) => this.#peers.hurries(by, peer) && this.#queue.hurry(peer),
    };
  }

  /**
   * Registers a protocol built on this manager's context: the control messages of its kinds go to it, and a tier it
   * brings is listened on and dialled like the others (register before `start`). Returns the protocol.
   */
  register<P extends LinkProtocol>(build: (context: LinkContext) => P): P {
    const protocol = build(this.#context);
    this.#protocols.add(protocol);
    if (protocol.transport) this.#init.transports.push(protocol.transport);
    this.#init.transports.sort((a, b) => byPriority(a.tier, b.tier));
    return protocol;
  }

  /** Starts accepting links on every transport, pinging, and redialling. */
  async start(): Promise<void> {
    for (const transport of this.#init.transports) {
      await transport.listen((link) => this.#accept(link, transport.tier).catch((error: unknown) => link.close(`could not be filed: ${messageOf(error)}`)));
    }
    this.#protocols.start();
    this.#timers.push(setInterval(() => this.#pings.round(this.#peers.values()), this.#init.pingIntervalMs));
    this.#timers.push(setInterval(() => this.#pumpAll(), Math.min(500, this.#init.retryMinMs)));
  }

  /**
   * Links to the instance at `address` on every tier that can reach it, and keeps doing so. Resolves with the first
   * tier that links; rejects with an AggregateError of every tier's failure when all failed once (retries go on).
   * `allAtOnce` dials every tier at once, where any link will do as well as the best (a rendezvous). `by`: the peer
   * that introduced it, whose budget it takes (introductions.ts); none, the owner's own.
   */
  connect(address: NodeAddress, source: AddressSource = "advertised", { allAtOnce = false, by }: { allAtOnce?: boolean; by?: string } = {}): Promise<Tier> {
    if (this.#closing.signal.aborted) return refused("shutting down");
    if (address.nodeId === this.#init.identity.nodeId) return refused("will not link to itself");
    const admitted = this.#peers.admit(address, source, by);
    if (typeof admitted === "string") return refused(admitted);
    if (admitted.moved) this.#queue.addressChanged(admitted.peer);
    const outcome = this.#queue.connect(admitted.peer, allAtOnce);
    this.#pump(admitted.peer);
    return outcome;
  }

  /** Sends data (whole, or in parts the link seals in turn, never joined) on the peer's primary link; false when it has none. */
  send(nodeId: string, data: FrameData): boolean {
    const peer = this.#peers.get(nodeId);
    return !!peer && peer.send(encodeData(data), (entry, reason) => this.#lost(peer, entry, reason));
  }

  /** Bytes waiting to leave on a peer's primary link; null when it has none. */
  buffered(nodeId: string): number | null {
    return this.#peers.get(nodeId)?.primary?.link.bufferedBytes ?? null;
  }

  /** Adds a handler for every data frame from any peer, with the tier it came over; returns its removal. */
  onData(handler: (nodeId: string, data: Uint8Array, tier: Tier) => void): () => void {
    return this.#onData.add(handler);
  }

  /** Adds a handler for every change of a peer's primary tier (null: no live link); returns its removal. */
  onChange(handler: (nodeId: string, tier: Tier | null, previous: Tier | null) => void): () => void {
    return this.#onChange.add(handler);
  }

  /** Closes a peer's link on one tier, e.g. after it sent a bad frame; the tier is redialled later. */
  closeLink(nodeId: string, tier: Tier, reason: string): void {
    this.#peers.get(nodeId)?.linkOn(tier)?.link.close(reason);
  }

  /** Replication says whether the peer proved a room we share (its rank comes from `standing`: links/standing.ts). */
  vouch(nodeId: string, member: boolean): void {
    const peer = this.#peers.get(nodeId);
    if (peer) peer.member = member;
  }

  /** The owner named this peer (`--peer`, an invite): it keeps its place in a full table before any other. */
  named(nodeId: string): void {
    this.#peers.ranks.name(nodeId);
  }

  /** Drops a peer: closes its links, stops dialling it, and frees its place. It may link again later as a newcomer. */
  forget(nodeId: string, reason: string): void {
    const peer = this.#peers.get(nodeId);
    if (!peer) return;
    this.#peers.delete(nodeId);
    this.#frames.forget(nodeId);
    this.#protocols.peerGone(nodeId);
    peer.dials = false;
    this.#queue.forget(peer, reason);
    this.#log(`forgot ${nodeId}: ${reason}`);
    // Each close reaches #lost, which settles the peer: replication hears it has no link now.
    for (const entry of peer.links()) entry.link.close(reason);
  }

  status(): LinkStatus[] {
    return this.#peers.status();
  }

  /** Closes every link and transport; nothing is dialled afterwards. */
  async close(): Promise<void> {
    this.#closing.abort(new DialError("shutting down"));
    for (const timer of this.#timers) clearInterval(timer);
    this.#protocols.close();
    this.#gate.close();
    for (const peer of this.#peers.values()) for (const entry of peer.links()) entry.link.close("shutting down");
    await Promise.all(this.#init.transports.map((t) => t.close()));
  }

  async #accept(link: Link, tier: Tier): Promise<void> {
    const secured = await this.#gate.accept(link);
    if (!secured) return;
    const peer = this.#peers.get(secured.nodeId) ?? this.#peers.add(secured.nodeId);
    if (!peer) return secured.link.close("mesh is full");
    this.#attach(peer, secured.link, tier, false);
  }

  /** Files an identified link under its peer, wires its frames and close, and pings it at once. */
  #attach(peer: Peer, link: Link, tier: Tier, dialedByMe: boolean): void {
    if (this.#closing.signal.aborted) return link.close("shutting down");
    if (this.#peers.get(peer.nodeId) !== peer) return link.close("peer forgotten");
    const entry: PeerLink = { link, tier, dialedByMe, health: new LinkHealth() };
    peer.source ??= sourceOf(link);
    const loser = peer.attach(entry, this.#init.identity.nodeId);
    if (loser === entry) return link.close("duplicate link");
    loser?.link.close("duplicate link");
    link.onFrame((frame) => this.#receive(peer, entry, frame));
    link.onClose((reason) => this.#lost(peer, entry, reason));
    this.#queue.linked(peer, tier);
    // The link replaced may have been the primary: settle again, so the primary is always one of the peer's links.
    this.#settle(peer);
    this.#pings.ping(entry);
  }

  #receive(peer: Peer, entry: PeerLink, frame: Uint8Array): void {
    entry.health.heard();
    if (!this.#frames.take(peer.nodeId)) return entry.link.close(`over ${this.#init.framesPerSecond} frames a second`);
    const decoded = decodeFrame(frame);
    if (decoded.kind === "data") return this.#onData.emit(peer.nodeId, decoded.data, entry.tier);
    if (decoded.kind === "invalid") return entry.link.close(decoded.reason);
    // A frame of a relayed link: ours, from its relay, or one this instance relays.
    if (decoded.kind === "circuit") return this.#protocols.circuitFrame(peer.nodeId, decoded.circuit, decoded.data);
    const message = decoded.message;
    if (message.t === "ping") return void sendControl(entry, { t: "pong", n: message.n });
    if (message.t === "pong") return entry.health.ponged(message.n) ? this.#settle(peer) : undefined;
    if (message.t === "signal") return this.signaling.receive(peer.nodeId, message.m);
    this.#protocols.receive(message, { peer, via: entry });
  }

  /** A link closed or failed: its peer's next best link takes over at once, and the tier is redialled soon. */
  #lost(peer: Peer, entry: PeerLink, reason: string): void {
    if (!entry.link.closed) entry.link.close(reason);
    if (!peer.detach(entry, this.#init.retryMinMs, reason)) return;
    this.#log(`${entry.tier} link to ${peer.nodeId} closed: ${reason}`);
    this.#settle(peer);
  }

  #settle(peer: Peer): void {
    const change = peer.settle();
    if (!change) return;
    const tier = peer.primary?.tier ?? null;
    this.#log(`${peer.nodeId} primary: ${change.previous ?? "none"} -> ${tier ?? "none"}`);
    // A peer with no link is gone for every protocol (it waits nowhere, no relayed link runs through it); a first link is news.
    if (!tier) this.#protocols.peerGone(peer.nodeId);
    if (tier && !change.previous) this.#protocols.peerUp(peer.nodeId);
    // A relayed link is left as soon as a direct one carries the data.
    if (tier && tier !== "relay") peer.linkOn("relay")?.link.close("a direct link carries the data now");
    this.#onChange.emit(peer.nodeId, tier, change.previous);
  }

  #pumpAll(): void {
    for (const peer of this.#peers.values()) this.#pump(peer);
    this.#protocols.tick();
  }

  #pump(peer: Peer): void {
    this.#queue.pump(peer);
    // Starting dials may turn a disconnected peer into a connecting one.
    this.#settle(peer);
  }
}

/** A connect that cannot start. */
const refused = (why: string) => handledRejection(new DialError(why));
