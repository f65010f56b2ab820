/**
 * The rendezvous this instance uses (`--rendezvous`, and those an invite link names): it links to each like to a
 * `--peer`, and waits there at one topic per joined room, derived for that rendezvous (domain/rooms.ts
 * `rendezvousTopic`), so members of its rooms that use the same rendezvous are met even when neither can reach the
 * other (transport/links/meeting.ts). The rendezvous then passes their sealed signaling on, and learns no room.
 */
import { rendezvousTopic, type RoomRef } from "./domain/rooms.ts";
import { watchPeerUrl } from "./sync/bootstrap.ts";
import type { NodeAddress } from "./transport/link.ts";
import type { AddressSource } from "./transport/links/addresses.ts";
import { describeDialFailure } from "./transport/errors.ts";

/** Rendezvous used at most: flags and invite links together. */
export const MAX_RENDEZVOUS = 16;

export interface RendezvousInit {
  links: {
    connect(address: NodeAddress, source: AddressSource, options: { allAtOnce: boolean }): Promise<unknown>;
    useRendezvous(nodeId: string, topics: readonly string[] | null): void;
    status(): { nodeId: string; state: string }[];
  };
  /** The joined rooms, whose topics this instance waits at. */
  rooms: () => RoomRef[];
  /** Where rendezvous that invite links named are kept across restarts. @default nowhere */
  kept?: { add(url: string): void; list(): string[] };
  log: (line: string) => void;
  signal: AbortSignal;
}

export class Rendezvous {
  /** URL → the node id answering there, once found. */
  readonly #used = new Map<string, string | null>();

  constructor(private readonly init: RendezvousInit) {}

  /** Uses again the rendezvous kept from invite links joined before. */
  addKept(): void {
    for (const url of this.init.kept?.list() ?? []) this.add(url);
  }

  /** The rendezvous URLs in use, for invite links. */
  urls(): string[] {
    return [...this.#used.keys()];
  }

  /** Uses the instance at `url` as a rendezvous from now on (once per URL); `keep` remembers it across restarts. */
  add(url: string, { keep = false } = {}): void {
    if (keep) this.init.kept?.add(url);
    if (this.#used.has(url)) return;
    if (this.#used.size >= MAX_RENDEZVOUS) return this.init.log(`rendezvous ${url}: not used; already using the most allowed (${MAX_RENDEZVOUS})`);
    this.#used.set(url, null);
    const { links, log, signal } = this.init;
    watchPeerUrl(url, {
      signal,
      log,
      what: `rendezvous ${url}`,
      linked: (id) => links.status().some((s) => s.nodeId === id && s.state === "connected"),
      found: (address) => {
        const before = this.#used.get(url);
        if (before) links.useRendezvous(before, null);
        this.#used.set(url, address.nodeId);
        links.useRendezvous(address.nodeId, this.#topics(address.nodeId));
        // Any tier carries signaling as well as the best: none waits for another.
        links.connect(address, "given", { allAtOnce: true }).catch((error: unknown) => {
          if (!signal.aborted) log(`rendezvous ${url}: ${describeDialFailure(error)}; still trying`);
        });
      },
    }).catch((error: unknown) => log(`rendezvous ${url}: stopped looking: ${describeDialFailure(error)}`));
  }

  /** The joined rooms changed: wait at their topics on every rendezvous. */
  roomsChanged(): void {
    for (const nodeId of this.#used.values()) if (nodeId) this.init.links.useRendezvous(nodeId, this.#topics(nodeId));
  }

  #topics(rendezvousNodeId: string): string[] {
    return this.init.rooms().map((room) => rendezvousTopic(room, rendezvousNodeId));
  }
}
