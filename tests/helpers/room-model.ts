import { roomIdOf } from "../../src/domain/rooms.ts";
import { openNode } from "../../src/open-node.ts";
import type { NewMessage } from "../../src/storage/index.ts";
import { openStorage, type Storage } from "../../src/storage/index.ts";
import { signMessage } from "../../src/sync/signatures.ts";

/** One instance's room model over an in-memory database, wired as the composition root wires it, without a network. */
export function roomModel(storage: Storage = openStorage(":memory:"), options: { maxRooms?: number } = {}) {
  return { storage, ...openNode({ storage, name: "owner", maxRooms: options.maxRooms }).parts };
}

/** A message of another instance (`author`'s identity) in the open room `room`, signed as that instance signs it. */
export function foreignMessage(author: Storage, room: string, seq: number, text = `message ${seq}`): NewMessage {
  const fields = { origin: author.identity.nodeId, room: roomIdOf({ name: room, key: null }), seq, peer_id: "other", text, sent_at: Date.now() };
  return { ...fields, ...signMessage(fields, author.identity), room };
}
