/** @jsxImportSource @kitajs/html */
import type { Node } from "../node.ts";
import { MembersPanel } from "../views/members.tsx";
import { PeersPanel } from "../views/peers.tsx";
import { membersPanelOf } from "./members.ts";

/** A panel drawn for one stream serves the others for this long, unless what it shows changed meanwhile. */
const KEEP_MS = 1000;

/**
 * The members panel of each room (as the owner and as guests see it) and the owner's panel of linked instances, as the
 * rooms' streams send them (`members`, `peers`): drawn once for all streams, and drawn again when presence changes
 * (a link, a hello, a join or leave) or a message comes (a new author), at most once a second otherwise.
 */
export class PresenceFeed {
  readonly #drawn = new Map<string, { at: number; html: string }>();

  constructor(private readonly node: Node) {
    node.presence.onChange(() => this.#drawn.clear());
    node.onMailboxChange(() => this.#drawn.clear());
    node.onMessage((m) => {
      this.#drawn.delete(`members\0${m.room}\0owner`);
      this.#drawn.delete(`members\0${m.room}\0guest`);
    });
  }

  #draw(key: string, render: () => string): string {
    const now = Date.now();
    const kept = this.#drawn.get(key);
    if (kept && now - kept.at < KEEP_MS) return kept.html;
    const html = render();
    this.#drawn.set(key, { at: now, html });
    return html;
  }

  /** The members panel of `room`, as the owner (with each one's connection) or a guest sees it. */
  members(room: string, owner: boolean): string {
    return this.#draw(`members\0${room}\0${owner ? "owner" : "guest"}`, () => String(<MembersPanel {...membersPanelOf(this.node, room, owner)} />));
  }

  /** The owner's panel of linked instances. */
  peers(): string {
    return this.#draw("peers", () => String(<PeersPanel peers={this.node.peers()} />));
  }
}
