import type { Tier } from "../domain/tiers.ts";
import type { Storage } from "../storage/index.ts";
import type { LinkStatus, PeerEvent } from "../transport/links/index.ts";
import type { People } from "./people.ts";
import type { JoinedRoom, RoomRegistry } from "./rooms.ts";

/** How one other instance looks from here, as `/peers` and the page show it. */
export interface PeerStatus {
  node_id: string;
  name: string;
  tier: Tier | null;
  rtt_ms: number | null;
  state: "connecting" | "connected" | "disconnected";
  /** When `state` last changed (ms since the epoch). */
  since: number;
  /** When it was last seen (its last link closed then; ms since the epoch), if it is a known member. */
  last_seen: number | null;
  rooms: string[];
  /** Chunks of files this instance stored from the peer, and sent to it, since it started. */
  chunks_received: number;
  chunks_sent: number;
  /** The peer's last state changes, when asked for. */
  log?: readonly PeerEvent[];
}

/** What sync tells of linked peers: the links, what each said of itself in its hello, and the chunks moved with it. */
export interface LinkedPeers {
  status(): LinkStatus[];
  peerInfo(nodeId: string): { name: string; rooms: ReadonlySet<string> } | undefined;
  chunkCounts(nodeId: string): { received: number; sent: number };
}

/** Other instances as they are linked now, with the rooms each proved it shares with this one. */
export class Peers {
  readonly #storage: Pick<Storage, "peers" | "identity">;
  readonly #rooms: RoomRegistry;
  readonly #people: People;
  readonly #linked: LinkedPeers | undefined;

  constructor(init: { storage: Pick<Storage, "peers" | "identity">; rooms: RoomRegistry; people: People; linked?: LinkedPeers }) {
    this.#storage = init.storage;
    this.#rooms = init.rooms;
    this.#people = init.people;
    this.#linked = init.linked;
  }

  /** Other instances and how they are linked, with the rooms this instance shares with each (and their logs if `log`). */
  peers(options: { log?: boolean } = {}): PeerStatus[] {
    const linked = this.#linked;
    if (!linked) return [];
    const seen = new Map(this.#storage.peers.all().map((p) => [p.node_id, p.last_seen]));
    return linked.status().map((s) => {
      const info = linked.peerInfo(s.nodeId);
      const chunks = linked.chunkCounts(s.nodeId);
      return {
        node_id: s.nodeId,
        name: info?.name ?? s.nodeId,
        tier: s.tier,
        rtt_ms: s.rttMs === null ? null : Math.round(s.rttMs * 100) / 100,
        state: s.state,
        since: s.since,
        last_seen: seen.get(s.nodeId) ?? null,
        rooms: info ? this.#rooms.rooms().filter((r) => info.rooms.has(this.#rooms.room(r)!.id)) : [],
        chunks_received: chunks.received,
        chunks_sent: chunks.sent,
        ...(options.log ? { log: s.log } : {}),
      };
    });
  }

  /** The joined rooms `nodeId` proved it holds in its last hello (none before one came). */
  provenBy(nodeId: string): JoinedRoom[] {
    const info = this.#linked?.peerInfo(nodeId);
    return info ? this.#rooms.joinedRooms().filter((room) => info.rooms.has(room.id)) : [];
  }

  /** The display name of the instance with node id `nodeId`, when known here. */
  instanceName(nodeId: string): string | undefined {
    // A member not linked now goes by the name it had when last linked, as the members panel shows it.
    if (nodeId === this.#storage.identity.nodeId) return this.#people.name;
    return this.#linked?.peerInfo(nodeId)?.name ?? this.#storage.peers.name(nodeId);
  }
}
