import type { NodeAddress, PeerAddress } from "../transport/link.ts";
import { Handlers } from "../util/handlers.ts";
import type { SyncChannel, SyncHandler } from "./channel.ts";
import type { AdvertisedAddresses } from "../domain/urls.ts";
import { LIMITS, type Frame, type HelloFrame, type PeersFrame } from "./frames.ts";

/** Where an address came from: the user or what was seen (`--peer`, an invite, a LAN beacon), or the peer itself. */
export type AddressOrigin = "given" | "advertised";

/** What membership needs of the links to other instances (the link manager provides it). */
export interface MemberLinks {
  /**
   * Links to the instance and keeps doing so; the outcome of the first dials is not membership's business. `given`:
   * the address came from the user or was seen (`--peer`, an invite, a LAN beacon), and outranks what a peer
   * advertises of itself.
   */
  connect(address: NodeAddress, source?: AddressOrigin, options?: { by?: string }): Promise<unknown>;
  /** Says whether the peer proved a room we share (a member keeps its place among the peers). */
  vouch(nodeId: string, member: boolean): void;
  /** Unlinks a peer and stops dialling it. */
  forget(nodeId: string, reason: string): void;
  /** Whether the peer's link serves more than replication (a rendezvous, either way): kept though it shares no room. */
  keeps?(nodeId: string): boolean;
}

/** What membership needs of this instance: who it is, where it is reached, and its rooms and their proofs. */
export interface MemberReplica {
  readonly nodeId: string;
  readonly name: string;
  addresses(): AdvertisedAddresses;
  /** The ids of the rooms joined here. */
  rooms(): string[];
  /** This instance's membership proofs for `peer`, one per room joined here. */
  proofs(peer: string): string[];
  /** The ids of the rooms joined here whose proof from `peer` is among `proofs`. */
  provenRooms(peer: string, proofs: string[]): string[];
  /** Remembers a peer met in a shared room, so links come back after a restart. */
  savePeer(peer: { node_id: string; name: string; rooms: string[]; addresses: PeerAddress }): void;
}

/** A peer as its hello described it. */
export interface PeerInfo {
  name: string;
  /** The rooms it proved it holds that this instance holds too: all it ever learns of each other's rooms. */
  rooms: Set<string>;
  /** Its proofs as sent, checked again when this instance joins a room. */
  proofs: string[];
  addresses: AdvertisedAddresses;
}

const sameAddresses = (a: AdvertisedAddresses, b: AdvertisedAddresses) => a.http === b.http && a.ws === b.ws;

/** Addresses given from outside (`--peer`, invites, LAN, saved peers) kept to link again when our rooms change. */
const MAX_INTRODUCED = 256;

/**
 * Who shares which room: hellos carry this instance's proofs and check the peer's, a peer that shares no room is
 * unlinked after a grace, members are introduced to each other (peers frames), and members are remembered.
 */
export class Membership implements SyncHandler<"hello" | "peers"> {
  readonly types = ["hello", "peers"] as const;
  readonly #channel: SyncChannel;
  readonly #replica: MemberReplica;
  readonly #links: MemberLinks;
  readonly #unsharedGraceMs: number;
  readonly #peers = new Map<string, PeerInfo>();
  /** Peers that share no room, each with the timer that unlinks it unless that changes. */
  readonly #unshared = new Map<string, ReturnType<typeof setTimeout>>();
  readonly #introduced = new Map<string, { address: NodeAddress; source: AddressOrigin }>();
  readonly #sharedChange = new Handlers<[nodeId: string | null]>();

  constructor(init: { channel: SyncChannel; replica: MemberReplica; links: MemberLinks; unsharedGraceMs?: number }) {
    this.#channel = init.channel;
    this.#replica = init.replica;
    this.#links = init.links;
    this.#unsharedGraceMs = init.unsharedGraceMs ?? 5000;
  }

  /**
   * Calls `handler` when what a peer shares with this instance may have changed: with its node id after its hello
   * proved a shared room, with null after this instance's rooms changed (every peer). Returns its removal.
   */
  onSharedChange(handler: (nodeId: string | null) => void): () => void {
    return this.#sharedChange.add(handler);
  }

  receive(from: string, frame: HelloFrame | PeersFrame): void {
    if (frame.type === "hello") this.#onHello(from, frame);
    else this.#onPeers(from, frame);
  }

