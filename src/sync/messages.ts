import { Handlers } from "../util/handlers.ts";
import { Acceptance } from "./acceptance.ts";
import { inFrames } from "./batch.ts";
import { CatchUps, type HistoryReplica } from "./catch-up.ts";
import type { SyncChannel, SyncHandler } from "./channel.ts";
import type { MessagesFrame, VectorDigests, VectorFrame, VersionVector, WireMessage } from "./frames.ts";
import type { Membership } from "./membership.ts";
import { SendGate } from "./send-gate.ts";
import { SentMarks } from "./sent-marks.ts";

/** What replication of messages needs of this instance: its rooms' messages. */
export interface MessageReplica extends HistoryReplica {
  /**
   * Stores a message `from` (a linked peer) sent: `new` (or `won`: its author signed another with the same sequence,
   * and this one stays everywhere) when stored; `lost` when the other one stays; `held`, `passed` or `ignored` (a room
   * not joined here) when nothing changed.
   */
  ingest(message: WireMessage, from: string): Ingested;
  /** Whether this very message is stored here already (its signature need not be checked again). */
  holds(message: WireMessage): boolean;
}

export type Ingested = "new" | "won" | "lost" | "held" | "passed" | "ignored";

/** A peer that sent messages hears the vector they made here this soon after (one frame for a burst): its delivery marks. */
const ACK_MS = 50;

/**
 * Keeps the messages of shared rooms the same everywhere: pushes new messages at once, forwards messages new to it to
 * the room's other peers, and on every link change and periodically exchanges version vectors so whatever was lost in
 * flight is sent again.
 */
export class Messages implements SyncHandler<"vector" | "messages"> {
  readonly types = ["vector", "messages"] as const;
  readonly #channel: SyncChannel;
  readonly #members: Membership;
  readonly #replica: MessageReplica;
  readonly #log: (line: string) => void;
  readonly #antiEntropyMs: number;
  /** What went over each peer's current primary link: a catch-up does not send it twice. */
  readonly #sent = new SentMarks();
  /** Each linked peer's last vector: what it holds, for delivery marks. */
  readonly #theirs = new Map<string, VersionVector>();
  /** Peers that sent messages and are owed our vector, each with its timer. */
  readonly #acks = new Map<string, ReturnType<typeof setTimeout>>();
  /** What may be queued toward each peer, and all of them. */
  readonly #gate: SendGate;
  /** What each peer's vector shows it lacks, being sent. */
  readonly #catchUps: CatchUps;
  /** Which of the messages a peer sent are stored. */
  readonly #acceptance: Acceptance;
  readonly #held = new Handlers<[room: string]>();
  readonly #newFiles = new Handlers<[ids: string[]]>();
  #timers: ReturnType<typeof setInterval>[] = [];

  constructor(init: { channel: SyncChannel; members: Membership; replica: MessageReplica; antiEntropyMs?: number; log?: (line: string) => void }) {
    this.#channel = init.channel;
    this.#members = init.members;
    this.#replica = init.replica;
    this.#log = init.log ?? (() => {});
    this.#antiEntropyMs = init.antiEntropyMs ?? 10_000;
    this.#gate = new SendGate(init.channel, () => init.channel.peers());
    this.#catchUps = new CatchUps({
      channel: init.channel,
      gate: this.#gate,
      replica: init.replica,
      shared: (nodeId) => init.members.shared(nodeId),
      marks: { upTo: (peer, room, origin) => this.#sentUpTo(peer, room, origin), sent: (peer, room, origin, seq) => this.#sent.sent(peer, room, origin, seq) },
    });
    this.#acceptance = new Acceptance((from, what) => init.channel.refuse(from, what), this.#log);
    // A peer that proved rooms, or rooms of ours that changed: compare vectors for the rooms now shared.
    init.members.onSharedChange((nodeId) => {
      if (nodeId !== null) return this.#sendVector(nodeId);
      for (const id of this.#channel.peers()) this.#sendVector(id);
    });
  }

