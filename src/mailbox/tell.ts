/**
 * A room's mailboxes are part of the room: each member tells the others of the mailboxes it keeps the room in (those
 * that answered as one), and keeps the room in those it is told of, from then on and across restarts. So a mailbox
 * added in one member's panel reaches every member, also one that was away then, at its next link to any member.
 * Told only to a peer that proved the room, and only of rooms it proved.
 */
import { instanceOrigin } from "../domain/rooms.ts";
import type { SyncHandler } from "../sync/channel.ts";
import type { Frame, MailboxesFrame } from "../sync/frames.ts";
import { MAILBOXES_PER_ROOM } from "../sync/frames.ts";

export interface TellingInit {
  channel: { send(nodeId: string, frame: Frame): boolean; peers(): Iterable<string> };
  /** The rooms (ids) a linked peer proved it shares with us; undefined before its hello. */
  shared(nodeId: string): string[] | undefined;
  /** The URLs of the mailboxes the room (by id) is kept in here. */
  kept(roomId: string): string[];
  /** Keeps the room (by id) in the mailbox at `url` too, as a member told. */
  keepIn(roomId: string, url: string): void;
  log?: (line: string) => void;
}

export class MailboxTelling implements SyncHandler<"mailboxes"> {
  readonly types = ["mailboxes"] as const;
  /** What each peer was last told, so a peer hears only of a change. */
  readonly #told = new Map<string, string>();

  constructor(private readonly init: TellingInit) {}

  receive(from: string, frame: MailboxesFrame): void {
    const shared = new Set(this.init.shared(from) ?? []);
    for (const [roomId, urls] of Object.entries(frame.rooms)) {
      if (!shared.has(roomId)) continue;
      const kept = new Set(this.init.kept(roomId));
      for (const url of urls.slice(0, MAILBOXES_PER_ROOM)) {
        const origin = instanceOrigin(url);
        if (origin === null || kept.has(origin)) continue;
        this.init.log?.(`${from} keeps a room of ours in the mailbox at ${origin}: so do we from now on`);
        this.init.keepIn(roomId, origin);
      }
    }
  }

  peerDown(nodeId: string): void {
    this.#told.delete(nodeId);
  }

  /** Tells the peer (one: its rooms are known now; none: every linked peer) of the mailboxes of the rooms it shares, when that changed. */
  tell(nodeId?: string): void {
    for (const peer of nodeId === undefined ? [...this.init.channel.peers()] : [nodeId]) {
      const rooms: Record<string, string[]> = {};
      for (const roomId of this.init.shared(peer) ?? []) {
        const urls = this.init.kept(roomId).slice(0, MAILBOXES_PER_ROOM);
        if (urls.length > 0) rooms[roomId] = urls;
      }
      const said = JSON.stringify(rooms);
      if ((this.#told.get(peer) ?? "{}") === said) continue;
      if (this.init.channel.send(peer, { type: "mailboxes", rooms })) this.#told.set(peer, said);
    }
  }
}
