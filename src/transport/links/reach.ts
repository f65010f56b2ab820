/**
 * How this instance is reached from outside, asked of peers that see it from there: each is asked (`reach?`) to dial
 * back our HTTP and WebSocket ports at the address it sees us at, and says (`reach`) what address that is and which
 * ports answered. The one asked dials only the asker's own address as its link shows it, never one the asker names,
 * at most once a minute per asker, and checks that the asker's node id answers there.
 */
import { RateLimiter } from "../../rate-limit.ts";
import type { ControlMessage } from "./control.ts";

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
}

/** Dials `ip` at `ports` and says which answered as the instance `nodeId` (the network's own, src/network.ts). */
export type DialBack = (ip: string, ports: ReachPorts, nodeId: string) => Promise<{ http: boolean; ws: boolean }>;

/** How long an asker waits for answers; peers asked at most per check. */
export const REACH_WAIT_MS = 8000;
export const REACH_ASK_AT_MOST = 3;

export class Reach {
  /** Peers asked and not answered yet, with where their answer goes. */
  readonly #asked = new Map<string, (answer: ReachAnswer) => void>();
  /** Dial-backs asked of us: one a minute per peer (a burst of one). */
  readonly #dialBacks = new RateLimiter({ perSecond: 1 / 60, burst: 1 });

  constructor(private readonly init: { dialBack?: DialBack; send: (nodeId: string, message: ControlMessage) => boolean }) {}

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
    if (!dialBack || !ip || !this.#dialBacks.take(from)) return;
    void dialBack(ip, ports, from).then(
      (open) => reply({ t: "reach", seen: ip, ...open }),
      () => reply({ t: "reach", seen: ip, http: false, ws: false }),
    );
  }

  /** `from` answered; only an answer we asked for counts. */
  answered(from: string, message: { seen: string; http: boolean; ws: boolean }): void {
    this.#asked.get(from)?.({ by: from, seen: message.seen, http: message.http, ws: message.ws });
  }
}
