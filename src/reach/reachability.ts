/**
 * How this instance is reached, as its peers see it (transport/protocols/reach.ts): checked a few seconds after a first
 * link comes up and every 10 minutes. The invite panel shows it; an address outside any private network whose HTTP
 * port answered from there is what this instance advertises to its peers from then on. One peer's word is never
 * enough for that (a liar would have our peers dial its own address): the address must be the one our `--stun` servers
 * see, or two peers of rank (links/standing.ts) at different source addresses must agree on it, or our own dial-back
 * must find our node id there.
 */
import { isPrivateIp, urlHost } from "../util/ip.ts";
import type { AdvertisedAddresses } from "../domain/urls.ts";
import type { Tier } from "../domain/tiers.ts";
import type { ReachAnswer, ReachPorts } from "../transport/protocols/reach.ts";
import { Handlers } from "../util/handlers.ts";

const FIRST_CHECK_MS = 2000;
const CHECK_EVERY_MS = 10 * 60_000;
/** STUN probes that found nothing are tried again this much later, this many times in all. */
const STUN_RETRY_MS = 10_000;
const STUN_TRIES = 4;

/** What the last check found. */
export interface ReachState {
  checkedAt: number;
  /** The best answer: one from outside this network if any came, else one from inside; null when none came. */
  answer: ReachAnswer | null;
  /** Whether that answer saw us from outside any private network. */
  outside: boolean;
}

export interface ReachabilityInit {
  links: {
    checkReach(ports: ReachPorts): Promise<ReachAnswer[]>;
    onChange(handler: (nodeId: string, tier: Tier | null, previous: Tier | null) => void): () => void;
  };
  /** The ports the servers listen on. */
  ports: () => ReachPorts;
  /** The router's mapping, when asked for one: peers dial back the ports it forwards, checked again when they change. */
  mapping?: { externalPorts(): ReachPorts | null; onMapped(handler: () => void): () => void };
  /** This machine's public addresses as STUN servers see it. @default none */
  stunAddresses?: () => Promise<string[]>;
  /** Dials this instance at `ip` and `ports` as a peer would: whether our node id answers there. @default never */
  verify?: (ip: string, ports: ReachPorts) => Promise<{ http: boolean; ws: boolean }>;
  log: (line: string) => void;
}

export class Reachability {
  #state: ReachState | null = null;
  #stun: string | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;
  /** The last check heard of an address outside that it could not prove ours: a peer that links next may confirm it. */
  #unconfirmed = false;
  #every: ReturnType<typeof setInterval> | null = null;
  #stop: (() => void) | null = null;
  #stopMapped: (() => void) | null = null;
  readonly #advertised = new Handlers<[]>();

  constructor(private readonly init: ReachabilityInit) {}

  /** What this instance advertises from a check's finding changed. */
  onAdvertised(handler: () => void): () => void {
    return this.#advertised.add(handler);
  }

