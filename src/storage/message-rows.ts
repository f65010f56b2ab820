/** A message as stored, as the API shows it and as its rows read back: the shapes every message store shares. */
import type { FileRef } from "../domain/files.ts";

/** A message whose date no member accepts (src/domain/dates.ts): it is never stored. */
export class MessageDateError extends Error {
  override name = "MessageDateError";
}

/** A chat message as stored and as the API shows it; `timestamp` is the local stamp. */
export interface Message {
  id: string;
  room: string;
  origin: string;
  seq: number;
  peer_id: string;
  text: string;
  sent_at: number;
  timestamp: number;
  /** Written by a guest of the origin instance (a browser on another machine), not by its owner; absent otherwise. */
  guest?: true;
  /** The files the message carries; absent when none. */
  files?: FileRef[];
  /** Its author signed two different messages with one sequence number in this room; absent otherwise. */
  conflicting?: true;
  /** The author's person id (issue 25); the origin for a message from before persons. */
  person: string;
}

/** A person's certificate of a message's origin, as the message carries it (src/domain/persons.ts). */
export interface PersonCert {
  key: string;
  at: number;
  sig: string;
}

/** What an author's instance decides about a message, with its signature; the stamp is added by whoever stores it. */
export type NewMessage = Omit<Message, "id" | "timestamp" | "conflicting" | "person"> & { sig: string; key: string; person?: PersonCert };

/** What became of a message from another instance (`MessageStore.receive`). */
export type Received =
  /** Stored; `evicted` is the author whose place it took in a full room, with the files only its messages carried. */
  | { kind: "new"; message: Message; evicted?: { origin: string; files: string[] } }
  /** This very message is here already. */
  | { kind: "held" }
  /**
   * Its author signed another message with the same sequence, and this one's hash is lower: it replaced that one
   * (with a new stamp, so `/history?since` shows it again). The author is flagged either way.
   */
  | { kind: "won"; message: Message; replaced: number; files: string[] }
  /** Its author signed another message with the same sequence, whose hash is lower: that one stays. */
  | { kind: "lost" }
  /** Its author was evicted from the full room, and this message is one it had then (see RoomAuthors). */
  | { kind: "passed" };

export function messageId(origin: string, seq: number, room: string): string {
  return `${origin}:${seq}:${room}`;
}

export const COLUMNS = `id, room, origin, seq, peer_id, text, sent_at, stamp AS timestamp, guest, files, coalesce(person, origin) AS person,
  EXISTS (SELECT 1 FROM conflicting_authors c WHERE c.room = messages.room AND c.origin = messages.origin) AS conflicting`;


/** One search hit: the message, and its text with the matches between `\u0001` and `\u0002` (for the view to mark). */
export interface SearchHit {
  message: Message;
  marked: string;
}

/** Someone who wrote in a room: their name, where (origin, and whether a guest there), and when last. */
export interface Author {
  peer_id: string;
  origin: string;
  guest: boolean;
  last: number;
}

/** Most unread messages counted in a room (the page shows "99+" well before). */
export const UNREAD_CAP = 1000;

/** A row as a message: `guest` and `conflicting` only when set (SQLite has no booleans), `files` parsed and only when there are some. */
export function fromRow<T extends { guest?: unknown; files?: unknown; conflicting?: unknown; person_cert?: unknown }>(row: T): T {
  const { guest, files, conflicting, person_cert, ...rest } = row;
  return {
    ...rest,
    ...(guest ? { guest: true } : {}),
    ...(typeof files === "string" ? { files: JSON.parse(files) } : {}),
    ...(conflicting ? { conflicting: true } : {}),
    ...(typeof person_cert === "string" ? { person: JSON.parse(person_cert) } : {}),
  } as T;
}
