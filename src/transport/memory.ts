import { BaseLink } from "./link-base.ts";
import { DialError, type Link, type PeerAddress, type Tier, type Transport } from "./types.ts";

/** A shared in-process "network" that memory transports listen on and dial through. */
export class MemoryNetwork {
  readonly listeners = new Map<string, (link: Link) => void>();
  /** Tiers whose traffic is silently dropped, as a firewall would: links stay open but carry nothing. */
  readonly cut = new Set<Tier>();
  /** One-way delay of every frame in ms; 0 delivers on the next microtask. */
  delayMs = 0;
  /** How long a dial from one address to another takes, in ms (a slow handshake, such as a stalled DTLS). */
  dialDelayMs: (from: string, to: string) => number = () => 0;
}

class MemoryLink extends BaseLink {
  other!: MemoryLink;

  constructor(
    readonly tier: Tier,
    readonly remote: string,
    private readonly network: MemoryNetwork,
  ) {
    super();
  }

  send(frame: Uint8Array): void {
    this.checkOpen();
    if (this.network.cut.has(this.tier)) return;
    const copy = frame.slice();
    // Delivered on a later turn, like a socket, so a sender never re-enters its own handler.
    const deliver = () => this.other.deliver(copy);
    if (this.network.delayMs > 0) setTimeout(deliver, this.network.delayMs);
    else queueMicrotask(deliver);
  }

  close(reason = "closed"): void {
    this.ended(reason);
    const end = () => this.other.ended(`closed by peer: ${reason}`);
    if (this.network.delayMs > 0) setTimeout(end, this.network.delayMs);
    else queueMicrotask(end);
  }
}

/** A transport whose links are in-process queues: lets tests run whole meshes without sockets. Each tier listens apart. */
export function memoryTransport(network: MemoryNetwork, address: string, tier: Tier = "websocket"): Transport {
  const key = (at: string) => `${at}#${tier}`;
  const links = new Set<Link>();
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
      const target = to.memory ?? to.nodeId;
      const delay = target === undefined ? 0 : network.dialDelayMs(address, target);
      if (delay > 0) await Bun.sleep(delay);
      signal?.throwIfAborted();
      const accept = target === undefined ? undefined : network.listeners.get(key(target));
      if (!accept || network.cut.has(tier)) throw new DialError(`no memory listener at '${target}' on ${tier}`);
      const mine = new MemoryLink(tier, target!, network);
      const theirs = new MemoryLink(tier, address, network);
      mine.other = theirs;
      theirs.other = mine;
      accept(theirs);
      return track(mine);
    },
    async listen(onLink: (link: Link) => void): Promise<void> {
      if (network.listeners.has(key(address))) throw new DialError(`memory address '${address}' is in use on ${tier}`);
      network.listeners.set(key(address), (link) => onLink(track(link)));
    },
    async close(): Promise<void> {
      network.listeners.delete(key(address));
      for (const link of [...links]) link.close("transport closed");
    },
  };
}
