/**
 * The rendezvous this instance uses (`--rendezvous`, and those an invite link names): it links to each like to a
 * `--peer`, and waits there at one topic per room, derived for that rendezvous (domain/rooms.ts `rendezvousTopic`), so
 * members of its rooms that use the same rendezvous are met even when neither can reach the other
 * (transport/protocols/meet.ts). The rendezvous then passes their sealed signaling on, and learns no room. A rendezvous
 * the owner gave (a flag) serves every joined room; one an invite named serves that invite's room only, and is kept
 * as that: an invite is someone else's word, and must not learn where to watch the members of every room meet.
 */
import { rendezvousTopic, roomIdOf, type RoomRef } from "../domain/rooms.ts";
import { watchPeerUrl } from "./peer-url.ts";
import type { NodeAddress } from "../transport/link.ts";
import type { AddressSource } from "../transport/links/address-book.ts";
import { describeDialFailure } from "../transport/errors.ts";

/** Rendezvous used at most: flags and invite links together. */
export const MAX_RENDEZVOUS = 16;

/** A rendezvous an invite named, and the room (by id) it serves. */
export interface ScopedRendezvous {
  url: string;
  room: string;
}

export interface RendezvousInit {
  links: {
    connect(address: NodeAddress, source: AddressSource, options: { allAtOnce: boolean }): Promise<unknown>;
    useRendezvous(nodeId: string, topics: readonly string[] | null): void;
    status(): { nodeId: string; state: string }[];
  };
  /** The joined rooms, whose topics this instance waits at. */
  rooms: () => RoomRef[];
  /** Where rendezvous that invite links named are kept across restarts, each with its room. @default nowhere */
  kept?: { add(rendezvous: ScopedRendezvous): void; list(): ScopedRendezvous[] };
  /** The rendezvous at `nodeId` serves rooms of ours now (its mailbox, if it keeps one, is read and filled). */
  serves?: (nodeId: string) => void;
  log: (line: string) => void;
  signal: AbortSignal;
}

/** One rendezvous in use: the node id answering at its URL once found, and the rooms it serves (all: a flag's). */
interface Used {
  nodeId: string | null;
  rooms: Set<string> | "all";
}

export class Rendezvous {
  readonly #used = new Map<string, Used>();

  constructor(private readonly init: RendezvousInit) {}

  /** Uses again the rendezvous kept from invite links joined before, each for its room. */
  addKept(): void {
    for (const { url, room } of this.init.kept?.list() ?? []) this.add(url, { room });
  }

  /** The rendezvous the owner gave (flags), for invite links; one an invite named is not passed on to others. */
  urls(): string[] {
    return [...this.#used].filter(([, used]) => used.rooms === "all").map(([url]) => url);
  }

  /**
   * Uses the instance at `url` as a rendezvous from now on: for every room (a flag), or for `room` (by id) only, as an
   * invite names it; `keep` remembers that across restarts.
   */
  add(url: string, { room, keep = false }: { room?: string; keep?: boolean } = {}): void {
    if (keep && room !== undefined) this.init.kept?.add({ url, room });
    const known = this.#used.get(url);
    if (known) {
      if (room === undefined) known.rooms = "all";
      else if (known.rooms !== "all") known.rooms.add(room);
      if (known.nodeId) this.#wait(known.nodeId);
      return;
    }
    if (this.#used.size >= MAX_RENDEZVOUS) return this.init.log(`rendezvous ${url}: not used; already using the most allowed (${MAX_RENDEZVOUS})`);
    const used: Used = { nodeId: null, rooms: room === undefined ? "all" : new Set([room]) };
    this.#used.set(url, used);
    const { links, log, signal } = this.init;
    watchPeerUrl(url, {
      signal,
      log,
      what: `rendezvous ${url}`,
      linked: (id) => links.status().some((s) => s.nodeId === id && s.state === "connected"),
      found: (address) => {
        const before = used.nodeId;
        used.nodeId = address.nodeId;
        if (before && before !== address.nodeId) this.#wait(before);
        this.#wait(address.nodeId);
        // Any tier carries signaling as well as the best: none waits for another.
        links.connect(address, "given", { allAtOnce: true }).catch((error: unknown) => {
          if (!signal.aborted) log(`rendezvous ${url}: ${describeDialFailure(error)}; still trying`);
        });
      },
    }).catch((error: unknown) => log(`rendezvous ${url}: stopped looking: ${describeDialFailure(error)}`));
  }

  /** The joined rooms changed: wait at their topics on every rendezvous that serves them. */
  roomsChanged(): void {
    for (const nodeId of new Set([...this.#used.values()].map((used) => used.nodeId))) if (nodeId) this.#wait(nodeId);
  }

  /** The rendezvous that serve the room (by id): the flags' and those its invite or its members named, each with its node id once found. */
  forRoom(roomId: string): { url: string; nodeId: string | null }[] {
    return [...this.#used].filter(([, used]) => used.rooms === "all" || used.rooms.has(roomId)).map(([url, used]) => ({ url, nodeId: used.nodeId }));
  }

  /** The joined rooms the rendezvous at `nodeId` serves (none: it is not one of ours): where we wait there, and what its mailbox keeps. */
  served(nodeId: string): RoomRef[] {
    const serves = [...this.#used.values()].filter((used) => used.nodeId === nodeId).map((used) => used.rooms);
    if (serves.length === 0) return [];
    return serves.includes("all") ? this.init.rooms() : this.init.rooms().filter((room) => serves.some((s) => s !== "all" && s.has(roomIdOf(room))));
  }

  /** Says where we wait at the rendezvous `nodeId`: the topics of the joined rooms it serves; none, it is not used. */
  #wait(nodeId: string): void {
    const rooms = this.served(nodeId);
    this.init.links.useRendezvous(nodeId, rooms.length > 0 ? rooms.map((room) => rendezvousTopic(room, nodeId)) : null);
    if (rooms.length > 0) this.init.serves?.(nodeId);
  }
}
