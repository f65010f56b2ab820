/**
 * How this instance is reached, as its peers see it (transport/links/reach.ts): checked a few seconds after a first
 * link comes up and every 10 minutes. The invite panel shows it; an address outside any private network whose HTTP
 * port answered from there is what this instance advertises to its peers from then on.
 */
import { isPrivateIp } from "./addresses.ts";
import type { AdvertisedAddresses } from "./sync/frames.ts";
import type { Tier } from "./domain/tiers.ts";
import type { ReachAnswer, ReachPorts } from "./transport/links/reach.ts";

const FIRST_CHECK_MS = 2000;
const CHECK_EVERY_MS = 10 * 60_000;

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
  ports: () => ReachPorts;
  /** The address this instance advertised changed. */
  onAdvertised: () => void;
  log: (line: string) => void;
}

export class Reachability {
  #state: ReachState | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #every: ReturnType<typeof setInterval> | null = null;
  #stop: (() => void) | null = null;

  constructor(private readonly init: ReachabilityInit) {}

  start(): void {
    this.#stop = this.init.links.onChange((_, tier, previous) => {
      if (tier && !previous && !this.#state && !this.#timer) this.#timer = setTimeout(() => void this.check(), FIRST_CHECK_MS);
    });
    this.#every = setInterval(() => void this.check(), CHECK_EVERY_MS);
  }

  stop(): void {
    this.#stop?.();
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
    const host = answer.seen.includes(":") ? `[${answer.seen}]` : answer.seen;
    const { http, ws } = this.init.ports();
    return { ...(answer.http ? { http: `http://${host}:${http}` } : {}), ...(answer.ws ? { ws: `ws://${host}:${ws}` } : {}) };
  }

  async check(): Promise<void> {
    this.#timer = null;
    const answers = await this.init.links.checkReach(this.init.ports());
    if (answers.length === 0) return;
    const before = JSON.stringify(this.advertised());
    const outside = answers.filter((a) => !isPrivateIp(a.seen));
    // From outside, one whose ports answered says the most; otherwise any.
    const answer = outside.find((a) => a.http) ?? outside[0] ?? answers.find((a) => a.http) ?? answers[0]!;
    this.#state = { checkedAt: Date.now(), answer, outside: outside.includes(answer) };
    const now = JSON.stringify(this.advertised());
    if (now !== before) {
      this.init.log(`reachable from outside at ${now === "{}" ? "no address" : now} (as ${answer.by} sees it)`);
      this.init.onAdvertised();
    }
  }
}
