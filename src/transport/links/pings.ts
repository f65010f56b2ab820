import { sendControl } from "./control.ts";
import type { Peer, PeerLink } from "./peer.ts";

/** The pings on every link (health.ts keeps what each tells): numbered, and a link silent for `deadAfterMs` is lost. */
export class Pings {
  #nonce = 0;

  constructor(private readonly init: { deadAfterMs: number; lost: (peer: Peer, entry: PeerLink, reason: string) => void }) {}

  /** Pings one link now; one that cannot take it closes. */
  ping(entry: PeerLink): void {
    const n = ++this.#nonce;
    entry.health.pinged(n);
    if (!sendControl(entry, { t: "ping", n })) entry.link.close("ping failed");
  }

  /** Pings every link of `peers`, and gives up those silent too long. */
  round(peers: Iterable<Peer>): void {
    for (const peer of peers) {
      for (const entry of peer.links()) {
        if (entry.health.expire(this.init.deadAfterMs)) this.init.lost(peer, entry, `silent for ${entry.health.silentMs()} ms`);
        else this.ping(entry);
      }
    }
  }
}
