import { randomBytes } from "node:crypto";
import { beaconTag, type RoomRef } from "../domain/rooms.ts";
import { RateLimiter } from "../util/rate-limit.ts";
import { sourceKey } from "../util/ip.ts";
import type { AdvertisedAddresses } from "../domain/urls.ts";
import type { BeaconInfo } from "../transport/lan/index.ts";
import type { NodeAddress } from "../transport/link.ts";

/** What discovery needs of the instance: its rooms (with their keys), and a way to link to an instance it heard of. */
export interface DiscoveredBy {
  joinedRooms(): RoomRef[];
  introduce(address: NodeAddress): void;
}

/**
 * What one beacon sender (an IPv4 address, or an IPv6 /64) may have this instance dial: new instances introduced, at
 * once and then a minute (a beacon names addresses, any the sender likes); an instance introduced is not introduced
 * again within a minute (it is being dialled already).
 */
const INTRODUCED = { burst: 16, perMinute: 16, againAfterMs: 60_000, remembered: 1024 };

/**
 * LAN discovery: this instance's beacons name it, where it listens and its rooms (as tags that vouch for the rest);
 * a beacon from an instance that shares a room introduces it. The LAN tier exists before the instance does, so the instance is handed in by
 * `serve`; until then beacons carry no rooms and heard beacons are ignored.
 */
export class LanDiscovery {
  #node: DiscoveredBy | null = null;
  readonly #budget = new RateLimiter({ perSecond: INTRODUCED.perMinute / 60, burst: INTRODUCED.burst });
  /** Instances introduced lately, with when, oldest first. */
  readonly #introduced = new Map<string, number>();

  constructor(
    private readonly nodeId: string,
    private readonly addresses: () => AdvertisedAddresses,
  ) {}

  serve(node: DiscoveredBy): void {
    this.#node = node;
  }

  /** What this instance's next beacon says. */
  beacon(): BeaconInfo {
    const claims = { salt: randomBytes(16).toString("base64url"), nodeId: this.nodeId, ...this.addresses() };
    return { ...claims, rooms: (this.#node?.joinedRooms() ?? []).map((room) => beaconTag(room, claims)) };
  }

  /** Another instance's beacon, and where it came from. */
  heard(info: BeaconInfo & { from: string }): void {
    const node = this.#node;
    if (!node) return;
    const { salt, rooms } = info;
    if (!salt || !rooms) return;
    // The tags cover the node id and addresses too: a beacon copied with other ones proves no room.
    const claims = { salt, nodeId: info.nodeId, http: info.http, ws: info.ws };
    const mine = new Set(node.joinedRooms().map((room) => beaconTag(room, claims)));
    if (!rooms.some((r) => mine.has(r))) return;
    const last = this.#introduced.get(info.nodeId);
    if (last !== undefined && Date.now() - last < INTRODUCED.againAfterMs) return;
    if (!this.#budget.take(sourceKey(info.from.replace(/:\d+$/, "").replace(/^\[|\]$/g, "")))) return;
    this.#introduced.delete(info.nodeId);
    this.#introduced.set(info.nodeId, Date.now());
    if (this.#introduced.size > INTRODUCED.remembered) this.#introduced.delete(this.#introduced.keys().next().value!);
    node.introduce({ nodeId: info.nodeId, lan: info.from, ...(info.http ? { http: info.http } : {}), ...(info.ws ? { ws: info.ws } : {}) });
  }
}
