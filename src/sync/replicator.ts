import type { Tier } from "../domain/tiers.ts";
import type { NodeAddress, PeerAddress } from "../transport/link.ts";
import { decodeFrame, encodeFrame, FrameError } from "./codec.ts";
import { FileSync, type FileReplica } from "./file-sync.ts";
import { memoryValve } from "../util/memory.ts";
import { NewAuthors } from "./new-authors.ts";
import { signatureProblem } from "./signatures.ts";
import { diverging, Reconciliations } from "./reconcile.ts";
import { SendGate } from "./send-gate.ts";
import { SentMarks } from "./sent-marks.ts";
import {
  LIMITS,
  type AdvertisedAddresses,
  type Frame,
  type HelloFrame,
  type PeersFrame,
  type VectorDigests,
  type VectorFrame,
  type VersionVector,
  type WireMessage,
} from "./frames.ts";

/** Where an address came from: the user or what was seen (`--peer`, an invite, a LAN beacon), or the peer itself. */
const sameAddresses = (a: AdvertisedAddresses, b: AdvertisedAddresses) => a.http === b.http && a.ws === b.ws;

type AddressOrigin = "given" | "advertised";

/** What replication needs of the links to other instances (the link manager provides it). */
export interface PeerLinks {
  /**
   * Links to the instance and keeps doing so; the outcome of the first dials is not replication's business. `given`:
   * the address came from the user or was seen (`--peer`, an invite, a LAN beacon), and outranks what a peer
   * advertises of itself.
   */
  connect(address: NodeAddress, source?: AddressOrigin, options?: { by?: string }): Promise<unknown>;
  send(nodeId: string, data: Uint8Array): boolean;
  /** Bytes waiting to leave on the peer's primary link; null when it has none. */
  buffered(nodeId: string): number | null;
  onData(handler: (nodeId: string, data: Uint8Array, tier: Tier) => void): () => void;
  onChange(handler: (nodeId: string, tier: Tier | null, previous: Tier | null) => void): () => void;
  closeLink(nodeId: string, tier: Tier, reason: string): void;
  /** Says whether the peer proved a room we share (a member keeps its place among the peers). */
  vouch(nodeId: string, member: boolean): void;
  /** Unlinks a peer and stops dialling it. */
  forget(nodeId: string, reason: string): void;
  /** Whether the peer's link serves more than replication (a rendezvous, either way): kept though it shares no room. */
  keeps?(nodeId: string): boolean;
}

/** What replication needs of this instance: its rooms and messages. */
export interface Replica {
  readonly nodeId: string;
  readonly name: string;
  addresses(): AdvertisedAddresses;
  /** The ids of the rooms joined here. */
  rooms(): string[];
  /** This instance's membership proofs for `peer`, one per room joined here. */
  proofs(peer: string): string[];
  /** The ids of the rooms joined here whose proof from `peer` is among `proofs`. */
  provenRooms(peer: string, proofs: string[]): string[];
  vector(room: string): Record<string, number>;
  /** Per origin held from its first message, the digest of what is held of it up to its sequence in `vector`. */
  digests(room: string): Record<string, string>;
  after(origin: string, room: string, seq: number, limit: number): WireMessage[];
  /**
   * Stores a message `from` (a linked peer) sent: `new` (or `won`: its author signed another with the same sequence,
   * and this one stays everywhere) when stored; `lost` when the other one stays; `held`, `passed` or `ignored` (a room
   * not joined here) when nothing changed.
   */
  ingest(message: WireMessage, from: string): Ingested;
  /** Remembers a peer met in a shared room, so links come back after a restart. */
  savePeer(peer: { node_id: string; name: string; rooms: string[]; addresses: PeerAddress }): void;
  /** The files of the rooms' messages, when this instance fetches and serves them. */
  files?: FileReplica;
}

export type Ingested = "new" | "won" | "lost" | "held" | "passed" | "ignored";

/** A peer as its hello described it. */
export interface PeerInfo {
  name: string;
  /** The rooms it proved it holds that this instance holds too: all it ever learns of each other's rooms. */
  rooms: Set<string>;
  /** Its proofs as sent, checked again when this instance joins a room. */
  proofs: string[];
  addresses: AdvertisedAddresses;
}