  /** Calls `handler` with a room's id whenever what its linked members hold may have changed (see `delivery`). */
  onHeld(handler: (room: string) => void): () => void {
    return this.#held.add(handler);
  }

  /** Calls `handler` with the ids of the files that messages new here carry. */
  onNewFiles(handler: (ids: string[]) => void): () => void {
    return this.#newFiles.add(handler);
  }

  start(): void {
    const antiEntropy = setInterval(() => {
      for (const nodeId of this.#channel.peers()) this.#sendVector(nodeId);
    }, this.#antiEntropyMs);
    // A reader that stopped: its link holds what was sent to it and drains none of it. It is closed, and lets go of that.
    const watch = setInterval(() => {
      for (const nodeId of this.#gate.stuck()) {
        this.#log(`${nodeId} reads nothing of what waits for it (${this.#channel.buffered(nodeId) ?? 0} bytes): its link is closed`);
        this.#channel.closePrimary(nodeId, "not reading what is sent");
      }
    }, 1000);
    this.#timers = [antiEntropy, watch];
  }

  stop(): void {
    this.#timers.splice(0).forEach(clearInterval);
    this.#acks.forEach(clearTimeout);
  }

  receive(from: string, frame: VectorFrame | MessagesFrame): void {
    if (frame.type === "vector") return void this.#onVector(from, frame);
    this.#onMessages(from, frame.messages);
  }

  primaryChanged(nodeId: string): void {
    this.#sent.forget(nodeId);
    this.#catchUps.forget(nodeId);
  }

  peerUp(nodeId: string): void {
    // Compare vectors on every new primary, so nothing lost in flight stays lost.
    this.#sendVector(nodeId);
  }

  peerDown(nodeId: string): void {
    this.#theirs.delete(nodeId);
    this.#heldChanged(nodeId);
  }

  /**
   * How far `origin`'s messages in `room` reached: every linked member holds them up to `seq`, as their last vectors
   * say (0 when no member is linked: nothing is delivered to no one), and how many members are linked.
   */
  delivery(room: string, origin: string): { seq: number; members: number } {
    const members = this.#members.sharing(room);
    const seq = members.length === 0 ? 0 : Math.min(...members.map((nodeId) => this.#theirs.get(nodeId)?.[room]?.[origin] ?? 0));
    return { seq, members: members.length };
  }

  /** Pushes a message authored here to every linked peer that has joined its room. */
  publish(message: WireMessage): void {
    for (const nodeId of this.#members.sharing(message.room)) this.#push(nodeId, [message]);
  }

  /** A peer's vector: what it holds, for delivery marks, and what it lacks, sent by a catch-up. */
  #onVector(from: string, frame: VectorFrame): Promise<void> {
    this.#theirs.set(from, frame.rooms);
    this.#heldChanged(from);
    return this.#catchUps.vector(from, frame);
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
      if (m.seq === held + 1) this.#sent.sent(nodeId, m.room, m.origin, m.seq);
    }
  }

  #sentUpTo(peer: string, room: string, origin: string): number {
    return this.#sent.upTo(peer, room, origin, this.#theirs.get(peer)?.[room]?.[origin] ?? 0);
  }

  /** Tells the rooms `nodeId` shares with us that what their linked members hold may have changed. */
  #heldChanged(nodeId: string): void {
    for (const room of this.#members.shared(nodeId) ?? []) this.#held.emit(room);
  }

  /** Owes the peer our vector: what it sent is then marked delivered there, without waiting for the periodic one. */
  #ack(nodeId: string): void {
    if (this.#acks.has(nodeId)) return;
    this.#acks.set(
      nodeId,
      setTimeout(() => {
        this.#acks.delete(nodeId);
        if (this.#channel.isUp(nodeId)) this.#sendVector(nodeId);
      }, ACK_MS),
    );
  }

  /**
   * Messages opened from a mailbox's items of the room `roomId` (src/mailbox/pull.ts): stored as a peer's are, each by
   * its signature and sequence (the mailbox is counted against for what fails), and forwarded to the linked members.
   */
  fromMailbox(mailbox: string, roomId: string, messages: WireMessage[]): { later: number } {
    return { later: this.#take(mailbox, messages, new Set([roomId])).later };
  }

  #onMessages(from: string, messages: WireMessage[]): void {
    // Only rooms both sides joined: a peer cannot push into a room it never proved it holds.
    const senderRooms = this.#members.peerInfo(from)?.rooms;
    // Held already or new, the sender learns we have them (a duplicate means it does not know yet).
    if (messages.some((m) => senderRooms?.has(m.room))) this.#ack(from);
    const { kept } = this.#take(from, messages, senderRooms);
    // The sender holds a message its author signed with the same sequence as one of ours, and ours stays: it gets ours.
    if (kept.length > 0 && this.#gate.mayPush(from)) this.#sendMessages(from, kept);
  }

  /**
   * Stores what is acceptable of `messages` in `rooms`, and forwards what was new here to the rooms' other peers;
   * answers how many were left for later (new authors of a crowded room, past the sender's rate), and ours of those
   * that lost to ours (same author and sequence).
   */
  #take(from: string, messages: WireMessage[], senderRooms: ReadonlySet<string> | undefined): { later: number; kept: WireMessage[] } {
    // Each room's vector as this frame found it, with the origins the frame adds.
    const held = new Map<string, Map<string, number>>();
    const heldIn = (room: string) => held.get(room) ?? held.set(room, new Map(Object.entries(this.#replica.vector(room)))).get(room)!;
    const fresh: WireMessage[] = [];
    const kept: WireMessage[] = [];
    let later = 0;
    for (const m of messages) {
      // A copy of what is here already changes nothing: no signature is checked for it (a catch-up from several peers,
      // a mailbox handing back what this instance pushed).
      if (!senderRooms?.has(m.room) || this.#replica.holds(m)) continue;
      const verdict = this.#acceptance.acceptable(from, m, heldIn(m.room));
      if (verdict === "later") later++;
      if (verdict !== "yes") continue;
      const ingested = this.#replica.ingest(m, from);
      if (ingested === "new" || ingested === "won") fresh.push(m);
      if (ingested === "lost") kept.push(...this.#replica.after(m.origin, m.room, m.seq - 1, 1).filter((ours) => ours.seq === m.seq));
    }
    if (fresh.length === 0) return { later, kept };
    if (fresh.some((m) => m.files)) this.#newFiles.emit(fresh.flatMap((m) => m.files ?? []).map((f) => f.id));
    // Forward what was new here to the room's other peers, which may not be linked to the sender.
    for (const nodeId of this.#channel.peers()) {
      if (nodeId === from) continue;
      const info = this.#members.peerInfo(nodeId);
      const forward = fresh.filter((m) => m.origin !== nodeId && info?.rooms.has(m.room));
      if (forward.length > 0) this.#push(nodeId, forward);
    }
    return { later, kept };
  }

  #sendVector(nodeId: string): void {
    const shared = this.#members.shared(nodeId);
    // A peer whose link holds much hears our vector once it has read what waits.
    if (!shared || !this.#gate.mayPush(nodeId)) return;
    const rooms: VersionVector = {};
    const digests: VectorDigests = {};
    for (const room of shared) {
      rooms[room] = this.#replica.vector(room);
      digests[room] = this.#replica.digests(room);
    }
    this.#channel.send(nodeId, { type: "vector", rooms, digests });
  }

  /**
   * Pushes messages in as many frames as their count and size need, each only while the peer's link has room; false
   * once it has not (or no live link), and what was left goes with a later catch-up.
   */
  #sendMessages(nodeId: string, messages: WireMessage[]): boolean {
    for (const frame of inFrames(messages)) {
      if (!this.#gate.mayPush(nodeId) || !this.#channel.send(nodeId, { type: "messages", messages: frame })) return false;
    }
    return true;
  }
}
