import { isDisplayName } from "../domain/names.ts";
import type { Storage } from "../storage/index.ts";
import { Handlers } from "../util/handlers.ts";
import { Presence } from "./presence.ts";
import type { RoomRegistry } from "./rooms.ts";

/** A display name refused (not 1-64 characters, or with control characters). */
export class DisplayNameError extends Error {
  override name = "DisplayNameError";
}

/** The display name of an instance nobody named: it tells nothing of the machine (not its host name). */
export const defaultName = (nodeId: string) => `E-Goat ${nodeId.slice(0, 4)}`;

export interface PeopleInit {
  storage: Pick<Storage, "identity" | "settings" | "peers" | "messages" | "guests">;
  rooms: RoomRegistry;
  /**
   * This instance's display name (`--name`): the author of posts that name none. Given, it is kept as the owner's
   * setting; absent, the setting (as last set in the page or by the flag) holds, else `defaultName`.
   */
  name?: string;
}

/** Who is in the rooms: this instance's own name, the members known here and their presence, and the authors. */
export class People {
  /** Members of the rooms, when each was last there, and when that changed. */
  readonly presence: Presence;
  readonly #storage: PeopleInit["storage"];
  readonly #rooms: RoomRegistry;
  readonly #renamed = new Handlers<[]>();
  #name: string;

  constructor(init: PeopleInit) {
    this.#storage = init.storage;
    this.#rooms = init.rooms;
    const kept = init.storage.settings.get("name");
    this.#name = init.name ?? (isDisplayName(kept) ? kept : defaultName(init.storage.identity.nodeId));
    if (init.name !== undefined && init.name !== kept) init.storage.settings.set("name", init.name);
    this.presence = new Presence(init.storage.peers);
  }

  /** This instance's display name: the owner's setting (see `rename`). */
  get name(): string {
    return this.#name;
  }

  /** Sets the owner's display name, kept in chat.db; linked members hear it in a hello at once (`onRenamed`). */
  rename(name: string): void {
    if (!isDisplayName(name)) throw new DisplayNameError("a name is 1-64 characters without control characters");
    if (name === this.#name) return;
    this.#name = name;
    this.#storage.settings.set("name", name);
    this.#renamed.emit();
    this.presence.touched();
  }

  /** Calls `handler` after every change of the owner's display name; returns its removal. */
  onRenamed(handler: () => void): () => void {
    return this.#renamed.add(handler);
  }

  /**
   * Instances known to have joined `room` (linked now or not), as last heard of: when each was last there, and whether
   * it has left the room since (its hello no longer proves it).
   */
  knownMembers(room: string): { node_id: string; name: string; last_seen: number; left: boolean }[] {
    const id = this.#rooms.room(room)?.id;
    if (!id) return [];
    return this.#storage.peers
      .known()
      .filter((p) => p.rooms.includes(id) || p.left.includes(id))
      .map(({ node_id, name, last_seen, rooms }) => ({ node_id, name, last_seen, left: !rooms.includes(id) }));
  }

  /** Whether the guest (browser) `guestId` wrote the message stamped `stamp` here. */
  isGuestAuthor(stamp: number, guestId: string): boolean {
    return this.#storage.guests.isAuthor(stamp, guestId);
  }

  /** Who wrote in `room` lately, the latest first. */
  authors(room: string, limit = 100) {
    return this.#storage.messages.authors(room, limit);
  }
}