export interface ReplicatorInit {
  replica: Replica;
  links: PeerLinks;
  /** How often vectors are exchanged with every peer even when nothing happened. @default 10000 */
  antiEntropyMs?: number;
  /** How long a linked peer may share no room with this instance before it is unlinked. @default 5000 */
  unsharedGraceMs?: number;
  /** How files reaching this instance, or a member, move on. */
  onFileProgress?: (fileId: string, bytes: number) => void;
  onPeerHave?: (fileId: string, nodeId: string, bytes: number) => void;
  /** What linked members hold of a room may have changed (a vector came, a member linked or left): see `delivery`. */
  onHeld?: (room: string) => void;
  log?: (line: string) => void;
}

const BATCH = LIMITS.messagesPerFrame;
/** Messages read from storage at a time for a catch-up. */
const PAGE = 64;
/** How far past the highest gapless sequence of an origin a message may be: one message cannot poison a sequence. */
const MAX_SEQ_STEP = 10_000;
/** Text bytes per messages frame, well under the codec's 4 MiB header limit whatever the texts are. */
const FRAME_TEXT_BYTES = 1024 * 1024;
/** Refused messages after which a peer is unlinked: an honest peer forwards only what it checked. */
const MAX_REFUSED = 1000;
/** Addresses given from outside (`--peer`, invites, LAN, saved peers) kept to link again when our rooms change. */
const MAX_INTRODUCED = 256;
/** A peer that sent messages hears the vector they made here this soon after (one frame for a burst): its delivery marks. */
const ACK_MS = 50;

/**
 * Keeps the rooms this instance shares with its peers the same everywhere: pushes new messages at once, forwards
 * messages new to it to the room's other peers, and on every link change and periodically exchanges version vectors
 * so whatever was lost in flight is sent again.
 */
export class Replicator {
  readonly #replica: Replica;
  readonly #links: PeerLinks;
  readonly #log: (line: string) => void;
  readonly #antiEntropyMs: number;
  readonly #peers = new Map<string, PeerInfo>();
  /** Messages each peer sent that were refused (bad signature, sequence out of reach): counted against it. */
  readonly #refused = new Map<string, number>();
  /** Peers with a live link now. */
  readonly #up = new Set<string>();
  /** What went over each peer's current primary link: a catch-up does not send it twice. */
  readonly #sent = new SentMarks();
  /** Catch-ups under way, and the vector that came meanwhile (only the latest is kept): one at a time per peer. */
  readonly #catchingUp = new Map<string, VectorFrame | null>();
  /** Peers that share no room, each with the timer that unlinks it unless that changes. */
  readonly #unshared = new Map<string, ReturnType<typeof setTimeout>>();
  readonly #introduced = new Map<string, { address: NodeAddress; source: AddressOrigin }>();
  readonly #unsharedGraceMs: number;
  /** Fetches and serves the files of shared rooms' messages. */
  readonly #files: FileSync | undefined;
  /** Each linked peer's last vector: what it holds, for delivery marks. */
  readonly #theirs = new Map<string, VersionVector>();
  /** Peers that sent messages and are owed our vector, each with its timer. */
  readonly #acks = new Map<string, ReturnType<typeof setTimeout>>();
  readonly #onHeld: (room: string) => void;
  /** What may be queued toward each peer, and all of them. */
  readonly #gate: SendGate;
  /** Each linked peer's primary tier, to close it when its reader stops. */
  readonly #primary = new Map<string, Tier>();
  /** Authors whose messages were sent again in full to a peer, because their digests differed. */
  readonly #reconciled = new Reconciliations();
  /** New authors each peer brought into crowded rooms. */
  readonly #newAuthors: NewAuthors;
  /** Undoes what `start` set up: the handlers it added and its timer. */
  #stops: (() => void)[] = [];

