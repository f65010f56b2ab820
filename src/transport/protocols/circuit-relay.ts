/**
 * This instance as a relay (`--relay`): it passes the frames of relayed links (circuits.ts) on between its own links
 * to their two ends, each relayed link within RELAY_LIMITS, and only between peers that met here at a common topic.
 */
import { randomBytes } from "node:crypto";
import { RateLimiter } from "../../util/rate-limit.ts";
import { MAX_REASON_CHARS } from "../limits.ts";
import { encodeCircuit, type ControlMessage } from "../links/control.ts";

/**
 * A relay cannot tell a real room's topic from one two strangers made up (it must learn nothing of rooms), so what
 * bounds what it carries is shares: of relayed links and bytes a second, per instance and per source address (an
 * IPv4 address or an IPv6 /64, as the relay's link to the end shows it; one address counts twice the instance's share).
 */
export const RELAY_LIMITS = {
  /** Bytes one relayed link carries, both ways together, before the relay closes it (its ends may open another). */
  bytes: 256 * 1024 * 1024,
  /** How long one relayed link lasts. */
  ms: 15 * 60_000,
  /** Relayed links one instance may have through this relay at once. */
  perPeer: 8,
  /** Relayed links with an end at one source address at once. */
  perSource: 8,
  /** Relayed links through this relay at once. */
  total: 64,
  /** Bytes one instance may send through this relay a second, in bursts of `burstBytes`; past it, its relayed link ends. */
  bytesPerSecond: 8 * 1024 * 1024,
  burstBytes: 32 * 1024 * 1024,
  /** Relayed links one source may open a second, in bursts of 8. */
  opensPerSecond: 1,
};

/** How relays and ends reach a linked peer: over its primary link, never over a relayed one. */
export interface CircuitWire {
  control(nodeId: string, message: ControlMessage): boolean;
  frame(nodeId: string, parts: Uint8Array[]): boolean;
  buffered(nodeId: string): number | null;
}

export const newId = () => randomBytes(16).toString("base64url");
export const reason = (why: string) => why.slice(0, MAX_REASON_CHARS);

/** One relayed link through this instance: an id with each end. */
interface Circuit {
  ends: [{ node: string; id: string }, { node: string; id: string }];
  /** The source addresses of its ends (one when both share it). */
  sources: string[];
  bytes: number;
  timer: ReturnType<typeof setTimeout>;
}

export interface CircuitRelayInit {
  wire: CircuitWire;
  /** Whether `from` may open a relayed link to `to` here (they met here at a common topic). */
  allowed: (from: string, to: string) => boolean;
  /** Where the relay's link to `nodeId` comes from (links/sources.ts). @default each instance its own source */
  sourceOf?: (nodeId: string) => string | undefined;
  /** @default RELAY_LIMITS */
  limits?: Partial<typeof RELAY_LIMITS>;
}

/** This instance as a relay (`--relay`): the relayed links through it, each within the limits. */
export class CircuitRelay {
  /** Each circuit twice: by each end's node and id. */
  readonly #circuits = new Map<string, Circuit>();
  readonly #perPeer = new Map<string, number>();
  readonly #perSource = new Map<string, number>();
  readonly #limits: typeof RELAY_LIMITS;
  /** Bytes a second, per instance and per source (twice as many); relayed links opened a second, per source. */
  readonly #bytes: RateLimiter;
  readonly #sourceBytes: RateLimiter;
  readonly #opens: RateLimiter;
  #count = 0;

  constructor(private readonly init: CircuitRelayInit) {
    this.#limits = { ...RELAY_LIMITS, ...init.limits };
    const { bytesPerSecond, burstBytes, opensPerSecond } = this.#limits;
    this.#bytes = new RateLimiter({ perSecond: bytesPerSecond, burst: burstBytes });
    this.#sourceBytes = new RateLimiter({ perSecond: 2 * bytesPerSecond, burst: 2 * burstBytes });
    this.#opens = new RateLimiter({ perSecond: opensPerSecond, burst: 8 * opensPerSecond });
  }

