/**
 * Relayed links, the `relay` tier. Two instances that no direct tier and no TURN server joins (both behind NATs, with
 * no UDP out) can still link through a rendezvous that relays (`--relay`): it passes the frames of their link on
 * between its own links to each, as libp2p's circuit relay v2 does, each relayed link within RELAY_LIMITS of bytes
 * and time. The two ends run the same secure handshake over it as over any tier, so the relay carries ciphertext only.
 * A relayed link ranks below every direct tier; the link manager closes it once a direct one carries the data.
 */
import { BaseLink } from "../base-link.ts";
import { DialError, DialRefusedError, LinkClosedError, TransportClosedError } from "../errors.ts";
import type { FrameData, Link, PeerAddress, Transport } from "../link.ts";
import { MAX_FRAME_BYTES } from "../limits.ts";
import { encodeCircuit, type ControlMessage } from "../links/control.ts";
import type { Inbound, LinkContext, LinkProtocol } from "../links/protocol.ts";
import { CircuitRelay, newId, reason, type CircuitWire, type RELAY_LIMITS } from "./circuit-relay.ts";
import type { Meet } from "./meet.ts";

/** Relayed links one end holds at once, over all its relays. */
const MAX_ENDS = 32;
/** Room for the circuit header and the outer link's sealing inside a frame of MAX_FRAME_BYTES. */
const MAX_CIRCUIT_FRAME = MAX_FRAME_BYTES - 1024;

/** One end of a relayed link: its frames go to the relay under the circuit's id on this side. */
class CircuitLink extends BaseLink {
  readonly tier = "relay" as const;

  constructor(
    readonly remote: string,
    readonly relay: string,
    readonly id: string,
    private readonly wire: CircuitWire,
    private readonly onRelease: () => void,
  ) {
    super();
  }

  /** What waits on the link to the relay. */
  get bufferedBytes(): number {
    return this.wire.buffered(this.relay) ?? 0;
  }

  send(frame: FrameData): void {
    this.checkSend(frame, MAX_CIRCUIT_FRAME, " of a relayed link");
    if (this.wire.frame(this.relay, encodeCircuit(this.id, frame))) return;
    this.ended(`no link to the relay ${this.relay} any more`);
    throw new LinkClosedError(`link to ${this.remote} is closed: no link to the relay any more`);
  }

  receive(data: Uint8Array): void {
    this.deliver(data);
  }

  close(why = "closed"): void {
    if (this.closed) return;
    this.wire.control(this.relay, { t: "shut", c: this.id, why: reason(why) });
    this.ended(why);
  }

  /** The relay or the far end closed it. */
  shut(why: string): void {
    this.ended(why);
  }

  protected override release(): void {
    this.onRelease();
  }
}

export interface CircuitTransportInit {
  wire: CircuitWire;
  /** The relays to `nodeId` to try, best first: none while the peer has a direct link. */
  ways: (nodeId: string) => string[];
  /** Whether relayed links that `relay` opens to us are taken: it must be a rendezvous of ours. */
  accepts: (relay: string) => boolean;
}

/** The `relay` tier at the ends: dials through a relay where the peer was met; accepts what our rendezvous open. */
export class CircuitTransport implements Transport {
  readonly tier = "relay" as const;
  /** Our ends, by relay and id. */
  readonly #links = new Map<string, CircuitLink>();
  #onLink: ((link: Link) => void) | null = null;
  #closed = false;

  constructor(private readonly init: CircuitTransportInit) {}

  canDial(address: PeerAddress): boolean {
    return !this.#closed && address.nodeId !== undefined && this.init.ways(address.nodeId).length > 0;
  }