  constructor(init: ReplicatorInit) {
    this.#replica = init.replica;
    this.#links = init.links;
    this.#log = init.log ?? (() => {});
    this.#antiEntropyMs = init.antiEntropyMs ?? 10_000;
    this.#unsharedGraceMs = init.unsharedGraceMs ?? 5000;
    this.#onHeld = init.onHeld ?? (() => {});
    this.#gate = new SendGate(this.#links, () => this.#up);
    this.#newAuthors = new NewAuthors(this.#log);
    const files = init.replica.files;
    this.#files = files
      ? new FileSync({
          replica: files,
          links: this.#links,
          members: (room) => this.#sharing(room),
          peerRooms: (nodeId) => {
            const info = this.#peers.get(nodeId);
            return info && this.#up.has(nodeId) ? this.#shared(info) : [];
          },
          penalize: (nodeId, why) => this.#refuse(nodeId, why),
          onProgress: init.onFileProgress,
          onPeerHave: init.onPeerHave,
          log: this.#log,
        })
      : undefined;
  }

  start(): void {
    const stopChanges = this.#links.onChange((nodeId, tier) => {
      this.#sent.forget(nodeId);
      this.#reconciled.forget(nodeId);
      this.#files?.peerChanged(nodeId);
      if (tier === null) {
        this.#up.delete(nodeId);
        this.#primary.delete(nodeId);
        this.#theirs.delete(nodeId);
        return this.#heldChanged(nodeId);
      }
      this.#primary.set(nodeId, tier);
      // A new primary (first link, failover or upgrade): say hello and compare vectors, so nothing lost in flight stays lost.
      if (!this.#up.has(nodeId)) this.#checkSharing(nodeId);
      this.#up.add(nodeId);
      this.#send(nodeId, this.#hello(nodeId));
      this.#sendVector(nodeId);
    });
    const stopData = this.#links.onData((nodeId, data, tier) => {
      let decoded: ReturnType<typeof decodeFrame>;
      try {
        decoded = decodeFrame(data);
      } catch (err) {
        if (!(err instanceof FrameError)) throw err;
        this.#log(`bad frame from ${nodeId} over ${tier}: ${err.message}`);
        return this.#links.closeLink(nodeId, tier, err.message);
      }
      // File frames only from a peer that proved a room: an outsider is told nothing of files.
      if (this.#files?.handle(nodeId, decoded.frame, decoded.binary)) return;
      this.#handle(nodeId, decoded.frame);
    });
    const timer = setInterval(() => {
      for (const nodeId of this.#up) this.#sendVector(nodeId);
    }, this.#antiEntropyMs);
    // A reader that stopped: its link holds what was sent to it and drains none of it. It is closed, and lets go of that.
    const watch = setInterval(() => {
      for (const nodeId of this.#gate.stuck()) {
        const tier = this.#primary.get(nodeId);
        this.#log(`${nodeId} reads nothing of what waits for it (${this.#links.buffered(nodeId) ?? 0} bytes): its link is closed`);
        if (tier) this.#links.closeLink(nodeId, tier, "not reading what is sent");
      }
    }, 1000);
    this.#files?.start();
    this.#stops = [
      stopChanges,
      stopData,
      () => clearInterval(timer),
      () => clearInterval(watch),
      () => this.#unshared.forEach(clearTimeout),
      () => this.#acks.forEach(clearTimeout),
      () => this.#files?.stop(),
    ];
  }

  /** Chunks of files stored from the peer, and sent to it, since start. */
  chunkCounts(nodeId: string): { received: number; sent: number } {
    return this.#files?.chunkCounts(nodeId) ?? { received: 0, sent: 0 };
  }

  /** Files being fetched here now. */
  transfers() {
    return this.#files?.transfers() ?? [];
  }

  stop(): void {
    for (const stop of this.#stops.splice(0)) stop();
  }

  /** What each peer said of itself, for `/peers`. */
  peerInfo(nodeId: string): PeerInfo | undefined {
    return this.#peers.get(nodeId);
  }

  /**
   * How far `origin`'s messages in `room` reached: every linked member holds them up to `seq`, as their last vectors
   * say (0 when no member is linked: nothing is delivered to no one), and how many members are linked.
   */
  delivery(room: string, origin: string): { seq: number; members: number } {
    const members = this.#sharing(room);
    const seq = members.length === 0 ? 0 : Math.min(...members.map((nodeId) => this.#theirs.get(nodeId)?.[room]?.[origin] ?? 0));
    return { seq, members: members.length };
  }

  /** Pushes a message authored here to every linked peer that has joined its room. */
  publish(message: WireMessage): void {
    for (const nodeId of this.#sharing(message.room)) this.#push(nodeId, [message]);
  }

  /** Tells every linked peer our rooms changed, compares vectors for the rooms now shared, and links again where a room may be shared now. */
  /** Where this instance listens changed (it learnt its address from outside): every linked peer hears it. */
  addressesChanged(): void {
    for (const nodeId of this.#up) this.#send(nodeId, this.#hello(nodeId));
  }

  roomsChanged(): void {
    for (const [nodeId, info] of this.#peers) {
      info.rooms = new Set(this.#replica.provenRooms(nodeId, info.proofs));
      this.#links.vouch(nodeId, this.#shared(info).length > 0);
    }
    for (const nodeId of this.#up) {
      this.#checkSharing(nodeId);
      this.#send(nodeId, this.#hello(nodeId));
      this.#sendVector(nodeId);
    }
    // Dials go on while a peer is wanted: their first outcome is not waited for.
    for (const [nodeId, { address, source }] of this.#introduced) if (!this.#up.has(nodeId)) this.#links.connect(address, source).catch(() => {});
    this.#files?.refresh();
  }

  /**
   * Links to an instance heard of elsewhere (LAN beacon, `--peer`) if it shares a room or we cannot tell yet. Answers
   * the outcome of the first dials (see LinkManager.connect), or undefined when the instance is not linked to.
   */
  introduce(peer: NodeAddress, rooms?: string[], source: AddressOrigin = "given"): Promise<unknown> | undefined {
    if (peer.nodeId === this.#replica.nodeId) return undefined;
    this.#introduced.delete(peer.nodeId);
    this.#introduced.set(peer.nodeId, { address: peer, source });
    if (this.#introduced.size > MAX_INTRODUCED) this.#introduced.delete(this.#introduced.keys().next().value!);
    if (rooms && !rooms.some((r) => this.#replica.rooms().includes(r))) return undefined;
    return this.#links.connect(peer, source);
  }

  /** Unlinks a linked peer that shares no room with us, after a grace for the hellos to cross and rooms to be joined. */
  #checkSharing(nodeId: string): void {
    const info = this.#peers.get(nodeId);
    if (info && this.#shared(info).length > 0) {
      clearTimeout(this.#unshared.get(nodeId));
      return void this.#unshared.delete(nodeId);
    }
    if (this.#unshared.has(nodeId)) return;
    const timer = setTimeout(() => {
      this.#unshared.delete(nodeId);
      const now = this.#peers.get(nodeId);
      if (!this.#up.has(nodeId) || (now && this.#shared(now).length > 0) || this.#links.keeps?.(nodeId)) return;
      this.#peers.delete(nodeId);
      this.#links.forget(nodeId, "shares no room with this instance");
    }, this.#unsharedGraceMs);
    this.#unshared.set(nodeId, timer);
  }

  #handle(from: string, frame: Frame): void {
    switch (frame.type) {
      case "hello":
        return this.#onHello(from, frame);
      case "vector":
        return void this.#onVector(from, frame);
      case "messages":
        return this.#onMessages(from, frame.messages);
      case "peers":
        return this.#onPeers(from, frame);
    }
  }

  #onHello(from: string, hello: HelloFrame): void {
    const known = this.#peers.get(from);
    const rooms = new Set(this.#replica.provenRooms(from, hello.proofs));
    const info: PeerInfo = { name: hello.name, rooms, proofs: hello.proofs, addresses: hello.addresses };
    this.#peers.set(from, info);
    const shared = this.#shared(info);
    this.#links.vouch(from, shared.length > 0);
    this.#checkSharing(from);
    if (shared.length === 0) return;
    const address = { nodeId: from, ...hello.addresses };
    this.#replica.savePeer({ node_id: from, name: hello.name, rooms: shared, addresses: address });
    // Now that we know where it listens, link on the other tiers too.
    this.#links.connect(address).catch(() => {});
    this.#sendVector(from);
    this.#files?.refresh(from); // it may hold files we lack
    const newcomer = !known || this.#shared(known).length !== shared.length;
    // Where it is reached changed (it learnt its public address): members that could not reach it may now.
    const moved = !newcomer && !sameAddresses(known.addresses, info.addresses);
    if (!newcomer && !moved) return;
    // Introduce the newcomer and the room's other members to each other; of one that moved, tell the others.
    if (newcomer) this.#send(from, this.#peersFrame(from, [...this.#up].filter((id) => id !== from && this.#sharesWith(id, info))));
    for (const other of this.#up) {
      if (other !== from && this.#sharesWith(other, info)) this.#send(other, this.#peersFrame(other, [from]));
    }
  }

  /** Sends what the peer's vector shows it lacks, past what was sent already; one catch-up per peer at a time. */
  async #onVector(from: string, frame: VectorFrame): Promise<void> {
    this.#theirs.set(from, frame.rooms);
    this.#heldChanged(from);
    if (this.#catchingUp.has(from)) return void this.#catchingUp.set(from, frame);
    this.#catchingUp.set(from, null);
    try {
      for (let next: VectorFrame | null = frame; next; next = this.#catchingUp.get(from) ?? null) {
        this.#catchingUp.set(from, null);
        if (!(await this.#catchUp(from, next.rooms, next.digests))) return;
      }
    } finally {
      this.#catchingUp.delete(from);
    }
  }

  /**
   * Sends, a frame at a time while the peer's link has room, what `theirs` lacks past what was sent already, and an
   * author's messages in full where our digests of them differ; false once the peer has no live link.
   */
  async #catchUp(from: string, theirs: VersionVector, digests: VectorDigests | undefined): Promise<boolean> {
    const info = this.#peers.get(from);
    if (!info) return true;
    let out: WireMessage[] = [];
    let bytes = 0;
    const flush = async () => {
      if (out.length === 0) return true;
      // Only while the peer's link holds little: a peer that does not read gets no more than that.
      if (!(await this.#gate.room(from)) || !this.#send(from, { type: "messages", messages: out })) return false;
      memoryValve.moved(bytes); // a long history leaves copies of itself behind (read, encoded, sealed), as a file does
      for (const m of out) this.#sentTo(from, m.room, m.origin, m.seq); // in sequence order per origin: the last stays
      out = [];
      bytes = 0;
      // Long catch-ups yield between frames, so live traffic and other peers are not starved.
      await Bun.sleep(0);
      return true;
    };
    for (const room of this.#shared(info)) {
      const seen = theirs[room];
      if (!seen) continue;
      const mine = this.#replica.vector(room);
      const again = new Set(diverging(mine, this.#replica.digests(room), seen, digests?.[room]).filter((o) => this.#reconciled.due(from, room, o)));
      for (const origin of Object.keys(mine)) {
        let after = again.has(origin) ? 0 : Math.max(seen[origin] ?? 0, this.#sentUpTo(from, room, origin));
        for (;;) {
          // A page at a time, so a catch-up waiting for the peer's link holds little (500 long texts are 24 MB).
          const batch = this.#replica.after(origin, room, after, PAGE);
          for (const m of batch) {
            const size = wireSize(m);
            if (out.length === BATCH || (out.length > 0 && bytes + size > FRAME_TEXT_BYTES)) {
              if (!(await flush())) return false;
            }
            out.push(m);
            bytes += size;
          }
          if (batch.length < PAGE) break;
          after = batch.at(-1)!.seq;
        }
      }
    }
    return flush();
  }

  /**
   * Sends messages as they come (published or forwarded). Where one follows on what the peer holds or was sent, the mark
   * moves past it, so the peer's acknowledging vector, sent while more are in flight, does not call them up again.
   */
  #push(nodeId: string, messages: WireMessage[]): void {
    // A peer whose link holds much gets these with the next catch-up, once it has read what waits.
    if (!this.#sendMessages(nodeId, messages)) return;
    for (const m of messages) {
      const held = Math.max(this.#sentUpTo(nodeId, m.room, m.origin), this.#theirs.get(nodeId)?.[m.room]?.[m.origin] ?? 0);
      if (m.seq === held + 1) this.#sentTo(nodeId, m.room, m.origin, m.seq);
    }
  }

  #sentUpTo(peer: string, room: string, origin: string): number {
    return this.#sent.upTo(peer, room, origin, this.#theirs.get(peer)?.[room]?.[origin] ?? 0);
  }

  #sentTo(peer: string, room: string, origin: string, seq: number): void {
    this.#sent.sent(peer, room, origin, seq);
  }

  /** Tells the rooms `nodeId` shares with us that what their linked members hold may have changed. */
  #heldChanged(nodeId: string): void {
    const info = this.#peers.get(nodeId);
    if (info) for (const room of this.#shared(info)) this.#onHeld(room);
  }

  /** Owes the peer our vector: what it sent is then marked delivered there, without waiting for the periodic one. */
  #ack(nodeId: string): void {
    if (this.#acks.has(nodeId)) return;
    this.#acks.set(
      nodeId,
      setTimeout(() => {
        this.#acks.delete(nodeId);
        if (this.#up.has(nodeId)) this.#sendVector(nodeId);
      }, ACK_MS),
    );
  }

  #onMessages(from: string, messages: WireMessage[]): void {
    // Only rooms both sides joined: a peer cannot push into a room it never proved it holds.
    const senderRooms = this.#peers.get(from)?.rooms;
    // Held already or new, the sender learns we have them (a duplicate means it does not know yet).
    if (messages.some((m) => senderRooms?.has(m.room))) this.#ack(from);
    // Each room's vector as this frame found it, with the origins the frame adds.
    const held = new Map<string, Map<string, number>>();
    const heldIn = (room: string) => held.get(room) ?? held.set(room, new Map(Object.entries(this.#replica.vector(room)))).get(room)!;
    const fresh: WireMessage[] = [];
    const kept: WireMessage[] = [];
    for (const m of messages) {
      if (!senderRooms?.has(m.room) || !this.#acceptable(from, m, heldIn(m.room))) continue;
      const ingested = this.#replica.ingest(m, from);
      if (ingested === "new" || ingested === "won") fresh.push(m);
      // The sender holds a message its author signed with the same sequence as ours, and ours stays: it gets ours.
      if (ingested === "lost") kept.push(...this.#replica.after(m.origin, m.room, m.seq - 1, 1).filter((ours) => ours.seq === m.seq));
    }
    if (kept.length > 0 && this.#gate.mayPush(from)) this.#sendMessages(from, kept);
    if (fresh.length === 0) return;
    if (fresh.some((m) => m.files)) this.#files?.refresh(undefined, fresh.flatMap((m) => m.files ?? []).map((f) => f.id));
    // Forward what was new here to the room's other peers, which may not be linked to the sender.
    for (const nodeId of this.#up) {
      if (nodeId === from) continue;
      const info = this.#peers.get(nodeId);
      const forward = fresh.filter((m) => m.origin !== nodeId && info?.rooms.has(m.room));
      if (forward.length > 0) this.#push(nodeId, forward);
    }
  }

  /**
   * A message is stored only if its author signed it and its sequence is within reach of what is held of it; an
   * author new to a crowded room, only within its sender's rate of new authors (`held`: the room as this frame found it).
   */
  #acceptable(from: string, m: WireMessage, held: Map<string, number>): boolean {
    const top = held.get(m.origin);
    const refusal =
      signatureProblem(m) ?? (m.seq > (top ?? 0) + MAX_SEQ_STEP ? `its sequence ${m.seq} is over ${MAX_SEQ_STEP} past the ${top ?? 0} held` : undefined);
    if (refusal) {
      this.#refuse(from, `a message: ${refusal}`);
      return false;
    }
    if (top !== undefined) return true;
    if (!this.#newAuthors.allows(from, m.origin, held.size)) return false;
    held.set(m.origin, 0); // an origin new to the room counts from its first message
    return true;
  }

  /** Counts something a peer sent that failed its checks; past MAX_REFUSED the peer is unlinked. */
  #refuse(from: string, what: string): void {
    const count = (this.#refused.get(from) ?? 0) + 1;
    this.#refused.set(from, count);
    if (count === 1 || count % 100 === 0) this.#log(`refused from ${from} (${count} so far): ${what}`);
    if (count === MAX_REFUSED) this.#links.forget(from, `sent ${count} things that failed their checks`);
  }

  /** Introductions: only from a member, and only to members of a room the introducer proved it shares with us. */
  #onPeers(from: string, frame: PeersFrame): void {
    const senderRooms = this.#peers.get(from)?.rooms;
    if (!senderRooms || senderRooms.size === 0) return;
    for (const p of frame.peers) {
      if (p.node_id === this.#replica.nodeId || this.#up.has(p.node_id)) continue;
      if (!p.rooms.some((r) => senderRooms.has(r))) continue;
      // Kept (savePeer) only once it links and proves a room; one that no tier reaches is not tried again. Dialled
      // within what the member may have this instance dial (transport/links/introductions.ts).
      this.#links.connect({ nodeId: p.node_id, ...p.addresses }, "advertised", { by: from }).catch(() => {
        if (!this.#up.has(p.node_id)) this.#links.forget(p.node_id, "introduced, but no tier reaches it");
      });
    }
  }

  #hello(to: string): HelloFrame {
    return { type: "hello", name: this.#replica.name, proofs: this.#replica.proofs(to), addresses: this.#replica.addresses() };
  }

  /** Other members for `to`, each with only the rooms `to` proved it holds too. */
  #peersFrame(to: string, nodeIds: string[]): Frame {
    const theirs = this.#peers.get(to)?.rooms ?? new Set<string>();
    const peers: PeersFrame["peers"] = [];
    for (const id of nodeIds.slice(0, LIMITS.peersPerFrame)) {
      const info = this.#peers.get(id);
      const rooms = info ? [...info.rooms].filter((room) => theirs.has(room)) : [];
      if (info && rooms.length > 0) peers.push({ node_id: id, name: info.name, rooms, addresses: info.addresses });
    }
    return { type: "peers", peers };
  }

  #sendVector(nodeId: string): void {
    const info = this.#peers.get(nodeId);
    // A peer whose link holds much hears our vector once it has read what waits.
    if (!info || !this.#gate.mayPush(nodeId)) return;
    const rooms: VersionVector = {};
    const digests: VectorDigests = {};
    for (const room of this.#shared(info)) {
      rooms[room] = this.#replica.vector(room);
      digests[room] = this.#replica.digests(room);
    }
    this.#send(nodeId, { type: "vector", rooms, digests });
  }

  /** Rooms both this instance and the peer have joined. */
  #shared(info: PeerInfo): string[] {
    return this.#replica.rooms().filter((room) => info.rooms.has(room));
  }

  #sharesWith(nodeId: string, info: PeerInfo): boolean {
    const other = this.#peers.get(nodeId);
    return other !== undefined && this.#shared(info).some((room) => other.rooms.has(room));
  }

  /** Linked peers that have joined `room`. */
  #sharing(room: string): string[] {
    return [...this.#up].filter((nodeId) => this.#peers.get(nodeId)?.rooms.has(room));
  }

  /**
   * Pushes messages in as many frames as their count and size need, each only while the peer's link has room; false
   * once it has not (or no live link), and what was left goes with a later catch-up.
   */
  #sendMessages(nodeId: string, messages: WireMessage[]): boolean {
    let chunk: WireMessage[] = [];
    let bytes = 0;
    for (const m of messages) {
      const size = wireSize(m);
      if (chunk.length === BATCH || (chunk.length > 0 && bytes + size > FRAME_TEXT_BYTES)) {
        if (!this.#gate.mayPush(nodeId) || !this.#send(nodeId, { type: "messages", messages: chunk })) return false;
        chunk = [];
        bytes = 0;
      }
      chunk.push(m);
      bytes += size;
    }
    return chunk.length === 0 || (this.#gate.mayPush(nodeId) && this.#send(nodeId, { type: "messages", messages: chunk }));
  }

  #send(nodeId: string, frame: Frame): boolean {
    return this.#links.send(nodeId, encodeFrame(frame));
  }
}

/** A message's size in a frame, at most: its text at 3 bytes a character, its files, and the rest. */
function wireSize(m: WireMessage): number {
  return m.text.length * 3 + (m.files ? JSON.stringify(m.files).length : 0) + 256;
}
