/**
 * Builds one instance's room model and, given the links to other instances, its replication: the sync channel with
 * its handlers registered in order (membership, messages, files). Part of the composition root (instance.ts), kept apart so
 * tests build a node the same way; the only place besides it that knows the concrete sync handlers.
 */
import { Node, type NodeParts, type NodeSync } from "./node.ts";
import { Chat } from "./rooms/chat.ts";
import { RoomFiles } from "./rooms/files.ts";
import { News } from "./rooms/news.ts";
import { People } from "./rooms/people.ts";
import { Person } from "./rooms/person.ts";
import { Peers, type LinkedPeers } from "./rooms/peers.ts";
import { replicaOf } from "./rooms/replica.ts";
import { RoomRegistry } from "./rooms/rooms.ts";
import type { Storage } from "./storage/index.ts";
import { SyncChannel, type SyncLinks } from "./sync/channel.ts";
import { fileHandler } from "./sync/file-handler.ts";
import { FileSync, type FileLinks } from "./sync/file-sync.ts";
import type { AdvertisedAddresses } from "./domain/urls.ts";
import { Membership, type MemberLinks } from "./sync/membership.ts";
import { Messages } from "./sync/messages.ts";
import type { LinkStatus } from "./transport/links/index.ts";
import { MailboxKeeper, type KeeperInit } from "./mailbox/keeper.ts";
import { Mailboxes } from "./mailbox/member.ts";
import type { MailboxesInit } from "./mailbox/ports.ts";
import { MailboxTelling } from "./mailbox/tell.ts";

/** The links to other instances, when this node replicates its rooms with them. */
export interface NodeNetwork {
  links: SyncLinks & MemberLinks & FileLinks & { status(): LinkStatus[] };
  /** Where other instances reach this one. */
  addresses: () => AdvertisedAddresses;
  /** How often vectors are compared with every peer. @default 10000 */
  antiEntropyMs?: number;
  /** How long a linked instance may share no room with this one before it is unlinked. @default 5000 */
  unsharedGraceMs?: number;
  /** The rendezvous of ours (reach/rendezvous.ts), whose mailboxes are used for the rooms each serves. @default none */
  rendezvous?: Pick<MailboxesInit, "served" | "rendezvousOf" | "use">;
  /** This instance as a mailbox (`--mailbox`): where items are kept, and who waits at which topic here. @default none */
  mailbox?: Pick<KeeperInit, "store" | "waits">;
  /** How often each linked mailbox is read and filled. @default 10000 */
  mailboxPollMs?: number;
  log?: (line: string) => void;
}

export interface NodeInit {
  storage: Storage;
  network?: NodeNetwork;
  /** The owner's display name (`--name`): see People. */
  name?: string;
  /** Rooms this instance may join at most. @default 1000 */
  maxRooms?: number;
  /** Largest file stored or fetched here. @default 1 GiB */
  maxFileBytes?: number;
  /** Bytes free on the database's disk. @default Infinity */
  freeDiskBytes?: () => number;
}

export function openNode(init: NodeInit): Node {
  const { storage } = init;
  const rooms = new RoomRegistry({ storage, maxRooms: init.maxRooms });
  const people = new People({ storage, rooms, name: init.name });
  const news = new News({ storage, rooms });
  const files = new RoomFiles({
    storage,
    maxFileBytes: init.maxFileBytes ?? 1024 ** 3,
    freeDiskBytes: init.freeDiskBytes,
    roomName: (id) => rooms.nameOf(id),
    roomId: (name) => rooms.room(name)?.id,
  });
  rooms.onLeave((name, dropped) => {
    if (!dropped) return;
    for (const file of dropped) files.discard(file);
    files.forgetRoom(name);
  });
  const chat = new Chat({ storage, rooms, files, news });
  const model = { rooms, chat, news, people, files, person: new Person(storage) };
  if (!init.network) return new Node({ ...model, peers: new Peers({ storage, rooms, people }) }, storage.identity.nodeId);
  const { sync, linked } = replicate(model, storage, init.network);
  return new Node({ ...model, peers: new Peers({ storage, rooms, people, linked }), sync }, storage.identity.nodeId);
}

type Model = Pick<Required<NodeParts>, "rooms" | "chat" | "news" | "people" | "files" | "person">;

