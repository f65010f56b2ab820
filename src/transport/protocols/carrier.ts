/**
 * Carrying signaling through a linked peer, so two instances behind NATs can negotiate a link of their own: a session
 * frame for `to` (the wire's `relay`) is passed on to it (as `relayed`) only between members of a room (each proved one
 * to us) or peers that wait here at a common topic, one hop (a carried frame is never passed on), within
 * CARRIED_PER_SECOND per sender. The frames are a handshake and sealed ones: nothing to read here. The other way, the
 * sessions this instance runs (sessions.ts) ask carriers of their own where no hub reaches the peer.
 */
import { RateLimiter } from "../../util/rate-limit.ts";
import type { ControlMessage } from "../links/control.ts";
import type { Peer } from "../links/peer.ts";
import type { Inbound, LinkContext, LinkProtocol } from "../links/protocol.ts";
import type { LocalHub } from "../signaling/envelope.ts";
import type { SessionEnvelope } from "../signaling/hub-link.ts";
import { SignalSessions } from "../signaling/sessions.ts";

/** Session frames a peer may have carried per second: a WebRTC negotiation takes a dozen or two. */
const CARRIED_PER_SECOND = 20;

export interface CarrierInit {
  /** Where WebRTC offers for this instance arrive when no link exists yet (its own `/signal` hub); none: no sessions. */
  hub?: LocalHub;
  /** The rendezvous where a peer was met, asked first to carry a session to it. */
  metAt: (nodeId: string) => string[];
  /** Whether two peers wait at a common topic here. */
  together: (a: string, b: string) => boolean;
}

export class Carrier implements LinkProtocol<"relay" | "relayed"> {
  readonly kinds = ["relay", "relayed"] as const;
  /** The signaling sessions of this instance, through hubs and carriers; null without a hub. */
  readonly sessions: SignalSessions | null;
  readonly #carried = new RateLimiter({ perSecond: CARRIED_PER_SECOND, burst: 2 * CARRIED_PER_SECOND });

  constructor(
    private readonly ctx: LinkContext,
    private readonly init: CarrierInit,
  ) {
    this.sessions = init.hub
      ? new SignalSessions({
          identity: ctx.settings.identity,
          hub: init.hub,
          handshakeTimeoutMs: ctx.settings.handshakeTimeoutMs,
          replays: ctx.replays,
          onMessage: (from, m) => ctx.signaling.receive(from, m),
          carriers: (to) => this.#carriers(to),
          carry: (carrier, to, p) => {
            const via = ctx.peers.get(carrier)?.primary;
            return !!via && ctx.control(via, { t: "relay", to, p });
          },
        })
      : null;
    if (this.sessions) ctx.signaling.useSessions(this.sessions);
  }

  receive(message: Extract<ControlMessage, { t: "relay" | "relayed" }>, { peer }: Inbound): void {
    if (message.t === "relay") return this.#carry(peer, message.to, message.p);
    this.sessions?.carried(peer.nodeId, message.from, message.p);
  }

  start(): void {
    this.sessions?.start();
  }

  close(): void {
    this.sessions?.close();
  }

  /** Who may carry a session to `to`: the rendezvous where it was met first, then members we share with it, perhaps. */
  #carriers(to: string): string[] {
    const members = [...this.ctx.peers.values()].filter((p) => p.member && p.primary && p.nodeId !== to).map((p) => p.nodeId);
    return [...this.init.metAt(to).filter((id) => this.ctx.peers.get(id)?.primary), ...members];
  }

  /** Passes a session frame from a linked peer on to another. */
  #carry(from: Peer, to: string, payload: SessionEnvelope): void {
    const target = this.ctx.peers.get(to);
    if (!target || target === from || !target.primary) return;
    if (!(from.member && target.member) && !this.init.together(from.nodeId, to)) return;
    if (!this.#carried.take(from.nodeId)) return;
    this.ctx.control(target.primary, { t: "relayed", from: from.nodeId, p: payload });
  }
}
