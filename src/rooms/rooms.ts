import { membershipTag, roomIdOf, type RoomRef } from "../domain/rooms.ts";
import type { Storage } from "../storage/index.ts";
import { Handlers } from "../util/handlers.ts";

/** Joining would pass the room limit. */
export class RoomLimitError extends Error {
  override name = "RoomLimitError";
}

/** A room of that name is already joined here with another key (or open where a key was given, or the reverse). */
export class RoomConflictError extends Error {
  override name = "RoomConflictError";
}

/** A send to a private room left here: it is joined again only when the owner asks (the page offers it). */
export class RoomLeftError extends RoomConflictError {
  override name = "RoomLeftError";
}

/** A joined room: its name here, its key if private, and the id other instances know it by. */
export interface JoinedRoom extends RoomRef {
  id: string;
}

export interface RoomRegistryInit {
  storage: Pick<Storage, "rooms" | "messages" | "identity">;
  /** Rooms this instance may join at most. @default 1000 */
  maxRooms?: number;
}

/**
 * The rooms joined here and those left with their history kept. Rooms go by name here and by id between instances:
 * names are translated here, at the edge (`nameOf`, `room(name).id`), and membership proofs are made and checked here.
 */
export class RoomRegistry {
  readonly #storage: RoomRegistryInit["storage"];
  readonly #maxRooms: number;
  readonly #id: string;
  /** Joined rooms by name; `#names` finds one by the id other instances use. */
  readonly #rooms = new Map<string, JoinedRoom>();
  readonly #names = new Map<string, string>();
  /** Rooms left here with their history kept, by name: joined again, they take it up. */
  readonly #left = new Map<string, RoomRef>();
  readonly #roomsChanged = new Handlers<[]>();
  readonly #changed = new Handlers<[]>();
  readonly #leaving = new Handlers<[name: string, dropped: string[] | null]>();

  constructor(init: RoomRegistryInit) {
    this.#storage = init.storage;
    this.#id = init.storage.identity.nodeId;
    this.#maxRooms = init.maxRooms ?? 1000;
    for (const room of init.storage.rooms.list()) {
      if (room.left_at !== null) this.#left.set(room.name, { name: room.name, key: room.key });
      else this.#remember(room);
    }
  }

  /** Joined rooms, by name. */
  rooms(): string[] {
    return [...this.#rooms.keys()].sort();
  }

  /** A joined room by name. */
  room(name: string): JoinedRoom | undefined {
    return this.#rooms.get(name);
  }

  /** Every joined room, with its key and id. */
  joinedRooms(): JoinedRoom[] {
    return [...this.#rooms.values()];
  }

  /** The ids of the joined rooms. */
  ids(): string[] {
    return [...this.#names.keys()];
  }

  /** The name here of the joined room other instances know by `id`. */
  nameOf(id: string): string | undefined {
    return this.#names.get(id);
  }

  /**
   * Joins a room: open without a key, private with one (idempotent). Throws RoomConflictError when a room of that
   * name is joined here with another key, RoomLimitError past the limit.
   */
  join(name: string, key: string | null = null): JoinedRoom {
    const known = this.#rooms.get(name);
    if (known) {
      if (known.key === key) return known;
      throw new RoomConflictError(`${known.key ? "a private" : "an open"} room named '${name}' is already joined here`);
    }
    const left = this.#left.get(name);
    if (left && left.key !== key) {
      throw new RoomLeftError(`${left.key ? "a private" : "an open"} room named '${name}' was left here and its history kept; delete that history first`);
    }
    if (this.#rooms.size >= this.#maxRooms) throw new RoomLimitError(`this instance has joined the most rooms it allows (${this.#maxRooms})`);
    this.#storage.rooms.join({ name, key });
    this.#left.delete(name);
    const room = this.#remember({ name, key });
    this.#roomsChanged.emit();
    this.#changed.emit();
    return room;
  }

  /**
   * Leaves a joined room: nothing of it replicates any more, and its members unlink unless they share another. Its
   * history stays here (joined again, the room takes it up) unless `deleteHistory`, which also deletes a room left
   * before. False when no such room is here.
   */
  leave(name: string, { deleteHistory }: { deleteHistory: boolean }): boolean {
    const room = this.#rooms.get(name) ?? this.#left.get(name);
    if (!room) return false;
    const joined = this.#rooms.delete(name);
    const id = roomIdOf(room);
    this.#names.delete(id);
    this.#left.delete(name);
    if (deleteHistory) {
      const lastSeq = this.#storage.messages.maxSeq(this.#id, name);
      this.#leaving.emit(name, this.#storage.messages.dropRoom(name));
      this.#storage.rooms.forget(room, id, lastSeq);
    } else {
      this.#leaving.emit(name, null);
      this.#storage.rooms.leave(name);
      this.#left.set(name, { name: room.name, key: room.key });
    }
    if (joined) this.#roomsChanged.emit();
    this.#changed.emit();
    return true;
  }

  /** Joins again a room left here, with its key and history. */
  rejoin(name: string): JoinedRoom {
    const left = this.#left.get(name);
    if (!left) throw new RoomConflictError(`no room named '${name}' was left here`);
    return this.join(name, left.key);
  }

  /** Rooms left here whose history is kept, by name. */
  leftRooms(): string[] {
    return [...this.#left.keys()].sort();
  }

  /** A room left here with its history kept, by name. */
  leftRoom(name: string): RoomRef | undefined {
    const left = this.#left.get(name);
    return left && { name: left.name, key: left.key };
  }

  /** Whether a private room of this name was here and its history deleted (no room of the name joined since). */
  wasPrivate(name: string): boolean {
    return !this.#rooms.has(name) && !this.#left.has(name) && this.#storage.rooms.wasPrivate(name);
  }

  /** This instance's membership proofs for `peer`, one per joined room. */
  proofs(peer: string): string[] {
    return [...this.#rooms.values()].map((room) => membershipTag(room, this.#id, peer));
  }

  /** The ids of the joined rooms whose proof from `peer` is among `proofs`. */
  provenRooms(peer: string, proofs: string[]): string[] {
    const given = new Set(proofs);
    return [...this.#rooms.values()].filter((room) => given.has(membershipTag(room, peer, this.#id))).map((room) => room.id);
  }

  /** Adds a handler called after every room joined or left (the joined rooms changed); returns its removal. */
  onRoomsChanged(handler: () => void): () => void {
    return this.#roomsChanged.add(handler);
  }

  /** Adds a handler called after any join or leave, a room left before included, after `onRoomsChanged`'s. */
  onChange(handler: () => void): () => void {
    return this.#changed.add(handler);
  }

  /**
   * Adds a handler called as a room is left, with the files its deleted history carried (null when its history is
   * kept); returns its removal.
   */
  onLeave(handler: (name: string, dropped: string[] | null) => void): () => void {
    return this.#leaving.add(handler);
  }

  #remember(ref: RoomRef): JoinedRoom {
    const room = { ...ref, id: roomIdOf(ref) };
    this.#rooms.set(room.name, room);
    this.#names.set(room.id, room.name);
    return room;
  }
}