  async dial(address: PeerAddress, signal?: AbortSignal): Promise<Link> {
    signal?.throwIfAborted();
    if (this.#closed) throw new TransportClosedError("the relay transport is closed");
    const to = address.nodeId;
    const relay = to === undefined ? undefined : this.init.ways(to)[0];
    if (!to || !relay) throw new DialError(`no relay reaches ${to ?? "a peer with no node id"}`);
    if (this.#links.size >= MAX_ENDS) throw new DialRefusedError(`already ${MAX_ENDS} relayed links open`);
    const link = this.#add(relay, newId(), to);
    // The far end and the relay answer by what they do: a refusal is a `shut`, which closes the link and the handshake.
    if (!this.init.wire.control(relay, { t: "open", c: link.id, to })) {
      link.shut("no link to the relay");
      throw new DialRefusedError(`no link to the relay ${relay}`);
    }
    return link;
  }

  /** `relay` opened relayed link `id` from `from` to us. */
  opened(relay: string, id: string, from: string): void {
    if (this.#closed || !this.#onLink || !this.init.accepts(relay) || this.#links.size >= MAX_ENDS || this.#links.has(`${relay} ${id}`)) {
      return void this.init.wire.control(relay, { t: "shut", c: id, why: "not taken here" });
    }
    this.#onLink(this.#add(relay, id, from));
  }

  /** A frame of one of our relayed links, from its relay; false when no such link is ours. */
  frame(relay: string, id: string, data: Uint8Array): boolean {
    const link = this.#links.get(`${relay} ${id}`);
    link?.receive(data);
    return link !== undefined;
  }

  /** The relay closed one of our relayed links; false when no such link is ours. */
  shut(relay: string, id: string, why: string): boolean {
    const link = this.#links.get(`${relay} ${id}`);
    link?.shut(why);
    return link !== undefined;
  }

  /** Our link to `relay` is gone: so is every relayed link through it. */
  relayGone(relay: string): void {
    for (const link of [...this.#links.values()]) if (link.relay === relay) link.shut(`the link to the relay ${relay} closed`);
  }

  async listen(onLink: (link: Link) => void): Promise<void> {
    this.#onLink = onLink;
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const link of [...this.#links.values()]) link.close("shutting down");
  }

  #add(relay: string, id: string, peer: string): CircuitLink {
    const key = `${relay} ${id}`;
    const link = new CircuitLink(`${peer} through ${relay}`, relay, id, this.init.wire, () => this.#links.delete(key));
    this.#links.set(key, link);
    return link;
  }
}

export interface CircuitsInit {
  /** The `relay` tier: links through a rendezvous of ours that relays, where no direct tier reaches. */
  ends: boolean;
  /** Relays the links of peers that met here (`--relay`). */
  relay: boolean;
  /** The relay's limits per relayed link, for tests. @default RELAY_LIMITS */
  relayLimits?: Partial<typeof RELAY_LIMITS>;
  /** Where peers were met (the ways to them) and who waits together here (whom the relay joins). */
  meet: Meet;
}

/** The protocol: `open`, `opened`, `shut` and relayed links' frames, to our ends (the tier) or to this instance as a relay. */
export class Circuits implements LinkProtocol<"open" | "opened" | "shut"> {
  readonly kinds = ["open", "opened", "shut"] as const;
  /** The `relay` tier's ends, when that tier is allowed. */
  readonly transport: CircuitTransport | undefined;
  /** This instance as a relay, with `--relay`. */
  readonly #relay: CircuitRelay | null;

  constructor(
    private readonly ctx: LinkContext,
    { ends, relay, relayLimits, meet }: CircuitsInit,
  ) {
    // Relays and ends reach a linked peer over its best link that is no relayed one.
    const wire: CircuitWire = {
      control: (nodeId, message) => {
        const via = ctx.peers.direct(nodeId);
        return !!via && ctx.control(via, message);
      },
      frame: (nodeId, parts) => {
        const via = ctx.peers.direct(nodeId);
        if (!via) return false;
        try {
          via.link.send(parts);
          return true;
        } catch {
          return false; // the link closed under us; its close handler cleans up
        }
      },
      buffered: (nodeId) => ctx.peers.direct(nodeId)?.link.bufferedBytes ?? null,
    };
    const { meetings, point } = meet;
    this.transport = ends
      ? new CircuitTransport({
          wire,
          ways: (to) => {
            if (ctx.peers.get(to)?.links().some((e) => e.tier !== "relay")) return [];
            return meetings.metAt(to).filter((r) => meetings.relays(r) && ctx.peers.direct(r));
          },
          accepts: (relay) => meetings.topics(relay) !== undefined,
        })
      : undefined;
    this.#relay = relay ? new CircuitRelay({ wire, allowed: (from, to) => point.together(from, to), sourceOf: (nodeId) => ctx.peers.get(nodeId)?.source, limits: relayLimits }) : null;
  }

  receive(message: Extract<ControlMessage, { t: "open" | "opened" | "shut" }>, { peer, via }: Inbound): void {
    const from = peer.nodeId;
    if (message.t === "open") {
      if (this.#relay) return this.#relay.open(from, message.c, message.to);
      return void this.ctx.control(via, { t: "shut", c: message.c, why: "this instance does not relay links (--relay)" });
    }
    if (message.t === "opened") {
      if (this.transport) return this.transport.opened(from, message.c, message.from);
      return void this.ctx.control(via, { t: "shut", c: message.c, why: "the relay tier is off here" });
    }
    if (!this.transport?.shut(from, message.c, message.why)) this.#relay?.shut(from, message.c, message.why);
  }

  /** A frame of a relayed link: ours, from its relay, or one this instance relays. */
  circuitFrame(from: string, circuit: string, data: Uint8Array): void {
    if (!this.transport?.frame(from, circuit, data)) this.#relay?.frame(from, circuit, data);
  }

  /** No relayed link runs through a peer with no link left, or to it. */
  peerGone(nodeId: string): void {
    this.transport?.relayGone(nodeId);
    this.#relay?.gone(nodeId);
  }

  close(): void {
    this.#relay?.close();
  }
}
