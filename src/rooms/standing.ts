/**
 * What storage and replication say of a peer, for its rank among the links (transport/links/standing.ts): a member
 * of a private room joined here (as its last hello proved), or an author of messages held here.
 */
import type { JoinedRoom } from "./rooms.ts";
import type { Vouched } from "../transport/links/standing.ts";

export function standingOf(
  node: { provenBy(nodeId: string): JoinedRoom[]; joinedRooms(): JoinedRoom[] },
  messages: { vector(room: string): Record<string, number> },
  nodeId: string,
): Vouched {
  if (node.provenBy(nodeId).some((room) => room.key !== null)) return "private";
  // Vectors are kept in memory per room: an origin is in one once a message of it is held.
  return node.joinedRooms().some((room) => nodeId in messages.vector(room.name)) ? "history" : null;
}
