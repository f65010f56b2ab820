/**
 * Meeting at a rendezvous. Every instance is one for the peers linked to it that ask: each tells it the topics where it
 * waits (`meet`; a topic is an HMAC of a room under the room's key, domain/rooms.ts `rendezvousTopic`, so the
 * rendezvous learns no room), and those already waiting at one of them hear of it (`met`) and reach out. The rendezvous
 * then carries signaling sessions between such peers (signaling/carrier.ts), and only between peers that wait at a
 * common topic.
 */
import { Handlers } from "../../util/handlers.ts";
import { RateLimiter } from "../../util/rate-limit.ts";
import type { ControlMessage } from "../links/control.ts";
import type { Peer, PeerLink } from "../links/peer.ts";
import type { Inbound, LinkContext, LinkProtocol } from "../links/protocol.ts";
import { sourceOf } from "../links/sources.ts";
import { MEETING_LIMITS, MeetingPoint, Meetings } from "./meetings.ts";

/** `meet`s a peer may send a second: each may tell every peer at its topics of it. */
const MEETS_PER_SECOND = 1;

export interface MeetInit {
  /** Whether this instance relays links (`--relay`), which a `met` tells. */
  relays: boolean;
  /** How long a wait lasts unless renewed; ours are renewed at a third of it. @default MEETING_LIMITS.waitMs */
  waitMs?: number;
}

/**
 * The protocol: as a rendezvous, takes `meet`s and tells those waiting (`met`); as a client, says where it waits at
 * each rendezvous of ours whenever a link to it comes up, and links to every peer met there.
 */
export class Meet implements LinkProtocol<"meet" | "met"> {
  readonly kinds = ["meet", "met"] as const;
  /** This instance as a rendezvous: who waits at which topic. */
  readonly point: MeetingPoint;
  /** The rendezvous this instance uses, and whom it met there. */
  readonly meetings = new Meetings();
  readonly #meets = new RateLimiter({ perSecond: MEETS_PER_SECOND, burst: 4 });
  /** Per rendezvous of ours, when we last said `meet` there, and the timer of the next one. */
  readonly #said = new Map<string, { at: number; timer?: ReturnType<typeof setTimeout> }>();
  readonly #waitMs: number;
  readonly #onMet = new Handlers<[string]>();

