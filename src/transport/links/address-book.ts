/**
 * Every address known for one peer, per field (http, ws, lan, ...), best first: one a link was made through, then
 * one the user gave (`--peer`, an invite) or LAN discovery saw, then one the peer advertises of itself. An advertised
 * address (a private one of another network, say) never pushes a working one aside, as it once did; a tier whose dial
 * fails tries the field's next address on its next attempt. An advertised address that failed DROP_AFTER times in a
 * row while the peer was linked some other way, never having worked, is dropped for good: it is of a network this
 * instance is not on, and the peer's hellos, which advertise it again, do not bring it back (the user giving it does).
 * One that fails while the peer is reachable no other way is kept: the peer may be restarting.
 */
import type { Tier } from "../../domain/tiers.ts";
import type { NodeAddress, PeerAddress } from "../link.ts";

/** Where an address came from, most trusted first. */
export type AddressSource = "worked" | "given" | "advertised";
const RANK: Record<AddressSource, number> = { worked: 0, given: 1, advertised: 2 };

type Field = Exclude<keyof PeerAddress, "nodeId">;

/**
 * The fields a tier dials (tests' in-memory tiers dial `memory`). webrtc and turn may signal through the peer's hub at
 * its ws address, but fail for reasons of their own (ICE, UDP) far more often: their failures say nothing of it.
 * relay dials no address of the peer's, only through a rendezvous.
 */
const FIELDS_OF: Record<Tier, Field[]> = {
  webrtc: ["memory"],
  turn: ["memory"],
  websocket: ["ws", "memory"],
  http: ["http", "memory"],
  lan: ["lan", "memory"],
  relay: [],
};

/** Addresses kept per field: enough for a peer's own, the user's and a few seen, never a list a peer can grow. */
const MAX_PER_FIELD = 4;
/** Failed dials in a row after which an advertised address that never worked is dropped. */
export const DROP_AFTER = 3;
/** Dropped addresses remembered per peer, so its hellos do not bring them back. */
const MAX_DROPPED = 16;
/** Addresses a peer never linked to may have, whoever names them (the user's aside): a list no introducer can grow. */
export const MAX_UNLINKED_ADDRESSES = 4;

interface Candidate {
  value: string;
  rank: number;
  /** Dials through it that failed since it last worked. */
  failures: number;
}

export class AddressBook {
  readonly #fields = new Map<Field, Candidate[]>();
  /** Advertised addresses dropped as unreachable from here. */
  readonly #dropped = new Set<string>();
  /** Every address taken in while no link was ever made through one (then it no longer counts). */
  readonly #unlinked = new Set<string>();
  #linked = false;

  constructor(readonly nodeId: string) {}

  /** The address to dial now: each field's first candidate. */
  get current(): NodeAddress {
    const out: NodeAddress = { nodeId: this.nodeId };
    for (const [field, candidates] of this.#fields) if (candidates[0]) out[field] = candidates[0].value;
    return out;
  }

  /** Takes in what `address` says, as coming from `source`; true when the address to dial changed. */
  learn(address: PeerAddress, source: AddressSource): boolean {
    const before = JSON.stringify(this.current);
    for (const [field, value] of Object.entries(address) as [keyof PeerAddress, string | undefined][]) {
      if (field === "nodeId" || value === undefined) continue;
      if (source === "advertised" && this.#dropped.has(value)) continue;
      if (!this.#linked && source !== "given" && !this.#unlinked.has(value)) {
        if (this.#unlinked.size >= MAX_UNLINKED_ADDRESSES) continue;
        this.#unlinked.add(value);
      }
      this.#put(field, value, RANK[source]);
    }
    return JSON.stringify(this.current) !== before;
  }

  /** Whether `address` names a value not held here (one that would be dialled), dropped ones aside. */
  novel(address: PeerAddress): boolean {
    return (Object.entries(address) as [keyof PeerAddress, string | undefined][]).some(
      ([field, value]) => field !== "nodeId" && value !== undefined && !this.#dropped.has(value) && !this.#fields.get(field)?.some((c) => c.value === value),
    );
  }

  /** A link on `tier` was made through the current address: it goes first for good. */
  worked(tier: Tier): void {
    this.#linked = true;
    for (const field of FIELDS_OF[tier]) {
      const first = this.#fields.get(field)?.[0];
      if (!first) continue;
      first.failures = 0;
      this.#put(field, first.value, RANK.worked);
    }
  }

  /** A dial on `tier` failed (with the peer linked on another tier, or not): its next attempt tries the next address. */
  failed(tier: Tier, linkedOtherwise: boolean): void {
    for (const field of FIELDS_OF[tier]) {
      const candidates = this.#fields.get(field);
      const first = candidates?.shift();
      if (!candidates || !first) continue;
      first.failures++;
      if (linkedOtherwise && first.rank === RANK.advertised && first.failures >= DROP_AFTER) {
        if (this.#dropped.size < MAX_DROPPED) this.#dropped.add(first.value);
        continue;
      }
      candidates.push(first);
    }
  }

  /** Whether `tier` has an address other than the current one to try. */
  hasAlternative(tier: Tier): boolean {
    return FIELDS_OF[tier].some((field) => (this.#fields.get(field)?.length ?? 0) > 1);
  }

  /** Another node answered at `tier`'s current address: that address is not this peer's, and is dropped. */
  notThisPeer(tier: Tier): void {
    for (const field of FIELDS_OF[tier]) this.#fields.get(field)?.shift();
  }

  #put(field: Field, value: string, rank: number): void {
    const candidates = this.#fields.get(field) ?? [];
    const known = candidates.find((c) => c.value === value);
    // Known already: it keeps its place unless this source ranks it higher.
    if (known && known.rank <= rank) return;
    const rest = candidates.filter((c) => c.value !== value);
    // Ahead of those of its rank: what a peer or the user said last is the likelier to be true now.
    const at = rest.findIndex((c) => c.rank >= rank);
    rest.splice(at < 0 ? rest.length : at, 0, { value, rank, failures: 0 });
    this.#fields.set(field, rest.slice(0, MAX_PER_FIELD));
  }
}
