import { Type, type Static } from "@sinclair/typebox";
import { MAX_ROOM_AUTHORS } from "../domain/authors.ts";
import { MAX_SENT_AT, MIN_SENT_AT } from "../domain/dates.ts";
import { FileId, FileRefs } from "../domain/files.ts";
import { DisplayName, MAX_TEXT_LENGTH, NodeId } from "../domain/names.ts";
import { MembershipTag, RoomId } from "../domain/rooms.ts";
import { AdvertisedAddresses } from "../domain/urls.ts";

/** Limits on what one frame may carry; a frame past them is invalid and closes its link. */
export const LIMITS = {
  rooms: 1000,
  messagesPerFrame: 500,
  peersPerFrame: 256,
  originsPerRoom: MAX_ROOM_AUTHORS,
  textLength: MAX_TEXT_LENGTH,
  chunksPerRequest: 64,
  boxItemsPerFrame: 256,
} as const;

const Seq = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });

/** A person's certificate of the device a message comes from (the device is the message's origin). */
export const PersonCertField = Type.Object(
  {
    key: Type.String({ pattern: "^[A-Za-z0-9_-]{43}$" }),
    at: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    sig: Type.String({ pattern: "^[A-Za-z0-9_-]{86}$" }),
  },
  { additionalProperties: false },
);
export type PersonCertField = Static<typeof PersonCertField>;

/** A message as it travels between instances: the author's fields, without this instance's stamp. */
export const WireMessage = Type.Object(
  {
    origin: NodeId,
    room: RoomId,
    seq: Seq,
    peer_id: DisplayName,
    /** Empty only in a message that carries files (checked by the codec). */
    text: Type.String({ maxLength: LIMITS.textLength }),
    /** The author's clock, within fixed bounds every member judges alike (src/domain/dates.ts). */
    sent_at: Type.Integer({ minimum: MIN_SENT_AT, maximum: MAX_SENT_AT }),
    guest: Type.Optional(Type.Literal(true)),
    files: Type.Optional(FileRefs),
    /**
     * The author's person: its raw public key, base64url, and its certificate (when issued, and its signature) that
     * the origin is one of its devices (src/domain/persons.ts). Absent in messages from before persons.
     */
    person: Type.Optional(PersonCertField),
    /** The author instance's Ed25519 signature and raw public key, base64url (src/sync/signatures.ts). */
    sig: Type.String({ pattern: "^[A-Za-z0-9_-]{86}$" }),
    key: Type.String({ pattern: "^[A-Za-z0-9_-]{43}$" }),
  },
  { additionalProperties: false },
);

/**
 * First frame each way once a peer's link is up, and again whenever joined rooms change. Who sent it and which
 * protocol it speaks were settled by the link handshake. It names no room: for each of its rooms the sender proves
 * it holds the key (membershipTag), and the receiver recognises the proofs of the rooms it holds too.
 */
export const HelloFrame = Type.Object(
  {
    type: Type.Literal("hello"),
    name: DisplayName,
    proofs: Type.Array(MembershipTag, { maxItems: LIMITS.rooms }),
    addresses: AdvertisedAddresses,
  },
  { additionalProperties: false },
);

/** A digest of what is held of one author in a room: the XOR of its messages' hashes, base64url (src/storage/vectors.ts). */
const Digest = Type.String({ pattern: "^[A-Za-z0-9_-]{43}$" });

/**
 * What I hold of the rooms we share, so the other side sends what I lack; with, per author held from its first
 * message, the digest of what I hold of it: where our sequences agree and our digests do not, it told us different
 * things, and we send each other its messages (src/sync/reconcile.ts).
 */
export const VectorFrame = Type.Object(
  {
    type: Type.Literal("vector"),
    rooms: Type.Record(
      RoomId,
      Type.Record(NodeId, Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }), { maxProperties: LIMITS.originsPerRoom }),
      { maxProperties: LIMITS.rooms },
    ),
    digests: Type.Optional(Type.Record(RoomId, Type.Record(NodeId, Digest, { maxProperties: LIMITS.originsPerRoom }), { maxProperties: LIMITS.rooms })),
  },
  { additionalProperties: false },
);

/** Messages pushed when new, or sent to fill what a vector showed missing. */
export const MessagesFrame = Type.Object(
  { type: Type.Literal("messages"), messages: Type.Array(WireMessage, { maxItems: LIMITS.messagesPerFrame }) },
  { additionalProperties: false },
);

/** Other members of shared rooms, so a newcomer that knows one member meets all. */
export const PeersFrame = Type.Object(
  {
    type: Type.Literal("peers"),
    peers: Type.Array(
      Type.Object(
        { node_id: NodeId, name: DisplayName, rooms: Type.Array(RoomId, { maxItems: LIMITS.rooms }), addresses: AdvertisedAddresses },
        { additionalProperties: false },
      ),
      { maxItems: LIMITS.peersPerFrame },
    ),
  },
  { additionalProperties: false },
);

/** Chunk indexes in one request or refusal: a window's worth. */
const ChunkIndexes = Type.Array(Type.Integer({ minimum: 0, maximum: 1 << 20 }), { maxItems: LIMITS.chunksPerRequest });

/**
 * Asks for chunks of a file a message of `room` carries (src/sync/file-sync.ts); no chunks asks for its manifest.
 * Answered by `manifest` or `chunk` frames, or `lack` for what the sender will not or cannot send.
 */
export const WantFrame = Type.Object(
  { type: Type.Literal("want"), file: FileId, room: RoomId, chunks: ChunkIndexes },
  { additionalProperties: false },
);

/** A file's size; its chunk hashes follow as the binary tail, 32 bytes each. */
export const ManifestFrame = Type.Object(
  { type: Type.Literal("manifest"), file: FileId, size: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) },
  { additionalProperties: false },
);

