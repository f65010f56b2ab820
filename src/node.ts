import { MAX_SENT_AT, MIN_SENT_AT } from "./domain/dates.ts";
import type { FileRef } from "./domain/files.ts";
import { isDisplayName } from "./domain/names.ts";
import { membershipTag, roomIdOf, type RoomRef } from "./domain/rooms.ts";
import { Presence } from "./rooms/presence.ts";
import { RoomFiles } from "./rooms/files.ts";
import type { Message, NewMessage, Received, Storage } from "./storage/index.ts";
import type { Tier } from "./domain/tiers.ts";
import type { AdvertisedAddresses } from "./sync/frames.ts";
import { Replicator, type PeerLinks } from "./sync/replicator.ts";
import { signMessage } from "./sync/signatures.ts";
import type { NodeAddress, PeerAddress } from "./transport/link.ts";
import type { LinkStatus, PeerEvent } from "./transport/links/index.ts";
import { Handlers } from "./util/handlers.ts";

/** How one other instance looks from here, as `/peers` and the page show it. */
export interface PeerStatus {
  node_id: string;
  name: string;
  tier: Tier | null;
  rtt_ms: number | null;
  state: "connecting" | "connected" | "disconnected";
  /** When `state` last changed (ms since the epoch). */
  since: number;
  /** When it was last seen (its last link closed then; ms since the epoch), if it is a known member. */
  last_seen: number | null;
  rooms: string[];
  /** Chunks of files this instance stored from the peer, and sent to it, since it started. */
  chunks_received: number;
  chunks_sent: number;
  /** The peer's last state changes, when asked for. */
  log?: readonly PeerEvent[];
}

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

/** The links to other instances, when this node replicates its rooms with them. */
export interface NodeNetwork {
  links: PeerLinks & { status(): LinkStatus[] };
  /** Where other instances reach this one. */
  addresses: () => AdvertisedAddresses;
  /** How often vectors are compared with every peer. @default 10000 */
  antiEntropyMs?: number;
  /** How long a linked instance may share no room with this one before it is unlinked. @default 5000 */
  unsharedGraceMs?: number;
  log?: (line: string) => void;
}

export interface NodeInit {
  storage: Storage;
  network?: NodeNetwork;
  /**
   * This instance's display name (`--name`): the author of posts that name none. Given, it is kept as the owner's
   * setting; absent, the setting (as last set in the page or by the flag) holds, else `defaultName`.
   */
  name?: string;
  /** Rooms this instance may join at most. @default 1000 */
  maxRooms?: number;
  /** Largest file stored or fetched here. @default 1 GiB */
  maxFileBytes?: number;
  /** Bytes free on the database's disk. @default Infinity */
  freeDiskBytes?: () => number;
}

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

/** A page's send names a nonce already used for a message of another room. */
export class NonceTakenError extends Error {
  override name = "NonceTakenError";
}

/** A display name refused (not 1-64 characters, or with control characters). */
export class DisplayNameError extends Error {
  override name = "DisplayNameError";
}

/** The display name of an instance nobody named: it tells nothing of the machine (not its host name). */
export const defaultName = (nodeId: string) => `E-Goat ${nodeId.slice(0, 4)}`;

/** A joined room: its name here, its key if private, and the id other instances know it by. */
export interface JoinedRoom extends RoomRef {
  id: string;
}

/** A room as the room list shows it: how much is unread, and its newest message. */
export interface RoomActivity {
  name: string;
  private: boolean;
  unread: number;
  latest: Message | null;
}

type MessageListener = (message: Message) => void;

/** One instance: where storage, sync and transport meet. The only place a message is stored and announced. */
export class Node {
  readonly id: string;
  #name: string;
  /** Members of the rooms, when each was last there, and when that changed. */
  readonly presence: Presence;
  /** The files of the rooms' messages. */
  readonly files: RoomFiles;
  readonly #storage: Storage;
  readonly #maxRooms: number;
  /** Joined rooms by name; `#names` finds one by the id other instances use. */
  readonly #rooms = new Map<string, JoinedRoom>();
  readonly #names = new Map<string, string>();
  readonly #nextSeq = new Map<string, number>();
  readonly #listeners = new Set<MessageListener>();
  readonly #roomsChanged = new Handlers<[]>();
  /** Per room, the stamp of the newest message its owner has seen. */
  readonly #read = new Map<string, number>();
  /** Rooms left here with their history kept, by name, with how far they were read: joined again, they take it up. */
  readonly #left = new Map<string, RoomRef & { read: number }>();
  readonly #held = new Handlers<[room: string]>();
  /** A room's news changed: a message stored, a room read, joined or left. */
  readonly #activity = new Handlers<[]>();
  readonly #network: NodeNetwork | undefined;
  readonly #replicator: Replicator | undefined;
  #stopPresence: () => void = () => {};

