/**
 * What a member's use of mailboxes (member.ts, pull.ts, push.ts) needs of this instance: the rooms each mailbox serves,
 * its history and files by room id, its place at each mailbox, and where messages opened from a mailbox go.
 */
import type { RoomRef } from "../domain/rooms.ts";
import type { BoxPushedFrame, BoxItemsFrame, Frame, WireMessage } from "../sync/frames.ts";
import type { FileReplica } from "../sync/file-sync.ts";

/** The room's signed messages held here, by room id. */
export interface MailboxHistory {
  /** Stamped after `stamp`, in the order they came here, at most `limit`. */
  since(roomId: string, stamp: number, limit: number): { message: WireMessage; stamp: number }[];
  /** This instance's highest sequence in the room among its messages stamped up to `stamp`. */
  ownUpTo(roomId: string, stamp: number): number;
}

/** A member's place at each mailbox, per room id (storage/mailbox-marks.ts). */
export interface MailboxPlaces {
  of(mailbox: string, room: string): { read: number; pushed: number };
  setRead(mailbox: string, room: string, stamp: number): void;
  setPushed(mailbox: string, room: string, stamp: number): void;
  pushedIn(room: string): number;
}

/** What of this instance's files an item's manifest or chunk goes into, and what is pushed from. */
export type MailboxFiles = Pick<FileReplica, "manifest" | "register" | "open" | "carries" | "missing" | "putChunk" | "complete" | "mayStore" | "fetches" | "chunk">;

/** A mailbox's answer to one frame (null: none came, the link went, or it could not be sent). */
export type Answer<F extends BoxPushedFrame | BoxItemsFrame> = { frame: F; binary: Uint8Array } | null;

/** Asks a mailbox and waits for its answer to that topic. */
export type Ask = <F extends BoxPushedFrame | BoxItemsFrame>(mailbox: string, frame: Frame, binary?: Uint8Array) => Promise<Answer<F>>;

export interface MailboxesInit {
  channel: { send(nodeId: string, frame: Frame, binary?: Uint8Array): boolean; isUp(nodeId: string): boolean };
  /** The joined rooms the rendezvous `nodeId` serves (none: it is not one of ours). */
  served(nodeId: string): RoomRef[];
  /** The rendezvous that serve the room (by id), each with its node id once found (reach/rendezvous.ts). */
  rendezvousOf(roomId: string): { url: string; nodeId: string | null }[];
  /** Uses the instance at `url` as a rendezvous (and its mailbox) for the room (by id) from now on, across restarts. */
  use(roomId: string, url: string): void;
  places: MailboxPlaces;
  history: MailboxHistory;
  files: MailboxFiles;
  /**
   * Messages opened from a mailbox's items of a room: checked and stored as a peer's are (sync/messages.ts); answers
   * how many were left for later (new authors of a crowded room past the mailbox's rate): they are read again.
   */
  take(mailbox: string, roomId: string, messages: WireMessage[]): { later: number };
  /** Chunks of these files came from a mailbox. */
  filesCame(ids: string[]): void;
  /** How often each linked mailbox is asked for what came and given what it lacks. @default 10000 */
  pollMs?: number;
  log?: (line: string) => void;
}
