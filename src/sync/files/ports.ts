/**
 * What file transfer needs of this instance: its storage of files, rooms by id (`FileReplica`, which
 * src/rooms/files.ts provides), and its links (`FileLinks`, which the link manager provides); and what FileSync is
 * built with. The fetching half (fetch.ts) and the serving half (serve.ts) use them; src/sync/file-sync.ts composes
 * the two.
 */
import type { RoomHold } from "../../storage/file-rooms.ts";
import type { FileManifest } from "../../storage/files.ts";

/** A file to fetch, with the rooms (ids) whose messages carry it and that it has not come whole through yet. */
export interface WantedFetch {
  id: string;
  size: number;
  rooms: string[];
}

/** What file transfer needs of this instance's storage (rooms by id). */
export interface FileReplica {
  /**
   * Files to fetch whose ids come after `after`, among the next `limit` wanted ones: those the settings or the owner's
   * choice say to fetch. `next` is where the following page starts; null once past the last.
   */
  wanted(after: string, limit: number): { files: WantedFetch[]; next: string | null };
  /** Whether a message of the room carries the file. */
  carries(roomId: string, fileId: string): boolean;
  /** The file's manifest, when known here (through whichever room). */
  manifest(id: string): FileManifest | null;
  register(manifest: FileManifest): void;
  /** How the file's bytes stand in the room: none came through it, some did, all did. */
  hold(id: string, roomId: string): RoomHold;
  /** The file's manifest came through the room. */
  open(id: string, roomId: string): void;
  /** The chunks of the file that have not come through the room. */
  missing(id: string, roomId: string): number[];
  /**
   * Stores chunk `index` if it matches the manifest, as come through `roomIds`: true once stored, false (nothing
   * stored) when it does not. Takes `data`: its memory may move elsewhere (storage/chunk-writer.ts).
   */
  putChunk(manifest: FileManifest, index: number, data: Uint8Array, roomIds: string[]): Promise<boolean>;
  /** Whether a member of the room may have chunk `index` of the file (null: its manifest). */
  servable(id: string, roomId: string, index: number | null): boolean;
  chunk(manifest: FileManifest, index: number): Uint8Array | null;
  /** Every chunk came through the room: the file is whole there (and here, once all its chunks are). */
  complete(id: string, roomId: string): void;
  /** Bytes of the file that came through the room. */
  have(id: string, roomId: string): number;
  /** Whether a file of `size` bytes, `more` of them not here yet, may be stored (the size limit, the disk's margin). */
  mayStore(size: number, more: number): boolean;
  /** Whether the file, of `size` bytes as its manifest says, is to be fetched (the owner's settings or choice). */
  fetches(id: string, size: number): boolean;
  /** Calls `listener` when the owner asks for a file or cancels its fetch (null: the settings changed); returns its removal. */
  onChoice?(listener: (id: string | null, wanted: boolean) => void): () => void;
  /** A file is being fetched now, waits for a member that has it, or neither. */
  status?(id: string, status: "fetching" | "waiting" | null): void;
}

/** What file transfer needs of the links (the link manager provides it). */
export interface FileLinks {
  /** Sends a frame, whole or in parts (a chunk's header and its data, sealed in turn, never joined). */
  send(nodeId: string, data: Uint8Array | readonly Uint8Array[]): boolean;
  /** Bytes waiting to leave on the peer's primary link; null when it has none. */
  buffered(nodeId: string): number | null;
}

export interface FileSyncInit {
  replica: FileReplica;
  links: FileLinks;
  /** Linked peers that proved they hold the room. */
  members(roomId: string): string[];
  /** The rooms (ids) a linked peer proved it shares with this instance. */
  peerRooms(nodeId: string): string[];
  /** A peer sent something that failed its check. */
  penalize(nodeId: string, why: string): void;
  /** Bytes of a file held here changed (a chunk came, or the file is whole). */
  onProgress?(fileId: string, bytes: number): void;
  /** A member says how much of a file it holds. */
  onPeerHave?(fileId: string, nodeId: string, bytes: number): void;
  log?: (line: string) => void;
}