/** The sync channel and its handlers over the room model, registered in the order their peerUp runs: hello, then vector. */
function replicate(model: Model, storage: Storage, network: NodeNetwork): { sync: NodeSync; linked: LinkedPeers } {
  const { links, log } = network;
  const channel = new SyncChannel({ links, log });
  const replica = replicaOf({ storage, rooms: model.rooms, chat: model.chat, people: model.people, addresses: network.addresses });
  const membership = new Membership({ channel, replica, links, unsharedGraceMs: network.unsharedGraceMs });
  const messages = new Messages({ channel, members: membership, replica, antiEntropyMs: network.antiEntropyMs, log });
  const fileReplica = model.files.replica();
  const files = new FileSync({
    replica: fileReplica,
    links,
    members: (room) => membership.sharing(room),
    peerRooms: (nodeId) => membership.peerRooms(nodeId),
    penalize: (nodeId, why) => channel.refuse(nodeId, why),
    onProgress: (id, bytes) => model.files.progressed(id, bytes),
    onPeerHave: (id, nodeId, bytes) => model.files.peerHas(id, nodeId, bytes),
    log,
  });
  channel.register(membership);
  channel.register(messages);
  channel.register(fileHandler(files));
  channel.register(new MailboxKeeper({ channel, store: network.mailbox?.store ?? null, waits: network.mailbox?.waits ?? (() => false) }));
  const mailboxes = new Mailboxes({
    channel,
    served: (nodeId) => network.rendezvous?.served(nodeId) ?? [],
    rendezvousOf: (roomId) => network.rendezvous?.rendezvousOf(roomId) ?? [],
    use: (roomId, url) => network.rendezvous?.use(roomId, url),
    places: storage.mailboxMarks,
    history: {
      since: (roomId, stamp, limit) => {
        const name = model.rooms.nameOf(roomId);
        if (name === undefined) return [];
        return storage.messages.signedSince(name, stamp, limit).map(({ timestamp, ...m }) => ({ message: { ...m, room: roomId }, stamp: timestamp }));
      },
      ownUpTo: (roomId, stamp) => storage.messages.seqUpTo(model.rooms.nameOf(roomId) ?? "", storage.identity.nodeId, stamp),
    },
    files: fileReplica,
    take: (mailbox, roomId, ms) => messages.fromMailbox(mailbox, roomId, ms),
    filesCame: (ids) => {
      for (const id of ids) model.files.progressed(id, storage.files.have(id));
      files.refresh(undefined, ids);
    },
    pollMs: network.mailboxPollMs,
    log,
  });
  channel.register(mailboxes);
  const telling = new MailboxTelling({
    channel,
    shared: (nodeId) => membership.shared(nodeId),
    kept: (roomId) => mailboxes.kept(roomId),
    keepIn: (roomId, url) => mailboxes.keepIn(roomId, url),
    log,
  });
  channel.register(telling);
  membership.onSharedChange((nodeId) => telling.tell(nodeId ?? undefined));
  mailboxes.onChange(() => telling.tell());
  model.chat.onPosted(() => mailboxes.changed());
  // A peer that proved rooms may hold files we lack; new messages may carry some.
  membership.onSharedChange((nodeId) => files.refresh(nodeId ?? undefined));
  messages.onNewFiles((ids) => files.refresh(undefined, ids));
  model.rooms.onRoomsChanged(() => membership.roomsChanged());
  model.chat.onPosted((message) => messages.publish(message));
  model.people.onRenamed(() => membership.addressesChanged()); // a hello carries the name
  const presence = model.people.presence;
  let stopPresence = () => {};
  const sync: NodeSync = {
    start() {
      channel.start();
      stopPresence = links.onChange((nodeId, tier) => presence.linkChanged(nodeId, tier));
      for (const peer of storage.peers.known()) {
        // One that left every room of ours it was in is no member: not dialled.
        if (peer.rooms.length === 0 && peer.left.length > 0) continue;
        // An empty list (as after the upgrade to room ids) means not known: link and let the hello tell.
        // What it advertised when last linked: the user's `--peer`, resolved meanwhile, outranks it.
        // The first dials' outcome is not waited for: dials go on while the peer is wanted.
        membership.introduce({ ...peer.addresses, nodeId: peer.node_id }, peer.rooms.length > 0 ? peer.rooms : undefined, "advertised")?.catch(() => {});
      }
    },
    stop() {
      stopPresence();
      // Those linked until now were there until now: a restart shows them offline since this moment.
      presence.seenNow(links.status().filter((s) => s.state === "connected").map((s) => s.nodeId));
      channel.stop();
    },
    introduce: (address, roomIds) => membership.introduce(address, roomIds),
    addressesChanged: () => membership.addressesChanged(),
    delivery: (roomId, origin) => messages.delivery(roomId, origin),
    onHeld: (handler) => {
      const stops = [messages.onHeld(handler), mailboxes.onBoxed(handler)];
      return () => stops.forEach((stop) => stop());
    },
    mailboxes,
  };
  const linked: LinkedPeers = {
    status: () => links.status(),
    peerInfo: (nodeId) => membership.peerInfo(nodeId),
    chunkCounts: (nodeId) => files.chunkCounts(nodeId),
  };
  return { sync, linked };
}