  constructor(
    private readonly ctx: LinkContext,
    private readonly init: MeetInit,
  ) {
    this.#waitMs = init.waitMs ?? MEETING_LIMITS.waitMs;
    // A rendezvous's clients hold seats, leaving room in the table for others (links/standing.ts).
    const seats = Math.max(1, ctx.settings.maxPeers - 16);
    this.point = new MeetingPoint({ seats, waitMs: this.#waitMs, ended: (nodeId, why) => this.#unwaited(nodeId, why) });
  }

  /**
   * Uses the instance `nodeId` as a rendezvous: waits at `topics` there (each a room as rendezvous.ts derives it for
   * that instance), says so whenever a link to it comes up, and links to every peer met there. Null stops.
   */
  useRendezvous(nodeId: string, topics: readonly string[] | null): void {
    this.meetings.use(nodeId, topics);
    if (topics) this.#sayMeet(nodeId);
  }

  /** Whether the peer's link serves more than replication: a rendezvous of ours, or one that uses us as its own. */
  keeps(nodeId: string): boolean {
    return this.meetings.topics(nodeId) !== undefined || this.point.waits(nodeId);
  }

  /** Adds a handler for every peer a rendezvous of ours met (perhaps a new process of one known); returns its removal. */
  onMet(handler: (nodeId: string) => void): () => void {
    return this.#onMet.add(handler);
  }

  receive(message: Extract<ControlMessage, { t: "meet" | "met" }>, { peer, via }: Inbound): void {
    if (message.t === "meet") this.#meet(peer, via, message.topics);
    else this.#met(peer, message.peers, message.relays);
  }

  standing(nodeId: string): "named" | "waiting" | null {
    return this.meetings.topics(nodeId) !== undefined ? "named" : this.point.waits(nodeId) ? "waiting" : null;
  }

  /** A rendezvous of ours relinked hears where we wait again. */
  peerUp(nodeId: string): void {
    this.#sayMeet(nodeId);
  }

  /** A peer with no link left waits nowhere here. */
  peerGone(nodeId: string): void {
    this.point.leave(nodeId);
  }

  /** Ends the waits here that were not renewed; says again where we wait at our rendezvous, well before ours end. */
  tick(): void {
    this.point.expire();
    for (const [nodeId, said] of this.#said) if (Date.now() - said.at > this.#waitMs / 3) this.#sayMeet(nodeId);
  }

  close(): void {
    for (const said of this.#said.values()) clearTimeout(said.timer);
  }

  /** Tells a rendezvous of ours where we wait, with the latest topics: at once, or within a second (it drops more). */
  #sayMeet(nodeId: string): void {
    // Only our rendezvous hear it: no entry for the other peers linking.
    if (this.meetings.topics(nodeId) === undefined) return;
    const said = this.#said.get(nodeId) ?? { at: 0 };
    this.#said.set(nodeId, said);
    if (said.timer) return;
    const say = () => {
      said.timer = undefined;
      const topics = this.meetings.topics(nodeId);
      const primary = this.ctx.peers.get(nodeId)?.primary;
      if (!topics || !primary || this.ctx.closing.aborted) return;
      said.at = Date.now();
      this.ctx.control(primary, { t: "meet", topics });
    };
    const wait = said.at + 1000 / MEETS_PER_SECOND - Date.now();
    if (wait <= 0) say();
    else said.timer = setTimeout(say, wait);
  }

  /** A peer waits at `topics` here: those already waiting at one of them hear of it, and reach out to it. */
  #meet(peer: Peer, via: PeerLink, topics: string[]): void {
    if (!this.#meets.take(peer.nodeId)) return;
    // A peer back on a new link (it restarted, say) before its old one was seen to close: those waiting hear of it again.
    const waited = this.point.waits(peer.nodeId);
    if (peer.waitsOn !== via.link) this.point.leave(peer.nodeId);
    peer.waitsOn = via.link;
    const told = this.point.meet(peer.nodeId, peer.source ?? sourceOf(via.link), topics);
    if (topics.length === 0) return this.#unwaited(peer.nodeId, "it waits at no topic here");
    // Refused a seat: one that waited here loses it and is unlinked; a newcomer is left to replication's rule (its hello may not have come yet).
    if (!told) return waited ? this.#unwaited(peer.nodeId, "its source has no seat left here") : undefined;
    for (const other of told.tell) {
      const direct = this.ctx.peers.direct(other);
      if (direct) this.ctx.control(direct, { t: "met", peers: [peer.nodeId], relays: this.init.relays });
    }
  }

  /** A peer no longer waits here: unless it is kept for more than waiting (a member, ours, named), it is unlinked. */
  #unwaited(nodeId: string, why: string): void {
    const peer = this.ctx.peers.get(nodeId);
    if (peer && !peer.member && !this.keeps(nodeId) && !this.ctx.peers.ranks.named(nodeId)) this.ctx.forget(nodeId, `shares no room and waits here no more: ${why}`);
  }

  /** A rendezvous of ours met peers at our topics: link to them (signaling goes through it; their handshakes prove them). */
  #met(from: Peer, peers: string[], relays: boolean): void {
    for (const nodeId of peers) {
      if (nodeId === this.ctx.settings.identity.nodeId || !this.meetings.met(nodeId, from.nodeId, relays)) continue;
      const known = this.ctx.peers.get(nodeId);
      // A peer met again may be a new process (it restarted): the session with its old one is of no use, and a fresh
      // one is opened for the next message (signaling/sessions.ts).
      this.#onMet.emit(nodeId);
      // Linked still, perhaps over the old process's link, not yet seen to be dead: wanted from now on, so it is dialled
      // again (through here) once that link ends. Only peers waiting before a newcomer hear of it: nobody else would.
      if (known?.primary) {
        known.dials = true;
        continue;
      }
      // A peer dialled in vain (it was away) is there now, perhaps a new process: dialled at once over a fresh session.
      if (known) this.ctx.hurry(known, from.nodeId);
      this.ctx.connect({ nodeId }, "advertised", { by: from.nodeId }).catch(() => {});
    }
  }
}
