import type { RoomFiles } from "./rooms/files.ts";
import type { Person } from "./rooms/person.ts";
import type { Chat, PostInput } from "./rooms/chat.ts";
import type { News } from "./rooms/news.ts";
import type { People } from "./rooms/people.ts";
import type { Peers } from "./rooms/peers.ts";
import type { RoomRegistry } from "./rooms/rooms.ts";
import type { NodeAddress } from "./transport/link.ts";
import type { Message, NewMessage } from "./storage/index.ts";
import type { Mailboxes, RoomMailbox } from "./mailbox/member.ts";

/** Replication as the node drives it (built by open-node.ts from the sync channel and its handlers). */
export interface NodeSync {
  /** Starts replicating, and links to every known peer of the joined rooms. */
  start(): void;
  stop(): void;
  /** Links to an instance learnt of outside the mesh (`--peer`, a LAN beacon); `roomIds` filters when known. */
  introduce(address: NodeAddress, roomIds?: string[]): Promise<unknown> | undefined;
  /** Where this instance listens changed: linked peers hear its new addresses. */
  addressesChanged(): void;
  /** How far `origin`'s messages in the room `roomId` reached (see Messages.delivery). */
  delivery(roomId: string, origin: string): { seq: number; members: number };
  /** Calls `handler` with a room's id whenever what its linked members (or its mailboxes) hold may have changed. */
  onHeld(handler: (roomId: string) => void): () => void;
  /** The mailboxes this instance uses: what each last answered, how far they hold our messages. */
  mailboxes: Pick<Mailboxes, "serves" | "answer" | "boxed" | "of" | "keepIn" | "onChange">;
}

/** The parts of one instance's room model, and its replication when it has a network. */
export interface NodeParts {
  rooms: RoomRegistry;
  chat: Chat;
  news: News;
  people: People;
  peers: Peers;
  files: RoomFiles;
  /** The person this instance is a device of. */
  person: Person;
  sync?: NodeSync;
}

/**
 * One instance as the routes use it: a facade over the room model (rooms/: rooms, chat, news, people, peers, files)
 * and its replication; it holds no logic of its own.
 */
export class Node {
  readonly id: string;
  /** Members of the rooms, when each was last there, and when that changed. */
  readonly presence: People["presence"];
  /** The files of the rooms' messages. */
  readonly files: RoomFiles;
  /** The person this instance is a device of. */
  readonly person: Person;
  readonly parts: NodeParts;

  constructor(parts: NodeParts, id: string) {
    this.parts = parts;
    this.id = id;
    this.presence = parts.people.presence;
    this.files = parts.files;
    this.person = parts.person;
  }

  /** This instance's display name: the owner's setting (see `rename`). */
  get name(): string {
    return this.parts.people.name;
  }

  readonly rename = (name: string) => this.parts.people.rename(name);
  readonly startReplication = () => this.parts.sync?.start();
  readonly stopReplication = () => this.parts.sync?.stop();
  readonly introduce = (address: NodeAddress, roomIds?: string[]) => this.parts.sync?.introduce(address, roomIds);
  readonly addressesChanged = () => this.parts.sync?.addressesChanged();
  /** The rendezvous at `nodeId` serves rooms of ours: its mailbox is read and filled if it is linked. */
  readonly mailboxServes = (nodeId: string) => this.parts.sync?.mailboxes.serves(nodeId);
  /** What the mailbox at `nodeId` last answered; undefined when it never did. */
  readonly mailboxAnswer = (nodeId: string) => this.parts.sync?.mailboxes.answer(nodeId);

  /** The rendezvous of `room`, each with whether it is linked and keeps a mailbox. */
  mailboxesOf(room: string): RoomMailbox[] {
    const id = this.parts.rooms.room(room)?.id;
    return id && this.parts.sync ? this.parts.sync.mailboxes.of(id) : [];
  }