  peerUp(nodeId: string, first: boolean): void {
    // A new primary (first link, failover or upgrade): say hello, so the peer knows what we share.
    if (first) this.#checkSharing(nodeId);
    this.#channel.send(nodeId, this.#hello(nodeId));
  }

  stop(): void {
    this.#unshared.forEach(clearTimeout);
  }

  /** What each peer said of itself, for `/peers`. */
  peerInfo(nodeId: string): PeerInfo | undefined {
    return this.#peers.get(nodeId);
  }

  /** Rooms both this instance and the peer have joined; undefined before its hello. */
  shared(nodeId: string): string[] | undefined {
    const info = this.#peers.get(nodeId);
    return info && this.#shared(info);
  }

  /** The rooms a linked peer proved it shares with this instance (none while it is not linked). */
  peerRooms(nodeId: string): string[] {
    const info = this.#peers.get(nodeId);
    return info && this.#channel.isUp(nodeId) ? this.#shared(info) : [];
  }

  /** Linked peers that have joined `room`. */
  sharing(room: string): string[] {
    return [...this.#channel.peers()].filter((nodeId) => this.#peers.get(nodeId)?.rooms.has(room));
  }

  /** Where this instance listens, or its name, changed: every linked peer hears it. */
  addressesChanged(): void {
    for (const nodeId of this.#channel.peers()) this.#channel.send(nodeId, this.#hello(nodeId));
  }

  /** Tells every linked peer our rooms changed, and links again where a room may be shared now. */
  roomsChanged(): void {
    for (const [nodeId, info] of this.#peers) {
      info.rooms = new Set(this.#replica.provenRooms(nodeId, info.proofs));
      this.#links.vouch(nodeId, this.#shared(info).length > 0);
    }
    for (const nodeId of this.#channel.peers()) {
      this.#checkSharing(nodeId);
      this.#channel.send(nodeId, this.#hello(nodeId));
    }
    // Dials go on while a peer is wanted: their first outcome is not waited for.
    for (const [nodeId, { address, source }] of this.#introduced) if (!this.#channel.isUp(nodeId)) this.#links.connect(address, source).catch(() => {});
    this.#sharedChange.emit(null);
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
      if (!this.#channel.isUp(nodeId) || (now && this.#shared(now).length > 0) || this.#links.keeps?.(nodeId)) return;
      this.#peers.delete(nodeId);
      this.#links.forget(nodeId, "shares no room with this instance");
    }, this.#unsharedGraceMs);
    this.#unshared.set(nodeId, timer);
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
    this.#sharedChange.emit(from); // our vector goes to it, and it may hold files we lack
    const newcomer = !known || this.#shared(known).length !== shared.length;
    // Where it is reached changed (it learnt its public address): members that could not reach it may now.
    const moved = !newcomer && !sameAddresses(known.addresses, info.addresses);
    if (!newcomer && !moved) return;
    // Introduce the newcomer and the room's other members to each other; of one that moved, tell the others.
    const up = [...this.#channel.peers()];
    if (newcomer) this.#channel.send(from, this.#peersFrame(from, up.filter((id) => id !== from && this.#sharesWith(id, info))));
    for (const other of up) {
      if (other !== from && this.#sharesWith(other, info)) this.#channel.send(other, this.#peersFrame(other, [from]));
    }
  }

  /** Introductions: only from a member, and only to members of a room the introducer proved it shares with us. */
  #onPeers(from: string, frame: PeersFrame): void {
    const senderRooms = this.#peers.get(from)?.rooms;
    if (!senderRooms || senderRooms.size === 0) return;
    for (const p of frame.peers) {
      if (p.node_id === this.#replica.nodeId || this.#channel.isUp(p.node_id)) continue;
      if (!p.rooms.some((r) => senderRooms.has(r))) continue;
      // Kept (savePeer) only once it links and proves a room; one that no tier reaches is not tried again. Dialled
      // within what the member may have this instance dial (transport/links/introductions.ts).
      this.#links.connect({ nodeId: p.node_id, ...p.addresses }, "advertised", { by: from }).catch(() => {
        if (!this.#channel.isUp(p.node_id)) this.#links.forget(p.node_id, "introduced, but no tier reaches it");
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

  /** Rooms both this instance and the peer have joined. */
  #shared(info: PeerInfo): string[] {
    return this.#replica.rooms().filter((room) => info.rooms.has(room));
  }

  #sharesWith(nodeId: string, info: PeerInfo): boolean {
    const other = this.#peers.get(nodeId);
    return other !== undefined && this.#shared(info).some((room) => other.rooms.has(room));
  }
}