  /** Peers dial back the ports outside: the router's, where it maps them. */
  #ports(): ReachPorts {
    return this.init.mapping?.externalPorts() ?? this.init.ports();
  }

  start(): void {
    this.#stop = this.init.links.onChange((_, tier, previous) => {
      // The first link; or, while a peer said we are seen from outside and no other confirmed it, each new one.
      if (tier && !previous && (!this.#state || this.#unconfirmed) && !this.#timer) this.#timer = setTimeout(() => this.#checkNow(), FIRST_CHECK_MS);
    });
    // Whether the mapped ports answer from outside is asked again (once a first check has run).
    this.#stopMapped = this.init.mapping?.onMapped(() => this.#state && this.#checkNow()) ?? null;
    this.#every = setInterval(() => this.#checkNow(), CHECK_EVERY_MS);
    this.#probeNow();
  }

  /** The public address the STUN servers saw last; null before an answer, or without STUN. */
  stunAddress(): string | null {
    return this.#stun;
  }

  /** Asks the STUN servers; with no answer, again a little later (a few times), as a first probe can go unanswered. */
  async #probe(attempt = 1): Promise<void> {
    const found = (await this.init.stunAddresses?.()) ?? [];
    if (found.length > 0) this.#stun = found.find((ip) => !isPrivateIp(ip)) ?? found[0]!;
    else if (this.init.stunAddresses && attempt < STUN_TRIES && this.#every) setTimeout(() => this.#probeNow(attempt + 1), STUN_RETRY_MS).unref?.();
  }

  stop(): void {
    this.#stop?.();
    this.#stopMapped?.();
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#every) clearInterval(this.#every);
  }

  /** The last check's finding; null before any. */
  state(): ReachState | null {
    return this.#state;
  }

  /** Where peers should dial this instance: its address as seen from outside, for each port that answered there. */
  advertised(): Partial<AdvertisedAddresses> {
    const answer = this.#state?.outside ? this.#state.answer : null;
    if (!answer) return {};
    const host = urlHost(answer.seen);
    const { http, ws } = this.#ports();
    return { ...(answer.http ? { http: `http://${host}:${http}` } : {}), ...(answer.ws ? { ws: `ws://${host}:${ws}` } : {}) };
  }

  #probeNow(attempt = 1): void {
    this.#probe(attempt).catch((error: unknown) => this.init.log(`STUN probe failed: ${(error as Error).message}`));
  }

  #checkNow(): void {
    this.check().catch((error: unknown) => this.init.log(`reach check failed: ${(error as Error).message}`));
  }

  async check(): Promise<void> {
    this.#timer = null;
    const ports = this.#ports();
    const [answers] = await Promise.all([this.init.links.checkReach(ports), this.#probe().catch(() => {})]);
    if (answers.length === 0) {
      // No peer could tell (none sees our address: their links are WebRTC or relayed); what was known stays.
      this.#state ??= { checkedAt: Date.now(), answer: null, outside: false };
      return;
    }
    const before = JSON.stringify(this.advertised());
    // From outside, only what is proven counts; else what our own network says, one whose ports answered first.
    const outside = answers.filter((a) => !isPrivateIp(a.seen));
    const proven = await this.#proven(outside, ports);
    this.#unconfirmed = proven === null && outside.length > 0;
    const inside = answers.filter((a) => isPrivateIp(a.seen));
    const answer = proven ?? inside.find((a) => a.http) ?? inside[0] ?? null;
    this.#state = { checkedAt: Date.now(), answer, outside: proven !== null };
    const now = JSON.stringify(this.advertised());
    if (now !== before) {
      this.init.log(`reachable from outside at ${now === "{}" ? "no address" : now}${proven ? ` (as ${proven.by} sees it)` : ""}`);
      this.#advertised.emit();
    }
  }

  /**
   * The first address seen from outside that is proven ours, with the ports that answered there: the address our STUN
   * servers see, or one two peers of rank at different sources agree on, or one where our own dial-back finds us.
   */
  async #proven(outside: ReachAnswer[], ports: ReachPorts): Promise<ReachAnswer | null> {
    for (const seen of new Set(outside.map((a) => a.seen))) {
      const said = outside.filter((a) => a.seen === seen);
      const ranked = said.filter((a) => a.ranked);
      const agreed = new Set(ranked.map((a) => a.source ?? a.by)).size >= 2;
      if (seen === this.#stun || agreed) {
        const witnesses = agreed || ranked.length > 0 ? ranked : said;
        return { ...witnesses[0]!, http: witnesses.some((a) => a.http), ws: witnesses.some((a) => a.ws) };
      }
      // Our own dial goes to an address a peer named: only one of rank may have us try it, once a check.
      if (!ranked.some((a) => a.http || a.ws)) continue;
      const found = await this.init.verify?.(seen, ports).catch(() => null);
      if (found?.http) return { ...ranked[0]!, ...found };
    }
    return null;
  }
}
