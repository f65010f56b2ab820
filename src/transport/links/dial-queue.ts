import type { Tier } from "../../domain/tiers.ts";
import { backoffDelay } from "../../util/backoff.ts";
import { abortReason, DialError, messageOf, WrongPeerError } from "../errors.ts";
import type { Link, PeerAddress, Transport } from "../link.ts";
import type { Peer } from "./peer.ts";

export interface DialQueueInit {
  /** Every tier this instance may dial, best first. */
  transports: Transport[];
  /** Each dial attempt's own timeout, the handshake aside. */
  dialTimeoutMs: number;
  /** Delay between starting one tier's first dial and the next lower tier's. */
  staggerMs: number;
  /** Tiers dialled at once with the best one for a peer at this address. @default none */
  dialAtOnce?: (address: PeerAddress) => Tier[];
  /** First retry delay of a failed tier; doubles per failure up to `retryMaxMs`. */
  retryMinMs: number;
  retryMaxMs: number;
  /** Aborts every dial under way, for good. */
  closing: AbortSignal;
  /** Runs the handshake on a dialled link: resolves with the secure link over it, or rejects (and closes the link). */
  identify(link: Link, expected: string): Promise<{ nodeId: string; link: Link }>;
  /** A dial and its handshake succeeded (the link manager then files it and calls `linked`). */
  onLinked(peer: Peer, link: Link, tier: Tier): void;
  /** Where a tier's first failure in a row, and every tenth, is said. @default nowhere */
  log?: (line: string) => void;
  /** A tier's wait (stagger or backoff) is over: pump the peer now. */
  onDue(peer: Peer): void;
}

/**
 * The first dial of every tier of a peer: it ends with the first tier that links, or with every tier's failure once no
 * dial (a retry) is under way.
 */
interface Round {
  tiers: Set<Tier>;
  errors: unknown[];
  resolve(tier: Tier): void;
  reject(error: AggregateError): void;
  promise: Promise<Tier>;
}

/**
 * Dial scheduling: which tiers of which peer to dial now. Tiers start best first, each lower one a little later
 * (happy eyeballs, so a slow WebRTC setup delays nothing); a failed tier is retried with backoff, for as long as the
 * peer is wanted.
 */
export class DialQueue {
  readonly #init: DialQueueInit;
  readonly #rounds = new Map<Peer, Round>();
  /** Per peer, the timer set for its next tier's wait to end. */
  readonly #due = new Map<Peer, { at: number; timer: ReturnType<typeof setTimeout> }>();

