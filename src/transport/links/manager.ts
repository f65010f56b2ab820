import { byPriority, TIERS, type Tier } from "../../domain/tiers.ts";
import { Handlers } from "../../util/handlers.ts";
import { DialError, messageOf } from "../errors.ts";
import type { FrameData, Link, NodeAddress } from "../link.ts";
import type { SessionEnvelope } from "../signaling/hub-link.ts";
import { HubPath } from "../signaling/hub-path.ts";
import { SignalRouter } from "../signaling/router.ts";
import type { SignalMessage } from "../signaling/signal.ts";
import { RateLimiter } from "../../util/rate-limit.ts";
import type { AddressSource } from "./address-book.ts";
import { decodeFrame, encodeControl, encodeData } from "./control.ts";
import { CircuitRelay, CircuitTransport, type CircuitWire } from "./circuits.ts";
import { DialQueue, handledRejection } from "./dial-queue.ts";
import { HANDSHAKE_LIMITS, HandshakeGate } from "./handshakes.ts";
import { Introductions } from "./introductions.ts";
import { MeetingPoint, Meetings } from "./meeting.ts";
import { Reach, type ReachAnswer, type ReachPorts } from "./reach.ts";
import { secureChannel } from "../secure/channel.ts";
import { LinkHealth } from "./health.ts";
import { sourceOf } from "./sources.ts";
import { RANKS, Ranks } from "./standing.ts";
import { Peer, type PeerLink } from "./peer.ts";
import { LINK_MANAGER_DEFAULTS, type LinkManagerInit, type LinkManagerSettings, type LinkStatus } from "./settings.ts";


/** Session frames a peer may have passed on per second: a WebRTC negotiation takes a dozen or two. */
const RELAYED_PER_SECOND = 20;
/** `meet`s a peer may send a second: each may tell every peer at its topics of it. */
const MEETS_PER_SECOND = 1;

/**
 * Keeps, per peer, one link on every tier that works: the best one that has carried a ping is the primary and carries
 * the data; the others stand by, pinged, ready to take over the moment the primary goes silent. The jobs are apart:
 * the secure handshake (../secure/channel.ts), dial scheduling (dial-queue.ts), link health (health.ts), each peer's state and
 * election (peer.ts), the wire (control.ts); this class holds the peers and wires the jobs together.
 */
export class LinkManager {
  readonly signaling: SignalRouter;
  readonly #init: LinkManagerSettings;
  readonly #log: (line: string) => void;
  readonly #peers = new Map<string, Peer>();
  /** Links whose handshake is under way. */
  readonly #handshaking = new Set<Link>();
  /** What accepted links may cost in handshakes, per source. */
  readonly #gate = new HandshakeGate();
  readonly #closing = new AbortController();
  readonly #onData = new Handlers<[string, Uint8Array, Tier]>();
  readonly #onChange = new Handlers<[string, Tier | null, Tier | null]>();
  readonly #hubPath: HubPath | null;
  readonly #queue: DialQueue;
  /** Frames per peer, over all its links. */
  readonly #frames: RateLimiter;
  /** Session frames each peer may have passed on by this instance. */
  readonly #relays: RateLimiter;
  readonly #meets: RateLimiter;
  /** This instance as a rendezvous: who waits at which topic. */
  readonly #point: MeetingPoint;
  /** The rendezvous this instance uses, and whom it met there. */
  readonly #meetings = new Meetings();
  /** The `relay` tier's ends, when that tier is allowed; and this instance as a relay, with `--relay`. */
  readonly #circuits: CircuitTransport | null;
  readonly #relayer: CircuitRelay | null;
  /** Dial-backs: asked of peers, and done for them. */
  readonly #reach: Reach;
  /** Who keeps a place in a full table (links/standing.ts). */
  readonly #ranks: Ranks;
  /** What each introducer may have this instance dial. */
  readonly #introductions = new Introductions();
  /** Per rendezvous of ours, when we last said `meet` there, and the timer of the next one. */
  readonly #meetSaid = new Map<string, { at: number; timer?: ReturnType<typeof setTimeout> }>();
  #timers: ReturnType<typeof setInterval>[] = [];
  #nonce = 0;

