/**
 * How this instance is reached from outside, asked of peers that see it from there: each is asked (`reach?`) to dial
 * back our HTTP and WebSocket ports at the address it sees us at, and says (`reach`) what address that is and which
 * ports answered. The one asked dials only the asker's own address as its link shows it, never one the asker names,
 * at most once a minute per asker, and checks that the asker's node id answers there. Asked again sooner from the same
 * address (an instance that restarted), it says what it found last time.
 */
import { RateLimiter } from "../../util/rate-limit.ts";
import type { ControlMessage } from "../links/control.ts";
import type { Inbound, LinkContext, LinkProtocol } from "../links/protocol.ts";
import { RANKS } from "../links/standing.ts";

export interface ReachPorts {
  http: number;
  ws: number;
}

/** One peer's answer: the address it sees us at, and whether each of our ports answered it there. */
export interface ReachAnswer {
  by: string;
  seen: string;
  http: boolean;
  ws: boolean;
  /** Where the answering peer's link comes from (links/sources.ts): two answers agree only from two sources. */
  source?: string;
  /** Whether the answering peer ranks above fresh (links/standing.ts): a stranger's word counts for nothing. */
  ranked?: boolean;
}

/** Dials `ip` at `ports` and says which answered as the instance `nodeId` (the network's own, src/network.ts). */
export type DialBack = (ip: string, ports: ReachPorts, nodeId: string) => Promise<{ http: boolean; ws: boolean }>;

/** How long a dial-back's finding is told again to the same asker at the same address; askers remembered at most. */
const REMEMBER_MS = 10 * 60_000;
const REMEMBER_AT_MOST = 256;

/** How long an asker waits for answers; peers asked at most per check. */
export const REACH_WAIT_MS = 8000;
export const REACH_ASK_AT_MOST = 3;

/** Dial-backs asked of peers, and done for them; the wire is the caller's. */
export class Reach {
  /** Peers asked and not answered yet, with where their answer goes. */
  readonly #asked = new Map<string, (answer: ReachAnswer) => void>();
  /** Dial-backs asked of us: one a minute per peer (a burst of one). */
  readonly #dialBacks = new RateLimiter({ perSecond: 1 / 60, burst: 1 });
  /** The last dial-back's finding per asker, oldest first. */
  readonly #found = new Map<string, { ip: string; ports: ReachPorts; open: { http: boolean; ws: boolean }; at: number }>();

  constructor(
    private readonly init: {
      dialBack?: DialBack;
      send: (nodeId: string, message: ControlMessage) => boolean;
      /** What is known of an answering peer, kept with its answer. */
      about?: (nodeId: string) => Pick<ReachAnswer, "source" | "ranked">;
    },
  ) {}

  /** Asks `peers` to dial us back at `ports`; resolves with the answers that came within REACH_WAIT_MS. */
  async ask(peers: string[], ports: ReachPorts): Promise<ReachAnswer[]> {
    const answers: ReachAnswer[] = [];
    const waits = peers.slice(0, REACH_ASK_AT_MOST).map((peer) => {
      const { promise, resolve } = Promise.withResolvers<void>();
      if (this.#asked.has(peer) || !this.init.send(peer, { t: "reach?", http: ports.http, ws: ports.ws })) return Promise.resolve();
      this.#asked.set(peer, (answer) => {
        answers.push(answer);
        resolve();
      });
      const timer = setTimeout(resolve, REACH_WAIT_MS);
      return promise.finally(() => {
        clearTimeout(timer);
        this.#asked.delete(peer);
      });
    });
    await Promise.all(waits);
    return answers;
  }

  /** `from` asks to be dialled back; `ip` is where its link comes from. */
  asked(from: string, ip: string | undefined, ports: ReachPorts, reply: (message: ControlMessage) => void): void {
    const { dialBack } = this.init;
    if (!dialBack || !ip) return;
    if (!this.#dialBacks.take(from)) {
      const last = this.#found.get(from);
      const same = last && last.ip === ip && last.ports.http === ports.http && last.ports.ws === ports.ws;
      if (same && Date.now() - last.at < REMEMBER_MS) reply({ t: "reach", seen: ip, ...last.open });
      return;
    }
    dialBack(ip, ports, from)
      .catch(() => ({ http: false, ws: false }))
      .then((open) => {
        this.#remember(from, { ip, ports, open, at: Date.now() });
        reply({ t: "reach", seen: ip, ...open });
      })
      .catch(() => {}); // the link to tell it on closed meanwhile
  }

  #remember(from: string, found: { ip: string; ports: ReachPorts; open: { http: boolean; ws: boolean }; at: number }): void {
    this.#found.delete(from);
    this.#found.set(from, found);
    if (this.#found.size > REMEMBER_AT_MOST) this.#found.delete(this.#found.keys().next().value!);
  }

  /** `from` answered; only an answer we asked for counts. */
  answered(from: string, message: { seen: string; http: boolean; ws: boolean }): void {
    this.#asked.get(from)?.({ by: from, seen: message.seen, http: message.http, ws: message.ws, ...this.init.about?.(from) });
  }
}

/** The protocol: `reach?` and `reach` over the links, asked of the peers of highest rank first. */
export class ReachProtocol implements LinkProtocol<"reach?" | "reach"> {
  readonly kinds = ["reach?", "reach"] as const;
  readonly #reach: Reach;

  constructor(
    private readonly ctx: LinkContext,
    dialBack?: DialBack,
  ) {
    this.#reach = new Reach({
      dialBack,
      send: (nodeId, message) => {
        const direct = ctx.peers.direct(nodeId);
        return !!direct && ctx.control(direct, message);
      },
      about: (nodeId) => ({ source: ctx.peers.get(nodeId)?.source, ranked: ctx.peers.ranks.ranked(nodeId) }),
    });
  }

  /** Asks linked peers (our rendezvous first) to dial this instance back at `ports`; resolves with their answers. */
  checkReach(ports: ReachPorts): Promise<ReachAnswer[]> {
    // Those of the highest rank first (ours and the named, then members, authors): a stranger's word counts for nothing.
    const direct = [...this.ctx.peers.values()].filter((p) => this.ctx.peers.direct(p.nodeId));
    const order = (nodeId: string) => -RANKS.indexOf(this.ctx.peers.ranks.of(nodeId));
    return this.#reach.ask(direct.map((p) => p.nodeId).sort((x, y) => order(x) - order(y)), ports);
  }

  receive(message: Extract<ControlMessage, { t: "reach?" | "reach" }>, { peer, via }: Inbound): void {
    if (message.t === "reach") return this.#reach.answered(peer.nodeId, message);
    this.#reach.asked(peer.nodeId, via.link.remoteIp, { http: message.http, ws: message.ws }, (answer) => void this.ctx.control(via, answer));
  }
}
