import type { Tier } from "../domain/tiers.ts";
import { decodeFrame, encodeFrame, FrameError } from "./codec.ts";
import type { Frame } from "./frames.ts";

/** What the sync channel needs of the links to other instances (the link manager provides it). */
export interface SyncLinks {
  send(nodeId: string, data: Uint8Array): boolean;
  /** Bytes waiting to leave on the peer's primary link; null when it has none. */
  buffered(nodeId: string): number | null;
  onData(handler: (nodeId: string, data: Uint8Array, tier: Tier) => void): () => void;
  onChange(handler: (nodeId: string, tier: Tier | null, previous: Tier | null) => void): () => void;
  closeLink(nodeId: string, tier: Tier, reason: string): void;
  /** Unlinks a peer and stops dialling it. */
  forget(nodeId: string, reason: string): void;
}

/**
 * One feature of sync (membership, messages, files): the frame types it receives, and what it does as peers come and
 * go. Registered on the channel by the composition root; the channel calls handlers in registration order.
 */
export interface SyncHandler<T extends Frame["type"] = Frame["type"]> {
  readonly types: readonly T[];
  receive(from: string, frame: Extract<Frame, { type: T }>, binary: Uint8Array): void;
  /**
   * The peer's primary link changed or went (called on every handler before `peerUp` or `peerDown`): what went over
   * the old one may be lost with it.
   */
  primaryChanged?(nodeId: string): void;
  /** A new primary (first link, failover or upgrade); `first`: the peer had no live link before. */
  peerUp?(nodeId: string, first: boolean): void;
  /** The peer has no live link left. */
  peerDown?(nodeId: string): void;
  /** Called when the channel starts and stops, in registration order. */
  start?(): void;
  stop?(): void;
}

/** Refused things after which a peer is unlinked: an honest peer forwards only what it checked. */
const MAX_REFUSED = 1000;

/**
 * The sync layer's link to other instances: decodes every data frame (a bad one closes the link it came on), knows
 * which peers are linked now and over which tier, and routes each frame to the handlers registered for its type.
 */
export class SyncChannel {
  readonly #links: SyncLinks;
  readonly #log: (line: string) => void;
  readonly #handlers: SyncHandler[] = [];
  readonly #byType = new Map<Frame["type"], SyncHandler[]>();
  /** Peers with a live link now, each with its primary tier. */
  readonly #primary = new Map<string, Tier>();
  /** Things each peer sent that were refused (bad signature, sequence out of reach, bad chunk): counted against it. */
  readonly #refused = new Map<string, number>();
  #stops: (() => void)[] = [];

  constructor(init: { links: SyncLinks; log?: (line: string) => void }) {
    this.#links = init.links;
    this.#log = init.log ?? (() => {});
  }

  /** Adds a handler: it receives the frames of its types, after the handlers registered before it. */
  register<T extends Frame["type"]>(handler: SyncHandler<T>): void {
    const any = handler as unknown as SyncHandler;
    this.#handlers.push(any);
    for (const type of handler.types) this.#byType.set(type, [...(this.#byType.get(type) ?? []), any]);
  }

  start(): void {
    const stopChanges = this.#links.onChange((nodeId, tier) => {
      for (const h of this.#handlers) h.primaryChanged?.(nodeId);
      if (tier === null) {
        this.#primary.delete(nodeId);
        for (const h of this.#handlers) h.peerDown?.(nodeId);
        return;
      }
      const first = !this.#primary.has(nodeId);
      this.#primary.set(nodeId, tier);
      for (const h of this.#handlers) h.peerUp?.(nodeId, first);
    });
    const stopData = this.#links.onData((nodeId, data, tier) => {
      let decoded: ReturnType<typeof decodeFrame>;
      try {
        decoded = decodeFrame(data);
      } catch (err) {
        if (!(err instanceof FrameError)) throw err;
        this.#log(`bad frame from ${nodeId} over ${tier}: ${err.message}`);
        return this.#links.closeLink(nodeId, tier, err.message);
      }
      for (const h of this.#byType.get(decoded.frame.type) ?? []) h.receive(nodeId, decoded.frame, decoded.binary);
    });
    this.#stops = [stopChanges, stopData];
    for (const h of this.#handlers) h.start?.();
  }

  stop(): void {
    for (const stop of this.#stops.splice(0)) stop();
    for (const h of this.#handlers) h.stop?.();
  }

  /** Peers with a live link now. */
  peers(): IterableIterator<string> {
    return this.#primary.keys();
  }

  isUp(nodeId: string): boolean {
    return this.#primary.has(nodeId);
  }

  /** Sends `frame` to the peer, with `binary` as its tail (chunks, sealed items); false when it has no link. */
  send(nodeId: string, frame: Frame, binary?: Uint8Array): boolean {
    return this.#links.send(nodeId, encodeFrame(frame, binary));
  }

  /** Bytes waiting to leave on the peer's primary link; null when it has none. */
  buffered(nodeId: string): number | null {
    return this.#links.buffered(nodeId);
  }

  /** Closes the peer's primary link (a reader that stopped), if it has one. */
  closePrimary(nodeId: string, reason: string): void {
    const tier = this.#primary.get(nodeId);
    if (tier) this.#links.closeLink(nodeId, tier, reason);
  }

  /** Counts something a peer sent that failed its checks; past MAX_REFUSED the peer is unlinked. */
  refuse(from: string, what: string): void {
    const count = (this.#refused.get(from) ?? 0) + 1;
    this.#refused.set(from, count);
    if (count === 1 || count % 100 === 0) this.#log(`refused from ${from} (${count} so far): ${what}`);
    if (count === MAX_REFUSED) this.#links.forget(from, `sent ${count} things that failed their checks`);
  }
}
