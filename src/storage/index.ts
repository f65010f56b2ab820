import type { Database } from "bun:sqlite";
import { openDatabase } from "./db.ts";
import { chunkWriter, type ChunkWriter } from "./chunk-writer.ts";
import { FileStore } from "./files.ts";
import { loadIdentity, type Identity } from "./identity.ts";
import { MessageStore } from "./messages.ts";
import { GuestStore } from "./guests.ts";
import { MailboxMarks } from "./mailbox-marks.ts";
import { PersonStore } from "./person.ts";
import { PeerStore } from "./peers.ts";
import { RendezvousStore } from "./rendezvous.ts";
import { RoomStore } from "./rooms.ts";
import { SettingsStore } from "./settings.ts";

export { StorageError } from "./db.ts";
export type { Identity } from "./identity.ts";
export type { Message, NewMessage, Received } from "./message-rows.ts";
export type { KnownPeer } from "./peers.ts";
export type { FileManifest } from "./files.ts";

/** Everything one instance keeps in its `--db` file. */
export interface Storage {
  db: Database;
  identity: Identity;
  messages: MessageStore;
  rooms: RoomStore;
  /** Rendezvous that invite links joined here named. */
  rendezvous: RendezvousStore;
  peers: PeerStore;
  /** The owner's settings (the display name). */
  settings: SettingsStore;
  /** Which guest (browser) wrote which message here. */
  guests: GuestStore;
  /** This instance's place, per room, at each mailbox it uses. */
  mailboxMarks: MailboxMarks;
  /** The person this instance is a device of: its key brought back, its recovery phrase shown once. */
  person: PersonStore;
  files: FileStore;
  /** Stores chunks from peers beside the main thread. */
  chunks: ChunkWriter;
  /** Closes the database at once; the promise settles when the chunks put before are stored too. */
  close(): Promise<void>;
}

/** Opens the database at `path`; chunks from peers are stored through the worker script at `chunkWorker`, if given. */
export function openStorage(path: string, opts: { chunkWorker?: string } = {}): Storage {
  const db = openDatabase(path);
  const identity = loadIdentity(db);
  const files = new FileStore(db);
  const chunks = chunkWriter(path, files, opts.chunkWorker);
  return {
    db,
    identity,
    messages: new MessageStore(db, { self: identity.nodeId }),
    rooms: new RoomStore(db),
    rendezvous: new RendezvousStore(db),
    peers: new PeerStore(db),
    settings: new SettingsStore(db),
    guests: new GuestStore(db),
    mailboxMarks: new MailboxMarks(db),
    person: new PersonStore(db, identity),
    files,
    chunks,
    close: () => {
      db.close();
      return chunks.close();
    },
  };
}