  constructor(init: NodeInit) {
    this.#storage = init.storage;
    this.id = init.storage.identity.nodeId;
    const kept = init.storage.settings.get("name");
    this.#name = init.name ?? (isDisplayName(kept) ? kept : defaultName(this.id));
    if (init.name !== undefined && init.name !== kept) init.storage.settings.set("name", init.name);
    this.presence = new Presence(init.storage.peers);
    this.#maxRooms = init.maxRooms ?? 1000;
    for (const room of init.storage.rooms.list()) {
      if (room.left_at !== null) {
        this.#left.set(room.name, { name: room.name, key: room.key, read: room.read_stamp });
        continue;
      }
      this.#remember(room);
      this.#read.set(room.name, room.read_stamp);
    }
    this.files = new RoomFiles({
      storage: init.storage,
      maxFileBytes: init.maxFileBytes ?? 1024 ** 3,
      freeDiskBytes: init.freeDiskBytes,
      roomName: (id) => this.#names.get(id),
      roomId: (name) => this.#rooms.get(name)?.id,
    });
    this.#network = init.network;
    if (init.network) {
      const storage = this.#storage;
      const node = this;
      this.#replicator = new Replicator({
        links: init.network.links,
        antiEntropyMs: init.network.antiEntropyMs,
        unsharedGraceMs: init.network.unsharedGraceMs,
        log: init.network.log,
        onFileProgress: (id, bytes) => this.files.progressed(id, bytes),
        onPeerHave: (id, nodeId, bytes) => this.files.peerHas(id, nodeId, bytes),
        onHeld: (id) => {
          const name = this.#names.get(id);
          if (name !== undefined) this.#held.emit(name);
        },
        // Other instances know rooms by id, never by name: names are translated here, at the edge.
        replica: {
          nodeId: this.id,
          // Read at each hello, so a name changed in the page reaches the members.
          get name() {
            return node.name;
          },
          addresses: init.network.addresses,
          rooms: () => [...this.#names.keys()],
          proofs: (peer) => [...this.#rooms.values()].map((room) => membershipTag(room, this.id, peer)),
          provenRooms: (peer, proofs) => {
            const given = new Set(proofs);
            const ours = [...this.#rooms.values()];
            const proven = ours.filter((room) => given.has(membershipTag(room, peer, this.id))).map((room) => room.id);
            this.presence.proved(peer, ours.map((room) => room.id), proven);
            return proven;
          },
          vector: (id) => storage.messages.vector(this.#names.get(id) ?? ""),
          digests: (id) => storage.messages.digests(this.#names.get(id) ?? ""),
          after: (origin, id, seq, limit) => {
            const name = this.#names.get(id);
            return name === undefined ? [] : storage.messages.after(origin, name, seq, limit).map((m) => ({ ...m, room: id }));
          },
          ingest: (m, from) => {
            const name = this.#names.get(m.room);
            return (name !== undefined && this.ingest({ ...m, room: name }, from)?.kind) || "ignored";
          },
          savePeer: (peer) => storage.peers.save({ ...peer, addresses: addressFields(peer.addresses), last_seen: Date.now() }),
          files: this.files.replica(),
        },
      });
    }
  }

  /** Starts replicating, and links to every known peer of the joined rooms. */
  startReplication(): void {
    if (!this.#replicator || !this.#network) return;
    this.#replicator.start();
    this.#stopPresence = this.#network.links.onChange((nodeId, tier) => this.presence.linkChanged(nodeId, tier));
    for (const peer of this.#storage.peers.known()) {
      // One that left every room of ours it was in is no member: not dialled.
      if (peer.rooms.length === 0 && peer.left.length > 0) continue;
      // An empty list (as after the upgrade to room ids) means not known: link and let the hello tell.
      // What it advertised when last linked: the user's `--peer`, resolved meanwhile, outranks it.
      // The first dials' outcome is not waited for: dials go on while the peer is wanted.
      this.#replicator.introduce({ ...peer.addresses, nodeId: peer.node_id }, peer.rooms.length > 0 ? peer.rooms : undefined, "advertised")?.catch(() => {});
    }
  }

  stopReplication(): void {
    this.#stopPresence();
    // Those linked until now were there until now: a restart shows them offline since this moment.
    this.presence.seenNow(this.#network?.links.status().filter((s) => s.state === "connected").map((s) => s.nodeId) ?? []);
    this.#replicator?.stop();
  }

  /** This instance's display name: the owner's setting (see `rename`). */
  get name(): string {
    return this.#name;
  }

  /** Sets the owner's display name, kept in chat.db; linked members hear it in a hello at once. */
  rename(name: string): void {
    if (!isDisplayName(name)) throw new DisplayNameError("a name is 1-64 characters without control characters");
    if (name === this.#name) return;
    this.#name = name;
    this.#storage.settings.set("name", name);
    this.#replicator?.addressesChanged(); // sends every linked peer a hello, which carries the name
    this.presence.touched();
  }

  /** Links to an instance learnt of outside the mesh (`--peer`, a LAN beacon); `roomIds` filters when known. */
  introduce(address: NodeAddress, roomIds?: string[]): Promise<unknown> | undefined {
    return this.#replicator?.introduce(address, roomIds);
  }

  /** Where this instance listens changed: linked peers hear its new addresses. */
  addressesChanged(): void {
    this.#replicator?.addressesChanged();
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
    this.#read.set(name, left?.read ?? 0);
    this.#replicator?.roomsChanged();
    this.#roomsChanged.emit();
    this.#activity.emit();
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
    const read = this.#read.get(name) ?? this.#left.get(name)?.read ?? 0;
    this.#names.delete(id);
    this.#nextSeq.delete(name);
    this.#read.delete(name);
    this.#left.delete(name);
    if (deleteHistory) {
      const lastSeq = this.#storage.messages.maxSeq(this.id, name);
      for (const file of this.#storage.messages.dropRoom(name)) this.files.discard(file);
      this.files.forgetRoom(name);
      this.#storage.rooms.forget(room, id, lastSeq);
    } else {
      this.#storage.rooms.leave(name);
      this.#left.set(name, { name: room.name, key: room.key, read });
    }
    if (joined) {
      this.#replicator?.roomsChanged();
      this.#roomsChanged.emit();
    }
    this.#activity.emit();
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

  /** Adds a handler called after every room joined; returns its removal. */
  onRoomsChanged(handler: () => void): () => void {
    return this.#roomsChanged.add(handler);
  }

  #remember(ref: RoomRef): JoinedRoom {
    const room = { ...ref, id: roomIdOf(ref) };
    this.#rooms.set(room.name, room);
    this.#names.set(room.id, room.name);
    return room;
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
    if (!this.#rooms.has(input.room)) {
      // A private room left here is joined again only when its owner asks; an open one, by sending to it (the contract).
      if (this.#left.get(input.room)?.key) throw new RoomLeftError(`You left #${input.room}: join it again to write there.`);
      this.join(input.room);
    }
    const seq = this.#nextSeq.get(input.room) ?? Math.max(this.#storage.messages.maxSeq(this.id, input.room), this.#storage.rooms.usedSeq(this.#rooms.get(input.room)!.id)) + 1;
    // Signed as it travels: with the room's id, which every member knows it by.
    const signed = {
      origin: this.id,
      room: this.#rooms.get(input.room)!.id,
      seq,
      peer_id: input.peer_id,
      text: input.text,
      sent_at: Math.min(Math.max(Date.now(), MIN_SENT_AT), MAX_SENT_AT), // a clock gone mad still writes what members accept
      ...(input.guest ? { guest: true as const } : {}),
      ...(input.files?.length ? { files: input.files } : {}),
    };
    const outgoing = { ...signed, ...signMessage(signed, this.#storage.identity) };
    const message = this.#storage.messages.insert({ ...outgoing, room: input.room }, input.nonce);
    // Our own (origin, room, seq) can only exist already if the database was changed under us.
    if (!message) throw new Error(`sequence ${seq} of room '${input.room}' is already taken`);
    if (input.guest && input.guestId !== undefined) this.#storage.guests.wrote(message.timestamp, input.room, input.guestId);
    this.#nextSeq.set(input.room, seq + 1);
    this.#emit(message);
    this.#replicator?.publish(outgoing);
    return message;
  }

  /**
   * Stores a message that `from` (a linked peer) sent, if its room is joined here (else null): see `Received`. A
   * message stored, or replacing one its author signed with the same sequence, is announced.
   */
  ingest(m: NewMessage, from: string): Received | null {
    if (!this.#rooms.has(m.room)) return null;
    const received = this.#storage.messages.receive(m, from);
    if (received.kind !== "new" && received.kind !== "won") return received;
    // Our own messages can come back from a peer (say, after restoring an old backup): never reuse their numbers.
    if (m.origin === this.id && m.seq >= (this.#nextSeq.get(m.room) ?? 0)) this.#nextSeq.set(m.room, m.seq + 1);
    // The files only the messages that went carried (an evicted author's, or the one replaced) go with them.
    for (const file of received.kind === "new" ? (received.evicted?.files ?? []) : received.files) this.files.discard(file, m.room);
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

  /** Notes that the owner has seen `room` up to the message stamped `stamp` (never backwards). */
  markRead(room: string, stamp: number): void {
    const read = this.#read.get(room);
    if (read === undefined || stamp <= read) return;
    this.#read.set(room, stamp);
    this.#storage.rooms.read(room, stamp);
    this.#activity.emit();
  }

  /** Calls `handler` whenever a room's news changes (a message stored, a room read, joined or left); returns its removal. */
  onActivity(handler: () => void): () => void {
    return this.#activity.add(handler);
  }

  /** Every joined room with what is unread there and its newest message: the most recently active first. */
  activity(): RoomActivity[] {
    const rooms = [...this.#rooms.values()].map((room) => ({
      name: room.name,
      private: room.key !== null,
      unread: this.#storage.messages.unread(room.name, this.#read.get(room.name) ?? 0, this.id),
      latest: this.#storage.messages.latest(room.name),
    }));
    return rooms.sort((a, b) => (b.latest?.timestamp ?? 0) - (a.latest?.timestamp ?? 0) || a.name.localeCompare(b.name));
  }

  /**
   * How far this instance's own messages in `room` have reached: every linked member holds those up to `seq`
   * (0 with no member linked), and how many members are linked.
   */
  delivered(room: string): { seq: number; members: number } {
    const id = this.#rooms.get(room)?.id;
    return id && this.#replicator ? this.#replicator.delivery(id, this.id) : { seq: 0, members: 0 };
  }

  /** Calls `handler` with a room's name whenever what its linked members hold may have changed; returns its removal. */
  onDelivery(handler: (room: string) => void): () => void {
    return this.#held.add(handler);
  }

  /**
   * Instances known to have joined `room` (linked now or not), as last heard of: when each was last there, and whether
   * it has left the room since (its hello no longer proves it).
   */
  knownMembers(room: string): { node_id: string; name: string; last_seen: number; left: boolean }[] {
    const id = this.#rooms.get(room)?.id;
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

  /** Messages of `room` whose text matches every word of `query` (the last one as a prefix), newest first. */
  search(room: string, query: string, limit = 50) {
    const words = query.match(/[\p{L}\p{N}_]+/gu) ?? [];
    if (words.length === 0) return [];
    // Each word quoted, so nothing the user types is FTS5 syntax; the last one matches as a prefix, as one types it.
    const match = words.slice(0, 16).map((w, i, all) => `"${w}"${i === all.length - 1 ? "*" : ""}`).join(" ");
    return this.#storage.messages.search(room, match, limit);
  }

  /** Other instances and how they are linked, with the rooms this instance shares with each (and their logs if `log`). */
  peers(options: { log?: boolean } = {}): PeerStatus[] {
    if (!this.#network) return [];
    const seen = new Map(this.#storage.peers.all().map((p) => [p.node_id, p.last_seen]));
    return this.#network.links.status().map((s) => {
      const info = this.#replicator?.peerInfo(s.nodeId);
      return {
        node_id: s.nodeId,
        name: info?.name ?? s.nodeId,
        tier: s.tier,
        rtt_ms: s.rttMs === null ? null : Math.round(s.rttMs * 100) / 100,
        state: s.state,
        since: s.since,
        last_seen: seen.get(s.nodeId) ?? null,
        rooms: info ? this.rooms().filter((r) => info.rooms.has(this.#rooms.get(r)!.id)) : [],
        ...chunkFields(this.#replicator?.chunkCounts(s.nodeId)),
        ...(options.log ? { log: s.log } : {}),
      };
    });
  }

  /** The joined rooms `nodeId` proved it holds in its last hello (none before one came). */
  provenBy(nodeId: string): JoinedRoom[] {
    const info = this.#replicator?.peerInfo(nodeId);
    return info ? [...this.#rooms.values()].filter((room) => info.rooms.has(room.id)) : [];
  }

  /** The display name of the instance with node id `nodeId`, when known here. */
  instanceName(nodeId: string): string | undefined {
    // A member not linked now goes by the name it had when last linked, as the members panel shows it.
    return nodeId === this.id ? this.name : (this.#replicator?.peerInfo(nodeId)?.name ?? this.#storage.peers.name(nodeId));
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
      this.#activity.emit();
    } catch (err) {
      console.error("activity handler failed:", err);
    }
  }
}

/** The string fields of an address, as stored for known peers. */
function addressFields(address: PeerAddress): Record<string, string> {
  return Object.fromEntries(Object.entries(address).filter((e): e is [string, string] => typeof e[1] === "string"));
}

function chunkFields(counts: { received: number; sent: number } = { received: 0, sent: 0 }) {
  return { chunks_received: counts.received, chunks_sent: counts.sent };
}