  /** Calls `handler` when the rooms' mailboxes, or what one answers, may have changed; returns its removal. */
  onMailboxChange(handler: () => void): () => void {
    return this.parts.sync?.mailboxes.onChange(handler) ?? (() => {});
  }

  /** Keeps `room` in the mailbox at `url` (an instance's base URL) from now on; false when the room is not joined here. */
  keepInMailbox(room: string, url: string): boolean {
    const id = this.parts.rooms.room(room)?.id;
    if (!id || !this.parts.sync) return false;
    this.parts.sync.mailboxes.keepIn(id, url);
    return true;
  }

  readonly rooms = () => this.parts.rooms.rooms();
  readonly room = (name: string) => this.parts.rooms.room(name);
  readonly joinedRooms = () => this.parts.rooms.joinedRooms();
  readonly join = (name: string, key: string | null = null) => this.parts.rooms.join(name, key);
  readonly leave = (name: string, options: { deleteHistory: boolean }) => this.parts.rooms.leave(name, options);
  readonly rejoin = (name: string) => this.parts.rooms.rejoin(name);
  readonly leftRooms = () => this.parts.rooms.leftRooms();
  readonly leftRoom = (name: string) => this.parts.rooms.leftRoom(name);
  readonly wasPrivate = (name: string) => this.parts.rooms.wasPrivate(name);
  readonly onRoomsChanged = (handler: () => void) => this.parts.rooms.onRoomsChanged(handler);

  readonly post = (input: PostInput) => this.parts.chat.post(input);
  readonly ingest = (m: NewMessage, from: string) => this.parts.chat.ingest(m, from);
  readonly history = (room: string, since?: number, limit?: number) => this.parts.chat.history(room, since, limit);
  readonly older = (room: string, before: number, limit: number) => this.parts.chat.older(room, before, limit);
  readonly waitForHistory = (room: string, since: number, limit: number, timeoutMs: number, signal?: AbortSignal) =>
    this.parts.chat.waitForHistory(room, since, limit, timeoutMs, signal);
  readonly search = (room: string, query: string, limit?: number) => this.parts.chat.search(room, query, limit);
  readonly onMessage = (listener: (message: Message) => void) => this.parts.chat.onMessage(listener);

  readonly markRead = (room: string, stamp: number) => this.parts.news.markRead(room, stamp);
  readonly onActivity = (handler: () => void) => this.parts.news.onActivity(handler);
  readonly activity = () => this.parts.news.activity();

  readonly knownMembers = (room: string) => this.parts.people.knownMembers(room);
  readonly isGuestAuthor = (stamp: number, guestId: string) => this.parts.people.isGuestAuthor(stamp, guestId);
  readonly authors = (room: string, limit?: number) => this.parts.people.authors(room, limit);
  readonly peers = (options?: { log?: boolean }) => this.parts.peers.peers(options);
  readonly provenBy = (nodeId: string) => this.parts.peers.provenBy(nodeId);
  readonly instanceName = (nodeId: string) => this.parts.peers.instanceName(nodeId);

  /**
   * How far this instance's own messages in `room` have reached: every linked member holds those up to `seq`
   * (0 with no member linked), how many members are linked, and a mailbox holds those up to `boxed`.
   */
  delivered(room: string): { seq: number; members: number; boxed: number } {
    const id = this.parts.rooms.room(room)?.id;
    const sync = this.parts.sync;
    return id && sync ? { ...sync.delivery(id, this.id), boxed: sync.mailboxes.boxed(id) } : { seq: 0, members: 0, boxed: 0 };
  }

  /** Calls `handler` with a room's name whenever what its linked members hold may have changed; returns its removal. */
  onDelivery(handler: (room: string) => void): () => void {
    return (
      this.parts.sync?.onHeld((id) => {
        const name = this.parts.rooms.nameOf(id);
        if (name !== undefined) handler(name);
      }) ?? (() => {})
    );
  }
}
