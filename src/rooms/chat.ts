import { MAX_SENT_AT, MIN_SENT_AT } from "../domain/dates.ts";
import type { FileRef } from "../domain/files.ts";
import type { Message, NewMessage, Received, Storage } from "../storage/index.ts";
import type { WireMessage } from "../sync/frames.ts";
import { signMessage } from "../sync/signatures.ts";
import { Handlers } from "../util/handlers.ts";
import type { RoomFiles } from "./files.ts";
import type { News } from "./news.ts";
import { RoomLeftError, type RoomRegistry } from "./rooms.ts";

export interface PostInput {
  room: string;
  peer_id: string;
  text: string;
  /** Written by a guest (a client on another machine), not the owner. */
  guest?: boolean;
  /** Files stored here already (RoomFiles.upload) that the message carries. */
  files?: FileRef[];
  /** The page's name for this send: a retry with the same nonce answers the message stored then (see `post`). */
  nonce?: string;
  /** The guest (a browser, by the random id its cookie holds) who wrote it: their own messages are told by it. */
  guestId?: string;
}

/** A page's send names a nonce already used for a message of another room. */
export class NonceTakenError extends Error {
  override name = "NonceTakenError";
}

type MessageListener = (message: Message) => void;

export interface ChatInit {
  storage: Pick<Storage, "messages" | "rooms" | "identity" | "guests">;
  rooms: RoomRegistry;
  files: RoomFiles;
  news: News;
}

/** The rooms' messages: the only place a message is stored and announced, posted here or come from a peer. */
export class Chat {
  readonly #storage: ChatInit["storage"];
  readonly #rooms: RoomRegistry;
  readonly #files: RoomFiles;
  readonly #news: News;
  readonly #id: string;
  readonly #nextSeq = new Map<string, number>();
  readonly #listeners = new Set<MessageListener>();
  readonly #posted = new Handlers<[message: WireMessage]>();

  constructor(init: ChatInit) {
    this.#storage = init.storage;
    this.#rooms = init.rooms;
    this.#files = init.files;
    this.#news = init.news;
    this.#id = init.storage.identity.nodeId;
    init.rooms.onLeave((name) => this.#nextSeq.delete(name));
  }

  /**
   * Stores a message authored here, announces it, and returns it with its id and stamp. Posting to an unknown room joins
   * it as an open room. A send that names a nonce already used for this room (the page retrying) answers the message
   * stored then and posts nothing.
   */
  post(input: PostInput): Message {
    if (input.nonce !== undefined) {
      const sent = this.#storage.messages.sentWith(input.nonce);
      if (sent?.room === input.room) return sent;
      if (sent) throw new NonceTakenError("this send's nonce was already used for a message of another room; reload the page and send again");
    }
    if (!this.#rooms.room(input.room)) {
      // A private room left here is joined again only when its owner asks; an open one, by sending to it (the contract).
      if (this.#rooms.leftRoom(input.room)?.key) throw new RoomLeftError(`You left #${input.room}: join it again to write there.`);
      this.#rooms.join(input.room);
    }
    const roomId = this.#rooms.room(input.room)!.id;
    const seq = this.#nextSeq.get(input.room) ?? Math.max(this.#storage.messages.maxSeq(this.#id, input.room), this.#storage.rooms.usedSeq(roomId)) + 1;
    // Signed as it travels: with the room's id, which every member knows it by, and this device's person.
    const { cert } = this.#storage.identity;
    const signed = {
      origin: this.#id,
      room: roomId,
      seq,
      peer_id: input.peer_id,
      text: input.text,
      sent_at: Math.min(Math.max(Date.now(), MIN_SENT_AT), MAX_SENT_AT), // a clock gone mad still writes what members accept
      ...(input.guest ? { guest: true as const } : {}),
      ...(input.files?.length ? { files: input.files } : {}),
      person: { key: cert.person, at: cert.at, sig: cert.sig },
    };
    const outgoing = { ...signed, ...signMessage(signed, this.#storage.identity) };
    const message = this.#storage.messages.insert({ ...outgoing, room: input.room }, input.nonce);
    // Our own (origin, room, seq) can only exist already if the database was changed under us.
    if (!message) throw new Error(`sequence ${seq} of room '${input.room}' is already taken`);
    if (input.guest && input.guestId !== undefined) this.#storage.guests.wrote(message.timestamp, input.room, input.guestId);
    this.#nextSeq.set(input.room, seq + 1);
    this.#emit(message);
    this.#posted.emit(outgoing);
    return message;
  }

  /** Calls `handler` with every message posted here, as it travels (signed, with its room's id); returns its removal. */
  onPosted(handler: (message: WireMessage) => void): () => void {
    return this.#posted.add(handler);
  }

  /**
   * Stores a message that `from` (a linked peer) sent, if its room is joined here (else null): see `Received`. A
   * message stored, or replacing one its author signed with the same sequence, is announced.
   */
  ingest(m: NewMessage, from: string): Received | null {
    if (!this.#rooms.room(m.room)) return null;
    const received = this.#storage.messages.receive(m, from);
    if (received.kind !== "new" && received.kind !== "won") return received;
    // Our own messages can come back from a peer (say, after restoring an old backup): never reuse their numbers.
    if (m.origin === this.#id && m.seq >= (this.#nextSeq.get(m.room) ?? 0)) this.#nextSeq.set(m.room, m.seq + 1);
    // The files only the messages that went carried (an evicted author's, or the one replaced) go with them.
    for (const file of received.kind === "new" ? (received.evicted?.files ?? []) : received.files) this.#files.discard(file, m.room);
    this.#emit(received.message);
    return received;
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
    if (now.length > 0 || timeoutMs <= 0 || signal?.aborted) return now;
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

  /** Messages of `room` whose text matches every word of `query` (the last one as a prefix), newest first. */
  search(room: string, query: string, limit = 50) {
    const words = query.match(/[\p{L}\p{N}_]+/gu) ?? [];
    if (words.length === 0) return [];
    // Each word quoted, so nothing the user types is FTS5 syntax; the last one matches as a prefix, as one types it.
    const match = words.slice(0, 16).map((w, i, all) => `"${w}"${i === all.length - 1 ? "*" : ""}`).join(" ");
    return this.#storage.messages.search(room, match, limit);
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
    try {
      this.#news.stored();
    } catch (err) {
      console.error("activity handler failed:", err);
    }
  }
}
