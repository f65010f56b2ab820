import type { Database } from "bun:sqlite";
import { openDatabase } from "./db.ts";
import { FileStore } from "./files.ts";
import { loadIdentity, type Identity } from "./identity.ts";
import { MessageStore } from "./messages.ts";
import { PeerStore } from "./peers.ts";
import { RoomStore } from "./rooms.ts";

export { StorageError } from "./db.ts";
export type { Identity } from "./identity.ts";
export type { Message, NewMessage } from "./messages.ts";
export type { KnownPeer } from "./peers.ts";
export type { FileManifest } from "./files.ts";

/** Everything one instance keeps in its `--db` file. */
export interface Storage {
  db: Database;
  identity: Identity;
  messages: MessageStore;
  rooms: RoomStore;
  peers: PeerStore;
  files: FileStore;
  close(): void;
}

export function openStorage(path: string): Storage {
  const db = openDatabase(path);
  return {
    db,
    identity: loadIdentity(db),
    messages: new MessageStore(db),
    rooms: new RoomStore(db),
    peers: new PeerStore(db),
    files: new FileStore(db),
    close: () => db.close(),
  };
}
