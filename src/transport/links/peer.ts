import { TIER_PRIORITY, TIERS, type Tier } from "../../domain/tiers.ts";
import { messageOf } from "../errors.ts";
import type { Link, NodeAddress } from "../link.ts";
import { AddressBook } from "./address-book.ts";
import type { LinkHealth } from "./health.ts";

/** A link whose far end proved its node id in the handshake, with its health. */
export interface PeerLink {
  link: Link;
  tier: Tier;
  dialedByMe: boolean;
  health: LinkHealth;
}

/** Where one tier to a peer stands. A tier with no entry has never been tried: it may be dialled now. */
export type TierState =
  /** Not to be dialled before `until` (the happy-eyeballs stagger, or backoff after `failures` failures in a row). */
  | { kind: "waiting"; until: number; failures: number }
  /** A dial and its handshake are under way. */
  | { kind: "dialing"; failures: number }
  | { kind: "linked"; entry: PeerLink };

/** Where the peer as a whole stands, as `/peers` shows it. */
export type PeerState =
  | { kind: "disconnected" }
  /** Dials or links under way, none of which has carried a ping yet. */
  | { kind: "connecting" }
  /** `primary` carries the data: the best link that has carried a ping. */
  | { kind: "connected"; primary: PeerLink };

/** One line of a peer's history, for `/peers?log=1` and for whoever debugs a link. */
export interface PeerEvent {
  at: number;
  event: string;
}

/** How one peer's links stand, for `/peers` and the page. */
export interface LinkStatus {
  nodeId: string;
  /** The primary link's tier, null when no link has carried a ping yet. */
  tier: Tier | null;
  /** The primary link's smoothed round trip. */
  rttMs: number | null;
  /** Share of the primary link's recent pings left unanswered, 0 to 1. */
  loss: number;
  state: PeerState["kind"];
  /** When `state` last changed (ms), or when the peer was filed. */
  since: number;
  /** Every live tier, the primary and those standing by. */
  tiers: Tier[];
  /** The peer's last state changes, oldest first. */
  log: readonly PeerEvent[];
}

const LOG_LENGTH = 32;

/** One other instance: its address, each tier's state, the election of its primary link, and a short history. */
export class Peer {
  readonly tiers = new Map<Tier, TierState>();
  /** Every address known for it, best first. */
  readonly addresses: AddressBook;
  /** True once this side was asked to link to it: its tiers are dialled and redialled. Otherwise its links are only accepted. */
  dials = false;
  /** True while replication holds that it proved a room we share. */
  member = false;
  /** Where its first link came from (links/sources.ts): fresh peers are displaced from the source holding the most. */
  source: string | undefined;
  /** The link its last `meet` came by, at this instance as a rendezvous: a meet on another starts its wait afresh. */
  waitsOn: Link | undefined;
  /** When a link to it last closed, or when it was filed if none ever did: the eviction order among the absent. */
  absentSince = Date.now();
  /** When the state last changed, or when the peer was filed. */
  stateSince = Date.now();
  #state: PeerState = { kind: "disconnected" };
  readonly #log: PeerEvent[] = [];

  constructor(readonly nodeId: string) {
    this.addresses = new AddressBook(nodeId);
  }

  /** The address to dial now. */
  get address(): NodeAddress {
    return this.addresses.current;
  }

  get state(): PeerState {
    return this.#state;
  }

  get primary(): PeerLink | null {
    return this.#state.kind === "connected" ? this.#state.primary : null;
  }

  /** The live links, best tier first. */
  links(): PeerLink[] {
    const out: PeerLink[] = [];
    for (const state of this.tiers.values()) if (state.kind === "linked") out.push(state.entry);
    return out.sort((a, b) => TIER_PRIORITY[b.tier] - TIER_PRIORITY[a.tier]);
  }

  linkOn(tier: Tier): PeerLink | undefined {
    const state = this.tiers.get(tier);
    return state?.kind === "linked" ? state.entry : undefined;
  }

  /**
   * Sends a frame (in parts) on the primary link; one that fails is handed to `lost`, which files the next primary, and
   * that one is tried. False when no link took it.
   */
  send(frame: Uint8Array[], lost: (entry: PeerLink, reason: string) => void): boolean {
    // Each failed try removes that link, so this ends after at most one try per tier.
    for (let tries = 0; this.primary && tries <= TIERS.length; tries++) {
      const primary = this.primary;
      try {
        primary.link.send(frame);
        return true;
      } catch (error) {
        lost(primary, `send failed: ${messageOf(error)}`);
      }
    }
    return false;
  }

  /**
   * Files an identified link under its tier. Of two links on one tier both ends keep the one the lower node id
   * dialled, so the two sides agree without talking; returns the one that lost (to be closed), if any.
   */
  attach(entry: PeerLink, localNodeId: string): PeerLink | null {
    const current = this.linkOn(entry.tier);
    if (current) {
      const lowerDialled = (e: PeerLink) => e.dialedByMe === localNodeId < this.nodeId;
      if (lowerDialled(current) || !lowerDialled(entry)) return entry;
    }
    this.tiers.set(entry.tier, { kind: "linked", entry });
    this.record(`${entry.tier} link up (${entry.dialedByMe ? "dialled" : "accepted"})`);
    return current ?? null;
  }

  /** Forgets a link that closed; its tier waits `retryMs` before it is dialled again. False when it was not filed here. */
  detach(entry: PeerLink, retryMs: number, reason: string): boolean {
    if (this.linkOn(entry.tier) !== entry) return false;
    this.tiers.set(entry.tier, { kind: "waiting", until: Date.now() + retryMs, failures: 0 });
    this.absentSince = Date.now();
    this.record(`${entry.tier} link closed: ${reason}`);
    return true;
  }

  /**
   * Derives the state from the tiers: the best link that has carried a ping is the primary. Returns the previous
   * primary's tier when the primary changed, and undefined when it did not.
   */
  settle(): { previous: Tier | null } | undefined {
    let best: PeerLink | null = null;
    for (const entry of this.links()) if (entry.health.answered && (!best || TIER_PRIORITY[entry.tier] > TIER_PRIORITY[best.tier])) best = entry;
    const busy = [...this.tiers.values()].some((s) => s.kind !== "waiting");
    const next: PeerState = best ? { kind: "connected", primary: best } : busy ? { kind: "connecting" } : { kind: "disconnected" };
    const previous = this.primary;
    if (next.kind !== this.#state.kind) {
      this.record(next.kind === "connected" ? `connected over ${best!.tier}` : next.kind);
      this.stateSince = Date.now();
    }
    else if (best && best !== previous) this.record(`primary ${previous?.tier} -> ${best.tier}`);
    this.#state = next;
    return best === previous ? undefined : { previous: previous?.tier ?? null };
  }

  record(event: string): void {
    this.#log.push({ at: Date.now(), event });
    if (this.#log.length > LOG_LENGTH) this.#log.shift();
  }

  /** The last state changes, oldest first. */
  log(): readonly PeerEvent[] {
    return this.#log;
  }

  status(): LinkStatus {
    const primary = this.primary;
    return {
      nodeId: this.nodeId,
      tier: primary?.tier ?? null,
      rttMs: primary?.health.rttMs ?? null,
      loss: primary?.health.loss ?? 0,
      state: this.state.kind,
      since: this.stateSince,
      tiers: this.links().map((e) => e.tier),
      log: this.log(),
    };
  }
}
