import type { Message, Storage } from "./storage/index.ts";
import type { Tier } from "./transport/types.ts";

/** How one other instance looks from here, as `/peers` and the page show it. */
export interface PeerStatus {
  node_id: string;
  name: string;
  tier: Tier | null;
  rtt_ms: number | null;
  state: "connecting" | "connected" | "disconnected";
  rooms: string[];
}

export interface PostInput {
  room: string;
  peer_id: string;
  text: string;
}

export interface NodeInit {
  storage: Storage;
  /** This instance's display name: the author of posts that name none. */
  name: string;
  /** Rooms this instance may join at most. @default 1000 */
  maxRooms?: number;
}

/** Joining would pass the room limit. */
export class RoomLimitError extends Error {
  override name = "RoomLimitError";
}

type MessageListener = (message: Message) => void;

/** One instance: where storage, sync and transport meet. The only place a message is stored and announced. */
export class Node {
  readonly id: string;
  readonly name: string;
  readonly #storage: Storage;
  readonly #maxRooms: number;
  readonly #rooms: Set<string>;
  readonly #nextSeq = new Map<string, number>();
  readonly #listeners = new Set<MessageListener>();

  constructor(init: NodeInit) {
    this.#storage = init.storage;
    this.id = init.storage.identity.nodeId;
    this.name = init.name;
    this.#maxRooms = init.maxRooms ?? 1000;
    this.#rooms = new Set(init.storage.rooms.list());
  }

  /** Joined rooms, by name. */
  rooms(): string[] {
    return [...this.#rooms].sort();
  }

  /** Joins a room (idempotent); throws RoomLimitError past the limit. */
  join(room: string): void {
    if (this.#rooms.has(room)) return;
    if (this.#rooms.size >= this.#maxRooms) throw new RoomLimitError(`this instance has joined the most rooms it allows (${this.#maxRooms})`);
    this.#storage.rooms.join(room);
    this.#rooms.add(room);
  }

  /** Stores a message authored here (joining its room), announces it, and returns it with its id and stamp. */
  post(input: PostInput): Message {
    this.join(input.room);
    const seq = this.#nextSeq.get(input.room) ?? this.#storage.messages.maxSeq(this.id, input.room) + 1;
    const message = this.#storage.messages.insert({
      origin: this.id,
      room: input.room,
      seq,
      peer_id: input.peer_id,
      text: input.text,
      sent_at: Date.now(),
    });
    // Our own (origin, room, seq) can only exist already if the database was changed under us.
    if (!message) throw new Error(`sequence ${seq} of room '${input.room}' is already taken`);
    this.#nextSeq.set(input.room, seq + 1);
    this.#emit(message);
    return message;
  }

  /** Messages of a room stamped after `since`, oldest first. */
  history(room: string, since = 0, limit = 1000): Message[] {
    return this.#storage.messages.since(room, since, limit);
  }

  /** The `limit` messages of a room just before stamp `before`, oldest first. */
  older(room: string, before: number, limit: number): Message[] {
    return this.#storage.messages.before(room, before, limit);
  }

  /** Like `history`, but when nothing is there yet waits up to `timeoutMs` for a message to arrive. */
  async waitForHistory(room: string, since: number, limit: number, timeoutMs: number, signal?: AbortSignal): Promise<Message[]> {
    const now = this.history(room, since, limit);
    if (now.length > 0 || timeoutMs <= 0) return now;
    const { promise, resolve } = Promise.withResolvers<void>();
    const unsubscribe = this.onMessage((m) => {
      if (m.room === room) resolve();
    });
    const timer = setTimeout(resolve, timeoutMs);
    signal?.addEventListener("abort", () => resolve(), { once: true });
    try {
      await promise;
    } finally {
      clearTimeout(timer);
      unsubscribe();
    }
    return this.history(room, since, limit);
  }

  /** Other instances and how they are linked; empty until the mesh exists. */
  peers(): PeerStatus[] {
    return [];
  }

  /** Calls `listener` with every message stored from now on; returns the function that stops it. */
  onMessage(listener: MessageListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(message: Message): void {
    for (const listener of this.#listeners) {
      try {
        listener(message);
      } catch (err) {
        console.error("message listener failed:", err);
      }
    }
  }
}