  constructor(init: DialQueueInit) {
    this.#init = init;
    init.closing.addEventListener("abort", () => {
      for (const { timer } of this.#due.values()) clearTimeout(timer);
      this.#due.clear();
    });
  }

  /**
   * Starts dialling a peer on every tier that can reach it. Resolves with the first tier that links; rejects with an
   * AggregateError of every tier's error when all of them failed once (they are still retried afterwards).
   */
  connect(peer: Peer, allAtOnce = false): Promise<Tier> {
    const primary = peer.primary;
    if (primary) return Promise.resolve(primary.tier);
    const running = this.#rounds.get(peer);
    if (running) return running.promise;
    const dialable = this.#dialable(peer);
    if (!peer.dials) {
      peer.dials = true;
      const now = Date.now();
      // A relayed link is a stopgap, left once a direct one carries the data: it waits for none of them.
      const atOnce = new Set<Tier>(["relay", ...(this.#init.dialAtOnce?.(peer.address) ?? [])]);
      const staggered = allAtOnce ? [] : dialable.filter((t) => !atOnce.has(t.tier));
      staggered.forEach((t, rank) => rank > 0 && !peer.tiers.has(t.tier) && peer.tiers.set(t.tier, { kind: "waiting", until: now + rank * this.#init.staggerMs, failures: 0 }));
    }
    const tiers = new Set(dialable.filter((t) => !peer.linkOn(t.tier)).map((t) => t.tier));
    if (tiers.size === 0) {
      // Linked already, its link not yet elected (no ping answered so far): that is linked, not unreachable.
      const linked = peer.links()[0];
      if (linked) return Promise.resolve(linked.tier);
      return handledRejection(new AggregateError([], `no tier of this instance can reach ${peer.nodeId}`));
    }
    const round = { tiers, errors: [] as unknown[], ...Promise.withResolvers<Tier>() };
    this.#rounds.set(peer, round);
    round.promise.catch(() => {}); // callers that do not wait for the outcome must not see an unhandled rejection
    this.pump(peer);
    return round.promise;
  }

  /** Dials every tier of a wanted peer that has no link, no dial under way and no wait pending. */
  pump(peer: Peer): void {
    if (!peer.dials || this.#init.closing.aborted) return;
    const now = Date.now();
    let next = Number.POSITIVE_INFINITY;
    for (const transport of this.#dialable(peer)) {
      const state = peer.tiers.get(transport.tier);
      if (state === undefined || (state.kind === "waiting" && state.until <= now)) {
        this.#dial(peer, transport, state?.failures ?? 0).catch((error: unknown) => peer.record(`${transport.tier} link failed as it was filed: ${messageOf(error)}`));
      }
      else if (state.kind === "waiting") next = Math.min(next, state.until);
    }
    this.#wakeAt(peer, next);
  }

  /** Pumps the peer again when its next wait ends, to the ms (the manager's regular pump comes only twice a second). */
  #wakeAt(peer: Peer, at: number): void {
    const due = this.#due.get(peer);
    if (!Number.isFinite(at) || (due && due.at <= at)) return;
    if (due) clearTimeout(due.timer);
    const timer = setTimeout(() => {
      this.#due.delete(peer);
      this.#init.onDue(peer);
    }, Math.max(0, at - Date.now()));
    this.#due.set(peer, { at, timer });
  }

  #dialable(peer: Peer): Transport[] {
    return this.#init.transports.filter((t) => t.canDial(peer.address));
  }

  async #dial(peer: Peer, transport: Transport, failures: number): Promise<void> {
    const { tier } = transport;
    peer.tiers.set(tier, { kind: "dialing", failures });
    const timeout = AbortSignal.timeout(this.#init.dialTimeoutMs);
    const signal = AbortSignal.any([timeout, this.#init.closing]);
    let link: Link;
    try {
      try {
        link = await transport.dial(peer.address, signal);
      } catch (error) {
        throw signal.aborted ? abortReason(signal, `${tier} dial to ${peer.nodeId}`, this.#init.dialTimeoutMs) : error;
      }
      link = (await this.#init.identify(link, peer.nodeId)).link;
    } catch (error) {
      return this.#failed(peer, tier, error instanceof Error ? error : new DialError(messageOf(error)));
    }
    peer.addresses.worked(tier);
    this.#init.onLinked(peer, link, tier);
  }

  /** Fresh news that the peer is there (a rendezvous just met it): every tier waiting out a backoff is dialled now. */
  hurry(peer: Peer): void {
    const now = Date.now();
    for (const [tier, state] of peer.tiers) {
      if (state.kind === "waiting" && state.until > now && state.until !== Number.POSITIVE_INFINITY) peer.tiers.set(tier, { ...state, until: now });
    }
  }

  /** The peer's address changed: tiers given up on because another node answered at the old one may be dialled again. */
  addressChanged(peer: Peer): void {
    for (const [tier, state] of peer.tiers) {
      if (state.kind === "waiting" && state.until === Number.POSITIVE_INFINITY) peer.tiers.delete(tier);
    }
  }

  /** The peer is dropped: its first round, if any, fails, and nothing of it is dialled again. */
  forget(peer: Peer, reason: string): void {
    clearTimeout(this.#due.get(peer)?.timer);
    this.#due.delete(peer);
    const round = this.#rounds.get(peer);
    if (!round) return;
    this.#rounds.delete(peer);
    round.reject(new AggregateError(round.errors, `stopped linking to ${peer.nodeId}: ${reason}`));
  }

  /** A link to the peer is up on `tier`, dialled or accepted: its first round, if any, is over. */
  linked(peer: Peer, tier: Tier): void {
    const round = this.#rounds.get(peer);
    if (!round) return;
    this.#rounds.delete(peer);
    round.resolve(tier);
  }

  #failed(peer: Peer, tier: Tier, error: Error): void {
    const state = peer.tiers.get(tier);
    // An accepted link may have filled the tier meanwhile; then there is nothing to retry.
    if (state?.kind === "dialing") {
      const failures = state.failures + 1;
      const delay = backoffDelay(failures, { minMs: this.#init.retryMinMs, maxMs: this.#init.retryMaxMs, jitter: 0.2 });
      // Another node's key answers at that address: it is not this peer's, and is dropped; with no other address left
      // to try, the tier is not dialled again until the peer's address changes.
      const wrongPeer = error instanceof WrongPeerError;
      const givenUp = wrongPeer && !peer.addresses.hasAlternative(tier);
      if (wrongPeer) peer.addresses.notThisPeer(tier);
      else peer.addresses.failed(tier, peer.primary !== null);
      const until = givenUp ? Number.POSITIVE_INFINITY : Date.now() + delay;
      peer.tiers.set(tier, { kind: "waiting", until, failures });
      if (peer.dials && !this.#init.closing.aborted) this.#wakeAt(peer, until);
      peer.record(`${tier} dial failed (${failures}x): ${error.message}${wrongPeer ? "; not tried again at this address" : ""}`);
      if (failures === 1 || failures % 10 === 0) this.#init.log?.(`${tier} dial to ${peer.nodeId} failed (${failures}x): ${error.message}`);
    }
    const round = this.#rounds.get(peer);
    if (!round) return;
    if (round.tiers.delete(tier)) round.errors.push(error);
    // A retry of a tier that failed fast may still be under way (a WebRTC dial whose signaling path came up since):
    // the round is over only once nothing is dialled, or the peer would be given up on just before it links.
    if (round.tiers.size > 0 || [...peer.tiers.values()].some((t) => t.kind === "dialing")) return;
    this.#rounds.delete(peer);
    round.reject(new AggregateError(round.errors, `could not link to ${peer.nodeId} on any tier`));
  }
}

/** A rejected outcome that counts as handled: callers that do not wait for it see no unhandled rejection. */
export function handledRejection(error: Error): Promise<never> {
  const outcome = Promise.reject(error);
  outcome.catch(() => {});
  return outcome;
}
