import { DialError, LinkClosedError, type Link, type PeerAddress, type Tier, type Transport } from "./types.ts";

/** A shared in-process "network" that memory transports listen on and dial through. */
export class MemoryNetwork {
  readonly listeners = new Map<string, (link: Link) => void>();
}

class MemoryLink implements Link {
  #closed = false;
  #frameHandler: (frame: Uint8Array) => void = () => {};
  #closeHandlers: ((reason: string) => void)[] = [];
  other!: MemoryLink;

  constructor(
    readonly tier: Tier,
    readonly remote: string,
  ) {}

  get closed(): boolean {
    return this.#closed;
  }

  send(frame: Uint8Array): void {
    if (this.#closed) throw new LinkClosedError(`link to ${this.remote} is closed`);
    const copy = frame.slice();
    // Delivered on a later turn, like a socket, so a sender never re-enters its own handler.
    queueMicrotask(() => {
      if (!this.other.#closed) this.other.#frameHandler(copy);
    });
  }

  onFrame(handler: (frame: Uint8Array) => void): void {
    this.#frameHandler = handler;
  }

  onClose(handler: (reason: string) => void): void {
    this.#closeHandlers.push(handler);
  }

  close(reason = "closed"): void {
    this.#end(reason);
    queueMicrotask(() => this.other.#end(`closed by peer: ${reason}`));
  }

  #end(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const handler of this.#closeHandlers) handler(reason);
  }
}

/** A transport whose links are in-process queues: lets tests run whole meshes without sockets. */
export function memoryTransport(network: MemoryNetwork, address: string, tier: Tier = "websocket"): Transport {
  const links = new Set<Link>();
  const track = (link: Link) => {
    links.add(link);
    link.onClose(() => links.delete(link));
    return link;
  };
  return {
    tier,
    canDial: (to: PeerAddress) => to.memory !== undefined,
    async dial(to: PeerAddress, signal?: AbortSignal): Promise<Link> {
      signal?.throwIfAborted();
      const accept = to.memory === undefined ? undefined : network.listeners.get(to.memory);
      if (!accept) throw new DialError(`no memory listener at '${to.memory}'`);
      const mine = new MemoryLink(tier, to.memory!);
      const theirs = new MemoryLink(tier, address);
      mine.other = theirs;
      theirs.other = mine;
      accept(theirs);
      return track(mine);
    },
    async listen(onLink: (link: Link) => void): Promise<void> {
      if (network.listeners.has(address)) throw new DialError(`memory address '${address}' is in use`);
      network.listeners.set(address, (link) => onLink(track(link)));
    },
    async close(): Promise<void> {
      network.listeners.delete(address);
      for (const link of [...links]) link.close("transport closed");
    },
  };
}
