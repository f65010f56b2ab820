/**
 * Connection slots with a share per source, so that one client cannot take every slot an endpoint has: a source is an
 * IPv4 address, or an IPv6 /64 (src/util/ip.ts). Each source may always hold its share; past it, a source (instances
 * behind one NAT, tests on one machine) may borrow only while under half of all slots are taken. So one source holds at
 * most half, and every other source always finds its share free until many sources together fill the rest. Used by
 * the WebSocket tier's `/link`, the HTTP tier's sessions and the `/signal` hub.
 */
import { sourceKey } from "../util/ip.ts";

/** Gives a slot back; calling it again does nothing. */
export type ReleaseSlot = () => void;

export interface SlotLimits {
  /** Slots in all. */
  total: number;
  /** Slots one source may always hold; past them it borrows only while under half of `total` are taken. */
  perSource: number;
}

export class SourceSlots {
  readonly #held = new Map<string, number>();
  #total = 0;

  constructor(readonly limits: SlotLimits) {}

  /** Slots held now. */
  get size(): number {
    return this.#total;
  }

  /** Takes a slot for a client at `address` (undefined: a source of its own, unknown), or says why not. */
  take(address: string | undefined): ReleaseSlot | string {
    if (this.#total >= this.limits.total) return `all ${this.limits.total} slots are taken`;
    const source = address === undefined ? "unknown" : sourceKey(address);
    const held = this.#held.get(source) ?? 0;
    if (held >= this.limits.perSource && this.#total >= this.limits.total / 2) return `${source} holds ${held}, the most one address may now`;
    this.#held.set(source, held + 1);
    this.#total++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#total--;
      const left = (this.#held.get(source) ?? 1) - 1;
      if (left > 0) this.#held.set(source, left);
      else this.#held.delete(source);
    };
  }
}
