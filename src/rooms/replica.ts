import type { Storage } from "../storage/index.ts";
import type { AdvertisedAddresses } from "../domain/urls.ts";
import type { MemberReplica } from "../sync/membership.ts";
import type { MessageReplica } from "../sync/messages.ts";
import type { PeerAddress } from "../transport/link.ts";
import type { Chat } from "./chat.ts";
import type { People } from "./people.ts";
import type { RoomRegistry } from "./rooms.ts";

export interface ReplicaInit {
  storage: Pick<Storage, "identity" | "messages" | "peers">;
  rooms: RoomRegistry;
  chat: Chat;
  people: People;
  /** Where other instances reach this one. */
  addresses: () => AdvertisedAddresses;
}

/**
 * The room model as sync sees it. Other instances know rooms by id, never by name: names are translated here, at the
 * edge. (The files' side is RoomFiles.replica.)
 */
export function replicaOf({ storage, rooms, chat, people, addresses }: ReplicaInit): MemberReplica & MessageReplica {
  const nodeId = storage.identity.nodeId;
  return {
    nodeId,
    // Read at each hello, so a name changed in the page reaches the members.
    get name() {
      return people.name;
    },
    addresses,
    rooms: () => rooms.ids(),
    proofs: (peer) => rooms.proofs(peer),
    provenRooms: (peer, proofs) => {
      const proven = rooms.provenRooms(peer, proofs);
      people.presence.proved(peer, rooms.ids(), proven);
      return proven;
    },
    vector: (id) => storage.messages.vector(rooms.nameOf(id) ?? ""),
    digests: (id) => storage.messages.digests(rooms.nameOf(id) ?? ""),
    after: (origin, id, seq, limit) => {
      const name = rooms.nameOf(id);
      return name === undefined ? [] : storage.messages.after(origin, name, seq, limit).map((m) => ({ ...m, room: id }));
    },
    holds: (m) => {
      const name = rooms.nameOf(m.room);
      return name !== undefined && storage.messages.holds({ ...m, room: name });
    },
    ingest: (m, from) => {
      const name = rooms.nameOf(m.room);
      return (name !== undefined && chat.ingest({ ...m, room: name }, from)?.kind) || "ignored";
    },
    savePeer: (peer) => storage.peers.save({ ...peer, addresses: addressFields(peer.addresses), last_seen: Date.now() }),
  };
}

/** The string fields of an address, as stored for known peers. */
function addressFields(address: PeerAddress): Record<string, string> {
  return Object.fromEntries(Object.entries(address).filter((e): e is [string, string] => typeof e[1] === "string"));
}