  constructor(init: LinkManagerInit) {
    const wire: CircuitWire = {
      control: (nodeId, message) => {
        const via = this.#direct(nodeId);
        return !!via && this.#sendControl(via, message);
      },
      frame: (nodeId, parts) => {
        const via = this.#direct(nodeId);
        if (!via) return false;
        try {
          via.link.send(parts);
          return true;
        } catch {
          return false; // the link closed under us; its close handler cleans up
        }
      },
      buffered: (nodeId) => this.#direct(nodeId)?.link.bufferedBytes ?? null,
    };
    this.#circuits = init.circuits
      ? new CircuitTransport({
          wire,
          ways: (to) => {
            if (this.#peers.get(to)?.links().some((e) => e.tier !== "relay")) return [];
            return this.#meetings.metAt(to).filter((r) => this.#meetings.relays(r) && this.#direct(r));
          },
          accepts: (relay) => this.#meetings.topics(relay) !== undefined,
        })
      : null;
    this.#reach = new Reach({
      dialBack: init.dialBack,
      send: (nodeId, message) => wire.control(nodeId, message),
      about: (nodeId) => ({ source: this.#peers.get(nodeId)?.source, ranked: this.#ranks.ranked(nodeId) }),
    });
    this.#relayer = init.relay
      ? new CircuitRelay({ wire, allowed: (from, to) => this.#point.together(from, to), sourceOf: (nodeId) => this.#peers.get(nodeId)?.source, limits: init.relayLimits })
      : null;
    const transports = this.#circuits ? [...init.transports, this.#circuits] : [...init.transports];
    this.#init = { ...LINK_MANAGER_DEFAULTS, ...init, transports: transports.sort((a, b) => byPriority(a.tier, b.tier)) };
    this.#log = init.log ?? (() => {});
    // A rendezvous's clients hold seats, leaving room in the table for others (links/standing.ts).
    const seats = Math.max(1, this.#init.maxPeers - 16);
    this.#point = new MeetingPoint({ seats, waitMs: this.#init.waitMs, ended: (nodeId, why) => this.#unwaited(nodeId, why) });
    const ours = (nodeId: string) => this.#meetings.topics(nodeId) !== undefined;
    this.#ranks = new Ranks({ standing: init.standing, ours, waiting: (nodeId) => this.#point.waits(nodeId) });
    this.signaling = init.signaling ?? new SignalRouter();
    this.signaling.useLinks((nodeId, message) => this.#signalOverLink(nodeId, message));
    this.#frames = new RateLimiter({ perSecond: this.#init.framesPerSecond, burst: 2 * this.#init.framesPerSecond });
    this.#relays = new RateLimiter({ perSecond: RELAYED_PER_SECOND, burst: 2 * RELAYED_PER_SECOND });
    this.#meets = new RateLimiter({ perSecond: MEETS_PER_SECOND, burst: 4 });
    this.#hubPath = init.hub
      ? new HubPath({
          identity: init.identity,
          hub: init.hub,
          handshakeTimeoutMs: this.#init.handshakeTimeoutMs,
          replays: this.#gate.replays,
          onMessage: (from, m) => this.signaling.receive(from, m),
          // The rendezvous where the peer was met first, then members we share with it, perhaps.
          carriers: (to) => [
            ...this.#meetings.metAt(to).filter((id) => this.#peers.get(id)?.primary),
            ...[...this.#peers.values()].filter((p) => p.member && p.primary && p.nodeId !== to).map((p) => p.nodeId),
          ],
          relay: (carrier, to, p) => {
            const via = this.#peers.get(carrier)?.primary;
            return !!via && this.#sendControl(via, { t: "relay", to, p });
          },
        })
      : null;
    if (this.#hubPath) this.signaling.useHub(this.#hubPath);
    this.#queue = new DialQueue({
      ...this.#init,
      closing: this.#closing.signal,
      identify: (link, expected) => this.#identify(link, expected),
      onLinked: (peer, link, tier) => this.#attach(peer, link, tier, true),
      onDue: (peer) => this.#pump(peer),
      onFailed: (peer, tier, error, failures) => {
        if (failures === 1 || failures % 10 === 0) this.#log(`${tier} dial to ${peer.nodeId} failed (${failures}x): ${messageOf(error)}`);
      },
    });
  }

  /** Starts accepting links on every transport, pinging, and redialling. */
  async start(): Promise<void> {
    for (const transport of this.#init.transports) {
      await transport.listen((link) => this.#accept(link, transport.tier).catch((error: unknown) => link.close(`could not be filed: ${messageOf(error)}`)));
    }
    this.#hubPath?.start();
    this.#timers.push(setInterval(() => this.#pingAll(), this.#init.pingIntervalMs));
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
    // Who introduced it (a linked peer naming its own addresses, in its hello, unless told): within its budget.
    const known = this.#peers.get(address.nodeId);
    const introducer = by ?? (known && known.links().length > 0 ? address.nodeId : undefined);
    const admitted = this.#introductions.admit(introducer, known, address);
    if (!admitted && !known) return refused(`${introducer} introduced more than this instance dials for it now`);
    const peer = known ?? this.#addPeer(address.nodeId);
    if (!peer) return refused(`already linked to the most peers allowed (${this.#init.maxPeers}), each of rank`);
    // A peer known already keeps being dialled where it was; what is new of it waits for the introducer's budget.
    if (admitted && peer.addresses.learn(address, source)) this.#queue.addressChanged(peer);
    const outcome = this.#queue.connect(peer, allAtOnce);
    this.#pump(peer);
    return outcome;
  }

  /** Sends data (whole, or in parts the link seals in turn, never joined) on the peer's primary link; false when it has none. */
  send(nodeId: string, data: FrameData): boolean {
    const peer = this.#peers.get(nodeId);
    if (!peer) return false;
    const frame = encodeData(data);
    // Each failed try removes that link, so this ends after at most one try per tier.
    for (let tries = 0; peer.primary && tries <= TIERS.length; tries++) {
      const primary = peer.primary;
      try {
        primary.link.send(frame);
        return true;
      } catch (error) {
        this.#lost(peer, primary, `send failed: ${messageOf(error)}`);
      }
    }
    return false;
  }

  /** Bytes waiting to leave on a peer's primary link; null when it has none. */
  buffered(nodeId: string): number | null {
    const primary = this.#peers.get(nodeId)?.primary;
    return primary ? primary.link.bufferedBytes : null;
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

  /**
   * Uses the instance `nodeId` as a rendezvous: waits at `topics` there (each a room as rendezvous.ts derives it for
   * that instance), says so whenever a link to it comes up, and links to every peer met there. Null stops.
   */
  useRendezvous(nodeId: string, topics: readonly string[] | null): void {
    this.#meetings.use(nodeId, topics);
    if (topics) this.#sayMeet(nodeId);
  }

  /**
   * Asks linked peers (our rendezvous first) to dial this instance back at `ports`, at the address each sees it at;
   * resolves with their answers (reach.ts).
   */
  checkReach(ports: ReachPorts): Promise<ReachAnswer[]> {
    // Those of the highest rank first (ours and the named, then members, authors): a stranger's word counts for nothing.
    const direct = [...this.#peers.values()].filter((p) => this.#direct(p.nodeId));
    const order = (p: Peer) => -RANKS.indexOf(this.#ranks.of(p.nodeId));
    return this.#reach.ask(direct.sort((x, y) => order(x) - order(y)).map((p) => p.nodeId), ports);
  }

  /** Whether the peer's link serves more than replication: a rendezvous of ours, or one that uses us as its own. */
  keeps(nodeId: string): boolean {
    return this.#meetings.topics(nodeId) !== undefined || this.#point.waits(nodeId);
  }

  /** Replication says whether the peer proved a room we share (its rank comes from `standing`: links/standing.ts). */
  vouch(nodeId: string, member: boolean): void {
    const peer = this.#peers.get(nodeId);
    if (peer) peer.member = member;
  }

  /** The owner named this peer (`--peer`, an invite): it keeps its place in a full table before any other. */
  named(nodeId: string): void {
    this.#ranks.name(nodeId);
  }

  /** Drops a peer: closes its links, stops dialling it, and frees its place. It may link again later as a newcomer. */
  forget(nodeId: string, reason: string): void {
    const peer = this.#peers.get(nodeId);
    if (!peer) return;
    this.#peers.delete(nodeId);
    this.#frames.forget(nodeId);
    this.#departed(nodeId);
    peer.dials = false;
    this.#queue.forget(peer, reason);
    this.#log(`forgot ${nodeId}: ${reason}`);
    // Each close reaches #lost, which settles the peer: replication hears it has no link now.
    for (const entry of peer.links()) entry.link.close(reason);
  }

  status(): LinkStatus[] {
    return [...this.#peers.values()].map((peer) => {
      const primary = peer.primary;
      return {
        nodeId: peer.nodeId,
        tier: primary?.tier ?? null,
        rttMs: primary?.health.rttMs ?? null,
        loss: primary?.health.loss ?? 0,
        state: peer.state.kind,
        since: peer.stateSince,
        tiers: peer.links().map((e) => e.tier),
        log: peer.log(),
      };
    });
  }

  /** Closes every link and transport; nothing is dialled afterwards. */
  async close(): Promise<void> {
    this.#closing.abort(new DialError("shutting down"));
    for (const timer of this.#timers) clearInterval(timer);
    for (const said of this.#meetSaid.values()) clearTimeout(said.timer);
    this.#hubPath?.close();
    this.#relayer?.close();
    for (const link of this.#handshaking) link.close("shutting down");
    for (const peer of this.#peers.values()) for (const entry of peer.links()) entry.link.close("shutting down");
    await Promise.all(this.#init.transports.map((t) => t.close()));
  }

  #addPeer(nodeId: string): Peer | null {
    if (this.#peers.size >= this.#init.maxPeers) {
      // The Map keeps insertion order: oldest first, as `displaced` takes them.
      const victim = this.#ranks.displaced(this.#peers.values());
      if (!victim) {
        this.#log(`not linking to ${nodeId}: already linked to the most peers allowed (${this.#init.maxPeers}), each of rank`);
        return null;
      }
      this.forget(victim.peer.nodeId, `making room for ${nodeId} (${victim.linked ? "the oldest fresh peer" : `${victim.rank}, absent longest`})`);
    }
    const peer = new Peer(nodeId);
    this.#peers.set(nodeId, peer);
    return peer;
  }

  /** Runs the secure handshake on a fresh link, dialled (`expected` set) or accepted: the far end's proven id and the sealed link. */
  async #identify(link: Link, expected?: string): Promise<{ nodeId: string; link: Link }> {
    if (this.#closing.signal.aborted) {
      link.close("shutting down");
      throw new DialError("shutting down");
    }
    this.#handshaking.add(link);
    try {
      const { identity, handshakeTimeoutMs: timeoutMs } = this.#init;
      const accepting = { replays: this.#gate.replays, firstMessageMs: HANDSHAKE_LIMITS.firstMessageMs };
      return await secureChannel(link, { identity, initiator: expected !== undefined, expected, timeoutMs, ...(expected === undefined ? accepting : {}) });
    } finally {
      this.#handshaking.delete(link);
    }
  }

  async #accept(link: Link, tier: Tier): Promise<void> {
    const place = this.#gate.admit(link);
    if (typeof place === "string") return link.close(place);
    let secured: { nodeId: string; link: Link };
    try {
      secured = await this.#identify(link);
    } catch {
      return; // the handshake closed the link with its reason
    } finally {
      place();
    }
    const peer = this.#peers.get(secured.nodeId) ?? this.#addPeer(secured.nodeId);
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
    this.#ping(entry);
  }

  #receive(peer: Peer, entry: PeerLink, frame: Uint8Array): void {
    entry.health.heard();
    if (!this.#frames.take(peer.nodeId)) return entry.link.close(`over ${this.#init.framesPerSecond} frames a second`);
    const decoded = decodeFrame(frame);
    if (decoded.kind === "data") return this.#onData.emit(peer.nodeId, decoded.data, entry.tier);
    if (decoded.kind === "invalid") return entry.link.close(decoded.reason);
    if (decoded.kind === "circuit") {
      // A frame of a relayed link: ours, from its relay, or one this instance relays.
      if (!this.#circuits?.frame(peer.nodeId, decoded.circuit, decoded.data)) this.#relayer?.frame(peer.nodeId, decoded.circuit, decoded.data);
      return;
    }
    const message = decoded.message;
    switch (message.t) {
      case "ping":
        return void this.#sendControl(entry, { t: "pong", n: message.n });
      case "pong":
        if (entry.health.ponged(message.n)) this.#settle(peer);
        return;
      case "signal":
        return this.signaling.receive(peer.nodeId, message.m);
      case "relay":
        return this.#relay(peer, message.to, message.p);
      case "relayed":
        return this.#hubPath?.relayed(peer.nodeId, message.from, message.p);
      case "meet":
        return this.#meet(peer, entry, message.topics);
      case "met":
        return this.#met(peer, message.peers, message.relays);
      case "open":
        if (this.#relayer) return this.#relayer.open(peer.nodeId, message.c, message.to);
        return void this.#sendControl(entry, { t: "shut", c: message.c, why: "this instance does not relay links (--relay)" });
      case "opened":
        if (this.#circuits) return this.#circuits.opened(peer.nodeId, message.c, message.from);
        return void this.#sendControl(entry, { t: "shut", c: message.c, why: "the relay tier is off here" });
      case "shut":
        if (!this.#circuits?.shut(peer.nodeId, message.c, message.why)) this.#relayer?.shut(peer.nodeId, message.c, message.why);
        return;
      case "reach?":
        return this.#reach.asked(peer.nodeId, entry.link.remoteIp, { http: message.http, ws: message.ws }, (answer) => void this.#sendControl(entry, answer));
      case "reach":
        return this.#reach.answered(peer.nodeId, message);
    }
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
    // A peer with no link waits nowhere, and relays or carries no relayed link; a rendezvous of ours relinked hears where we wait again.
    if (!tier) this.#departed(peer.nodeId);
    if (tier && !change.previous) this.#sayMeet(peer.nodeId);
    // A relayed link is left as soon as a direct one carries the data.
    if (tier && tier !== "relay") peer.linkOn("relay")?.link.close("a direct link carries the data now");
    this.#onChange.emit(peer.nodeId, tier, change.previous);
  }

  /**
   * Passes a signaling session's frame from one linked peer on to another, so two members behind NATs can negotiate a
   * link of their own: only between members of a room (each proved one to us), one hop (a `relayed` frame is never
   * passed on), within RELAYED_PER_SECOND per sender. The frames are a handshake and sealed ones: nothing to read here.
   */
  #relay(from: Peer, to: string, payload: SessionEnvelope): void {
    const target = this.#peers.get(to);
    if (!target || target === from || !target.primary) return;
    // Between members (each proved a room to us), or between peers that met here at a common topic.
    if (!(from.member && target.member) && !this.#point.together(from.nodeId, to)) return;
    if (!this.#relays.take(from.nodeId)) return;
    this.#sendControl(target.primary, { t: "relayed", from: from.nodeId, p: payload });
  }

  /** A peer has no link left (or is forgotten): it waits nowhere here, and no relayed link runs through it or to it. */
  #departed(nodeId: string): void {
    this.#point.leave(nodeId);
    this.#circuits?.relayGone(nodeId);
    this.#relayer?.gone(nodeId);
  }

  /** Tells a rendezvous of ours where we wait, with the latest topics: at once, or within a second (it drops more). */
  #sayMeet(nodeId: string): void {
    // Only our rendezvous hear it: no entry for the other peers linking.
    if (this.#meetings.topics(nodeId) === undefined) return;
    const said = this.#meetSaid.get(nodeId) ?? { at: 0 };
    this.#meetSaid.set(nodeId, said);
    if (said.timer) return;
    const say = () => {
      said.timer = undefined;
      const topics = this.#meetings.topics(nodeId);
      const primary = this.#peers.get(nodeId)?.primary;
      if (!topics || !primary || this.#closing.signal.aborted) return;
      said.at = Date.now();
      this.#sendControl(primary, { t: "meet", topics });
    };
    const wait = said.at + 1000 / MEETS_PER_SECOND - Date.now();
    if (wait <= 0) say();
    else said.timer = setTimeout(say, wait);
  }

  /** A peer waits at `topics` here (meeting.ts): those already waiting at one of them hear of it, and reach out to it. */
  #meet(peer: Peer, entry: PeerLink, topics: string[]): void {
    if (!this.#meets.take(peer.nodeId)) return;
    // A peer back on a new link (it restarted, say) before its old one was seen to close: those waiting hear of it again.
    const waited = this.#point.waits(peer.nodeId);
    if (peer.waitsOn !== entry.link) this.#point.leave(peer.nodeId);
    peer.waitsOn = entry.link;
    const told = this.#point.meet(peer.nodeId, peer.source ?? sourceOf(entry.link), topics);
    if (topics.length === 0) return this.#unwaited(peer.nodeId, "it waits at no topic here");
    // Refused a seat: one that waited here loses it and is unlinked; a newcomer is left to replication's rule (its hello may not have come yet).
    if (!told) return waited ? this.#unwaited(peer.nodeId, "its source has no seat left here") : undefined;
    const relays = this.#relayer !== null;
    for (const other of told.tell) {
      const via = this.#direct(other);
      if (via) this.#sendControl(via, { t: "met", peers: [peer.nodeId], relays });
    }
  }

  /** A peer no longer waits here: unless it is kept for more than waiting (a member, ours, named), it is unlinked. */
  #unwaited(nodeId: string, why: string): void {
    const peer = this.#peers.get(nodeId);
    if (peer && !peer.member && !this.keeps(nodeId) && !this.#ranks.named(nodeId)) this.forget(nodeId, `shares no room and waits here no more: ${why}`);
  }

  /** Ends the waits here that were not renewed; says again where we wait at our rendezvous, well before ours end. */
  #renewWaits(): void {
    this.#point.expire();
    for (const [nodeId, said] of this.#meetSaid) if (Date.now() - said.at > this.#init.waitMs / 3) this.#sayMeet(nodeId);
  }

  /** A rendezvous of ours met peers at our topics: link to them (signaling goes through it; their handshakes prove them). */
  #met(from: Peer, peers: string[], relays: boolean): void {
    for (const nodeId of peers) {
      if (nodeId === this.#init.identity.nodeId || !this.#meetings.met(nodeId, from.nodeId, relays)) continue;
      const known = this.#peers.get(nodeId);
      // A peer met again may be a new process (it restarted): the session with its old one is of no use, and a fresh
      // one is opened for the next message.
      this.#hubPath?.renew(nodeId);
      // Linked still, perhaps over the old process's link, not yet seen to be dead: wanted from now on, so it is dialled
      // again (through here) once that link ends. Only peers waiting before a newcomer hear of it: nobody else would.
      if (known?.primary) {
        known.dials = true;
        continue;
      }
      // A peer dialled in vain (it was away) is there now, perhaps a new process: dialled at once over a fresh session.
      if (known && this.#introductions.admit(from.nodeId, undefined, { nodeId })) this.#queue.hurry(known);
      this.connect({ nodeId }, "advertised", { by: from.nodeId }).catch(() => {});
    }
  }

  /** The peer's best link that is no relayed one: what relayed links and rendezvous messages travel over. */
  #direct(nodeId: string): PeerLink | undefined {
    const peer = this.#peers.get(nodeId);
    const primary = peer?.primary;
    if (primary && primary.tier !== "relay") return primary;
    return peer?.links().find((e) => e.tier !== "relay");
  }

  #signalOverLink(nodeId: string, message: SignalMessage): boolean {
    const peer = this.#peers.get(nodeId);
    const via = peer?.primary ?? peer?.links()[0];
    if (!via) return false;
    return this.#sendControl(via, { t: "signal", m: message });
  }

  #sendControl(entry: PeerLink, message: Parameters<typeof encodeControl>[0]): boolean {
    try {
      entry.link.send(encodeControl(message));
      return true;
    } catch {
      return false; // the link closed under us; its close handler cleans up
    }
  }

  #ping(entry: PeerLink): void {
    const n = ++this.#nonce;
    entry.health.pinged(n);
    if (!this.#sendControl(entry, { t: "ping", n })) entry.link.close("ping failed");
  }

  #pingAll(): void {
    for (const peer of this.#peers.values()) {
      for (const entry of peer.links()) {
        if (entry.health.expire(this.#init.deadAfterMs)) this.#lost(peer, entry, `silent for ${entry.health.silentMs()} ms`);
        else this.#ping(entry);
      }
    }
  }

  #pumpAll(): void {
    for (const peer of this.#peers.values()) this.#pump(peer);
    this.#renewWaits();
  }

  #pump(peer: Peer): void {
    this.#queue.pump(peer);
    // Starting dials may turn a disconnected peer into a connecting one.
    this.#settle(peer);
  }
}

/** A connect that cannot start. */
const refused = (why: string) => handledRejection(new DialError(why));