  /** The source an end counts under. */
  #source(nodeId: string): string {
    return this.init.sourceOf?.(nodeId) ?? `instance ${nodeId}`;
  }

  /** Relayed links through this instance now. */
  get size(): number {
    return this.#count;
  }

  open(from: string, id: string, to: string): void {
    const refuse = (why: string) => void this.init.wire.control(from, { t: "shut", c: id, why });
    const { perPeer, total, ms } = this.#limits;
    if (this.#circuits.has(`${from} ${id}`)) return refuse("that relayed link is open already");
    if (from === to || !this.init.allowed(from, to)) return refuse(`no relayed link to ${to}: it waits here at none of your topics`);
    if (this.#count >= total) return refuse(`this relay carries the most relayed links it allows (${total})`);
    if ((this.#perPeer.get(from) ?? 0) >= perPeer || (this.#perPeer.get(to) ?? 0) >= perPeer) return refuse(`at most ${perPeer} relayed links per instance here`);
    const sources = [...new Set([this.#source(from), this.#source(to)])];
    if (sources.some((source) => (this.#perSource.get(source) ?? 0) >= this.#limits.perSource)) {
      return refuse(`at most ${this.#limits.perSource} relayed links per address here`);
    }
    if (!this.#opens.take(sources[0]!)) return refuse("too many relayed links opened from your address; try again later");
    const circuit: Circuit = {
      ends: [
        { node: from, id },
        { node: to, id: newId() },
      ],
      sources,
      bytes: 0,
      timer: setTimeout(() => this.#end(circuit, `a relayed link lasts ${ms / 1000} s here`), ms),
    };
    for (const end of circuit.ends) {
      this.#circuits.set(`${end.node} ${end.id}`, circuit);
      this.#perPeer.set(end.node, (this.#perPeer.get(end.node) ?? 0) + 1);
    }
    for (const source of sources) this.#perSource.set(source, (this.#perSource.get(source) ?? 0) + 1);
    this.#count++;
    if (!this.init.wire.control(to, { t: "opened", c: circuit.ends[1].id, from })) this.#end(circuit, `${to} is not linked here`);
  }

  /** A frame from one end: on to the other, within the circuit's bytes. False when no such circuit is here. */
  frame(from: string, id: string, data: Uint8Array): boolean {
    const circuit = this.#circuits.get(`${from} ${id}`);
    if (!circuit) return false;
    circuit.bytes += data.byteLength;
    if (circuit.bytes > this.#limits.bytes) {
      this.#end(circuit, `a relayed link carries at most ${this.#limits.bytes} bytes here`);
      return true;
    }
    if (!this.#bytes.take(from, data.byteLength) || !this.#sourceBytes.take(this.#source(from), data.byteLength)) {
      this.#end(circuit, `over its share of this relay: ${this.#limits.bytesPerSecond} bytes a second`);
      return true;
    }
    const other = circuit.ends[0].node === from && circuit.ends[0].id === id ? circuit.ends[1] : circuit.ends[0];
    if (!this.init.wire.frame(other.node, encodeCircuit(other.id, data))) this.#end(circuit, `${other.node} is not linked here any more`);
    return true;
  }

  /** One end closed its relayed link: the other hears why. False when no such circuit is here. */
  shut(from: string, id: string, why: string): boolean {
    const circuit = this.#circuits.get(`${from} ${id}`);
    if (!circuit) return false;
    this.#end(circuit, why, from);
    return true;
  }

  /** `nodeId` has no link here any more: its relayed links end. */
  gone(nodeId: string): void {
    for (const circuit of new Set(this.#circuits.values())) {
      if (circuit.ends.some((end) => end.node === nodeId)) this.#end(circuit, `${nodeId} is not linked to the relay any more`, nodeId);
    }
  }

  close(): void {
    for (const circuit of new Set(this.#circuits.values())) this.#end(circuit, "the relay is shutting down");
  }

  /** Removes a circuit and tells its ends (but `quiet`, the one that closed it) why. */
  #end(circuit: Circuit, why: string, quiet?: string): void {
    if (!this.#circuits.delete(`${circuit.ends[0].node} ${circuit.ends[0].id}`)) return;
    this.#circuits.delete(`${circuit.ends[1].node} ${circuit.ends[1].id}`);
    clearTimeout(circuit.timer);
    this.#count--;
    for (const source of circuit.sources) {
      const left = (this.#perSource.get(source) ?? 1) - 1;
      if (left > 0) this.#perSource.set(source, left);
      else this.#perSource.delete(source);
    }
    for (const end of circuit.ends) {
      const left = (this.#perPeer.get(end.node) ?? 1) - 1;
      if (left > 0) this.#perPeer.set(end.node, left);
      else this.#perPeer.delete(end.node);
      if (end.node !== quiet) this.init.wire.control(end.node, { t: "shut", c: end.id, why: reason(why) });
    }
  }
}
