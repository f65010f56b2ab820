import type { Tier } from "../../domain/tiers.ts";
import { BaseLink } from "../base-link.ts";
import { DialRefusedError, TransportClosedError } from "../errors.ts";
import { copiedFrame, frameSize, type FrameData, type Link, type PeerAddress, type Transport } from "../link.ts";

/** A shared in-process "network" that memory transports listen on and dial through. */
export class MemoryNetwork {
  readonly listeners = new Map<string, (link: Link) => void>();
  /** Tiers whose traffic is silently dropped, as a firewall would: links stay open but carry nothing. */
  readonly cut = new Set<Tier>();
  /** One-way delay of every frame in ms; 0 delivers on the next microtask. */
  delayMs = 0;
  /** How long a dial from one address to another takes, in ms (a slow handshake, such as a stalled DTLS). */
  dialDelayMs: (from: string, to: string) => number = () => 0;
  /** The IP address each memory address's links are seen to come from, where a test gives one. */
  readonly ips = new Map<string, string>();
}

export interface MemoryTransportInit {
  /** The tier the links claim to be. @default "websocket" */
  tier?: Tier;
  /** Bytes in flight to the far end past which a link closes (see link.ts). @default MAX_QUEUED_BYTES */
  maxQueuedBytes?: number;
}

class MemoryLink extends BaseLink {
  other!: MemoryLink;
  remoteIp?: string;
  /** Bytes sent and not yet handed to the far end. */
  #inFlight = 0;

  constructor(
    readonly tier: Tier,
    readonly remote: string,
    private readonly network: MemoryNetwork,
    maxQueuedBytes?: number,
  ) {
    super(maxQueuedBytes);
  }

  get bufferedBytes(): number {
    return this.#inFlight;
  }

  send(frame: FrameData): void {
    this.checkSend(frame);
    if (this.network.cut.has(this.tier)) return;
    this.checkQueue(this.#inFlight + frameSize(frame));
    const copy = copiedFrame(frame);
    this.#inFlight += copy.byteLength;
    // Delivered on a later turn, like a socket, so a sender never re-enters its own handler.
    const deliver = () => {
      this.#inFlight -= copy.byteLength;
      this.other.deliver(copy);
    };
    if (this.network.delayMs > 0) setTimeout(deliver, this.network.delayMs);
    else queueMicrotask(deliver);
  }

  close(reason = "closed"): void {
    if (!this.ended(reason)) return;
    const end = () => this.other.ended(`closed by peer: ${reason}`);
    if (this.network.delayMs > 0) setTimeout(end, this.network.delayMs);
    else queueMicrotask(end);
  }
}

/** A transport whose links are in-process queues: lets tests run whole meshes without sockets. Each tier listens apart. */
export function memoryTransport(network: MemoryNetwork, address: string, init: MemoryTransportInit | Tier = {}): Transport {
  const { tier = "websocket", maxQueuedBytes } = typeof init === "string" ? { tier: init } : init;
  const key = (at: string) => `${at}#${tier}`;
  const links = new Set<Link>();
  let closed = false;
  const track = (link: Link) => {
    links.add(link);
    link.onClose(() => links.delete(link));
    return link;
  };
  return {
    tier,
    // A node id is an address too, so peers learnt from gossip (which carries no memory address) can be dialled.
    canDial: (to: PeerAddress) => (to.memory ?? to.nodeId) !== undefined,
    async dial(to: PeerAddress, signal?: AbortSignal): Promise<Link> {
      signal?.throwIfAborted();
      if (closed) throw new TransportClosedError(`the memory transport at '${address}' is closed`);
      const target = to.memory ?? to.nodeId;
      const delay = target === undefined ? 0 : network.dialDelayMs(address, target);
      if (delay > 0) await Bun.sleep(delay);
      signal?.throwIfAborted();
      const accept = target === undefined ? undefined : network.listeners.get(key(target));
      if (!accept || network.cut.has(tier)) throw new DialRefusedError(`no memory listener at '${target}' on ${tier}`);
      const mine = new MemoryLink(tier, target!, network, maxQueuedBytes);
      const theirs = new MemoryLink(tier, address, network, maxQueuedBytes);
      mine.other = theirs;
      theirs.other = mine;
      mine.remoteIp = network.ips.get(target!);
      theirs.remoteIp = network.ips.get(address);
      accept(theirs);
      return track(mine);
    },
    async listen(onLink: (link: Link) => void): Promise<void> {
      if (network.listeners.has(key(address))) throw new Error(`memory address '${address}' is in use on ${tier}`);
      network.listeners.set(key(address), (link) => onLink(track(link)));
    },
    async close(): Promise<void> {
      closed = true;
      if (network.listeners.get(key(address))) network.listeners.delete(key(address));
      for (const link of [...links]) link.close("transport closed");
    },
  };
}