/** One chunk of a file; its bytes are the binary tail. */
export const ChunkFrame = Type.Object(
  { type: Type.Literal("chunk"), file: FileId, index: Type.Integer({ minimum: 0, maximum: 1 << 20 }) },
  { additionalProperties: false },
);

/** Chunks (none: the manifest) asked for that the sender does not send: ask someone else, or later. */
export const LackFrame = Type.Object(
  { type: Type.Literal("lack"), file: FileId, chunks: ChunkIndexes },
  { additionalProperties: false },
);

/** How much of a file the sender holds now: each member shows how a file is reaching the room. */
export const HaveFrame = Type.Object(
  { type: Type.Literal("have"), file: FileId, bytes: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }) },
  { additionalProperties: false },
);

/** A room's topic at a mailbox, and an item's id there: 128 bits in base64url (src/mailbox/seal.ts). */
const BoxTag = Type.String({ pattern: "^[A-Za-z0-9_-]{22}$" });
/** The largest sealed item a mailbox frame carries: a file's chunk, sealed and padded. */
export const MAX_BOX_ITEM_BYTES = 320 * 1024;
/** An item in a mailbox frame's header; its sealed bytes follow the header's in the binary tail, in the same order. */
const BoxItemRef = Type.Object({ id: BoxTag, bytes: Type.Integer({ minimum: 1, maximum: MAX_BOX_ITEM_BYTES }) }, { additionalProperties: false });

/** A member to a mailbox: keep these items of the room whose topic this is. */
export const BoxPushFrame = Type.Object(
  { type: Type.Literal("box-push"), topic: BoxTag, items: Type.Array(BoxItemRef, { minItems: 1, maxItems: LIMITS.boxItemsPerFrame }) },
  { additionalProperties: false },
);

/** A mailbox to a member: what became of each item pushed; a refusal says why. */
export const BoxPushedFrame = Type.Object(
  {
    type: Type.Literal("box-pushed"),
    topic: BoxTag,
    results: Type.Array(
      Type.Object(
        { id: BoxTag, kind: Type.Union([Type.Literal("stored"), Type.Literal("held"), Type.Literal("refused")]), reason: Type.Optional(Type.String({ maxLength: 200 })) },
        { additionalProperties: false },
      ),
      { maxItems: LIMITS.boxItemsPerFrame },
    ),
  },
  { additionalProperties: false },
);

/** A member to a mailbox: the topic's items that came after `after` (its cursor there), at most `limit`. */
export const BoxGetFrame = Type.Object(
  {
    type: Type.Literal("box-get"),
    topic: BoxTag,
    after: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    limit: Type.Integer({ minimum: 1, maximum: LIMITS.boxItemsPerFrame }),
  },
  { additionalProperties: false },
);

/** A mailbox to a member: items in the order they came there, each with its stamp (the next cursor); `more` when more wait; a refusal says why. */
export const BoxItemsFrame = Type.Object(
  {
    type: Type.Literal("box-items"),
    topic: BoxTag,
    items: Type.Array(Type.Composite([BoxItemRef, Type.Object({ stamp: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) })], { additionalProperties: false }), {
      maxItems: LIMITS.boxItemsPerFrame,
    }),
    more: Type.Boolean(),
    refused: Type.Optional(Type.String({ maxLength: 200 })),
    /** The largest file whose chunks this mailbox keeps: larger ones stay with the members. */
    file_bytes: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
  },
  { additionalProperties: false },
);

/** Mailboxes a room is told to members per room: those it may be kept in (src/mailbox/tell.ts). */
export const MAILBOXES_PER_ROOM = 4;

/** The mailboxes of the rooms both sides share: each member keeps the room in them too. */
export const MailboxesFrame = Type.Object(
  {
    type: Type.Literal("mailboxes"),
    rooms: Type.Record(RoomId, Type.Array(Type.String({ maxLength: 300, pattern: "^https?://[^\\s]+$" }), { maxItems: MAILBOXES_PER_ROOM }), { maxProperties: LIMITS.rooms }),
  },
  { additionalProperties: false },
);

export const Frame = Type.Union([HelloFrame, VectorFrame, MessagesFrame, PeersFrame, WantFrame, ManifestFrame, ChunkFrame, LackFrame, HaveFrame, BoxPushFrame, BoxPushedFrame, BoxGetFrame, BoxItemsFrame, MailboxesFrame]);

export type WireMessage = Static<typeof WireMessage>;
export type HelloFrame = Static<typeof HelloFrame>;
export type VectorFrame = Static<typeof VectorFrame>;
export type MessagesFrame = Static<typeof MessagesFrame>;
export type PeersFrame = Static<typeof PeersFrame>;
export type WantFrame = Static<typeof WantFrame>;
export type ManifestFrame = Static<typeof ManifestFrame>;
export type ChunkFrame = Static<typeof ChunkFrame>;
export type LackFrame = Static<typeof LackFrame>;
export type HaveFrame = Static<typeof HaveFrame>;
export type BoxPushFrame = Static<typeof BoxPushFrame>;
export type BoxPushedFrame = Static<typeof BoxPushedFrame>;
export type BoxGetFrame = Static<typeof BoxGetFrame>;
export type BoxItemsFrame = Static<typeof BoxItemsFrame>;
export type MailboxesFrame = Static<typeof MailboxesFrame>;
export type Frame = Static<typeof Frame>;

/** Per room, per origin: the highest sequence held with no gap before it. */
export type VersionVector = VectorFrame["rooms"];
/** Per room, per origin: the digest of what is held of it up to its sequence in the vector. */
export type VectorDigests = NonNullable<VectorFrame["digests"]>;
