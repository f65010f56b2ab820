import { createHash } from "node:crypto";
import type { AdvertisedAddresses } from "./sync/frames.ts";
import type { BeaconInfo } from "./transport/lan/index.ts";
import type { NodeAddress } from "./transport/link.ts";

/** Room ids as LAN beacons carry them: short hashes. */
export function beaconRoom(roomId: string): string {
  return createHash("sha256").update(`e-goat room ${roomId}`).digest("hex").slice(0, 16);
}

/** What discovery needs of the instance: the ids of its rooms, and a way to link to an instance it heard of. */
export interface DiscoveredBy {
  roomIds(): string[];
  introduce(address: NodeAddress): void;
}

/**
 * LAN discovery: this instance's beacons name it, where it listens and its rooms (hashed); a beacon from an instance
 * that shares a room introduces it. The LAN tier exists before the instance does, so the instance is handed in by
 * `serve`; until then beacons carry no rooms and heard beacons are ignored.
 */
export class LanDiscovery {
  #node: DiscoveredBy | null = null;

  constructor(
    private readonly nodeId: string,
    private readonly addresses: () => AdvertisedAddresses,
  ) {}

  serve(node: DiscoveredBy): void {
    this.#node = node;
  }

  /** What this instance's next beacon says. */
  beacon(): BeaconInfo {
    return { nodeId: this.nodeId, rooms: (this.#node?.roomIds() ?? []).map(beaconRoom), ...this.addresses() };
  }

  /** Another instance's beacon, and where it came from. */
  heard(info: BeaconInfo & { from: string }): void {
    const node = this.#node;
    if (!node) return;
    const mine = new Set(node.roomIds().map(beaconRoom));
    if (!info.rooms?.some((r) => mine.has(r))) return;
    node.introduce({ nodeId: info.nodeId, lan: info.from, ...(info.http ? { http: info.http } : {}), ...(info.ws ? { ws: info.ws } : {}) });
  }
}
