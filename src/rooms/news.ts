import type { Message, Storage } from "../storage/index.ts";
import { Handlers } from "../util/handlers.ts";
import type { RoomRegistry } from "./rooms.ts";

/** A room as the room list shows it: how much is unread, and its newest message. */
export interface RoomActivity {
  name: string;
  private: boolean;
  unread: number;
  latest: Message | null;
}

/** What is new in each room for the owner: read marks, unread counts, and the rooms' activity. */
export class News {
  readonly #storage: Pick<Storage, "rooms" | "messages" | "identity">;
  readonly #rooms: RoomRegistry;
  /** Per room (joined, or left with its history kept), the stamp of the newest message its owner has seen. */
  readonly #read = new Map<string, number>();
  /** A room's news changed: a message stored, a room read, joined or left. */
  readonly #activity = new Handlers<[]>();

  constructor(init: { storage: Pick<Storage, "rooms" | "messages" | "identity">; rooms: RoomRegistry }) {
    this.#storage = init.storage;
    this.#rooms = init.rooms;
    for (const room of init.storage.rooms.list()) this.#read.set(room.name, room.read_stamp);
    // A room whose history is deleted is read from the start if joined again; one left with its history keeps its mark.
    init.rooms.onLeave((name, dropped) => {
      if (dropped) this.#read.delete(name);
    });
    init.rooms.onChange(() => this.#activity.emit());
  }

  /** Notes that the owner has seen `room` up to the message stamped `stamp` (never backwards). */
  markRead(room: string, stamp: number): void {
    if (!this.#rooms.room(room) || stamp <= (this.#read.get(room) ?? 0)) return;
    this.#read.set(room, stamp);
    this.#storage.rooms.read(room, stamp);
    this.#activity.emit();
  }

  /** Calls `handler` whenever a room's news changes (a message stored, a room read, joined or left); returns its removal. */
  onActivity(handler: () => void): () => void {
    return this.#activity.add(handler);
  }

  /** A message was stored: the rooms' news changed. */
  stored(): void {
    this.#activity.emit();
  }

  /** Every joined room with what is unread there and its newest message: the most recently active first. */
  activity(): RoomActivity[] {
    const rooms = this.#rooms.joinedRooms().map((room) => ({
      name: room.name,
      private: room.key !== null,
      unread: this.#storage.messages.unread(room.name, this.#read.get(room.name) ?? 0, this.#storage.identity.nodeId),
      latest: this.#storage.messages.latest(room.name),
    }));
    return rooms.sort((a, b) => (b.latest?.timestamp ?? 0) - (a.latest?.timestamp ?? 0) || a.name.localeCompare(b.name));
  }
}
