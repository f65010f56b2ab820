/**
 * Reading a room's items at a mailbox: asks for what came since this member's place there, opens each item, and takes
 * messages as a peer's are taken (signature, sequence) and chunks as a peer's are (each against its manifest's hash),
 * in the order the mailbox got them; the place moves on only once a page is taken, so a restart reads nothing twice
 * and misses nothing.
 */
import { roomIdOf, type RoomRef } from "../domain/rooms.ts";
import { manifestProblem } from "../storage/files.ts";
import type { BoxItemsFrame, WireMessage } from "../sync/frames.ts";
import { LIMITS } from "../sync/frames.ts";
import { decodeItem, type Item } from "./items.ts";
import { NOT_WAITING, TOO_MANY } from "./keeper.ts";
import type { Ask, MailboxesInit } from "./ports.ts";
import { mailboxKeys, openItem } from "./seal.ts";

/**
 * Tries of a read the mailbox refused for a moment: our `meet` had not reached it yet (it goes on the same link, just
 * before), or we asked faster than its rate.
 */
const RETRIES = 10;
export const RETRY_MS = 1000;

export interface PullContext {
  init: MailboxesInit;
  ask: Ask;
  /** The mailbox answered (null) or refused, saying why. */
  answered(mailbox: string, refusal: string | null, fileBytes?: number): void;
  /** A message that came from the mailbox: it is not pushed back there. */
  cameFrom(mailbox: string, roomId: string, m: WireMessage): void;
}

/** Reads the room's items at `mailbox` past our place there, page by page; false when it did not answer or refused. */
export async function pull(ctx: PullContext, mailbox: string, room: RoomRef): Promise<boolean> {
  const keys = mailboxKeys(room, mailbox);
  const roomId = roomIdOf(room);
  let { read } = ctx.init.places.of(mailbox, roomId);
  for (let tries = 0; ; ) {
    const answer = await ctx.ask<BoxItemsFrame>(mailbox, { type: "box-get", topic: keys.topic, after: read, limit: LIMITS.boxItemsPerFrame });
    if (!answer) return false;
    const { frame, binary } = answer;
    if (frame.refused !== undefined) {
      ctx.answered(mailbox, frame.refused);
      if ((frame.refused !== NOT_WAITING && frame.refused !== TOO_MANY) || ++tries > RETRIES) return false;
      await Bun.sleep(RETRY_MS);
      continue;
    }
    ctx.answered(mailbox, null, frame.file_bytes);
    // A page with messages left for later is read again at the next round (what was taken is then held already).
    if (!(await take(ctx, mailbox, roomId, keys, frame, binary))) return true;
    if (frame.items.length > 0) ctx.init.places.setRead(mailbox, roomId, (read = frame.items.at(-1)!.stamp));
    if (!frame.more) return true;
  }
}

/**
 * Opens a page of items and takes them in order: messages in runs, each file item once the messages before it are in.
 * False when some messages were left for later.
 */
async function take(ctx: PullContext, mailbox: string, roomId: string, keys: ReturnType<typeof mailboxKeys>, frame: BoxItemsFrame, binary: Uint8Array): Promise<boolean> {
  const { init } = ctx;
  const run: WireMessage[] = [];
  const files = new Set<string>();
  let unopened = 0;
  let later = 0;
  const flush = () => {
    if (run.length > 0) later += init.take(mailbox, roomId, run.splice(0)).later;
  };
  let at = 0;
  for (const ref of frame.items) {
    const plain = openItem(keys, ref.id, binary.subarray(at, (at += ref.bytes)));
    const item = plain && decodeItem(plain);
    if (!item || (item.kind === "message" && item.message.room !== roomId)) {
      unopened++;
      continue;
    }
    if (item.kind === "message") {
      run.push(item.message);
      ctx.cameFrom(mailbox, roomId, item.message);
      continue;
    }
    flush();
    if (await takeFile(init, roomId, item)) files.add(item.kind === "chunk" ? item.file : item.id);
  }
  flush();
  if (unopened > 0) init.log?.(`mailbox ${mailbox}: ${unopened} items of a room of ours would not open as one (a member sealed something else)`);
  if (files.size > 0) init.filesCame([...files]);
  return later === 0;
}

/** Takes a file's manifest or chunk for the room, when a message of the room carries the file and it is to be held here. */
async function takeFile(init: MailboxesInit, roomId: string, item: Exclude<Item, { kind: "message" }>): Promise<boolean> {
  const { files } = init;
  const id = item.kind === "chunk" ? item.file : item.id;
  if (!files.carries(roomId, id)) return false;
  if (item.kind === "manifest") {
    if (manifestProblem(item) !== null) return false;
    if (!files.manifest(id)) files.register({ id, size: item.size, hashes: item.hashes });
  }
  const manifest = files.manifest(id);
  if (!manifest || !files.fetches(id, manifest.size) || !files.mayStore(manifest.size, manifest.size)) return false;
  if (item.kind === "manifest") return files.open(id, roomId), true;
  if (!files.missing(id, roomId).includes(item.index)) return false;
  if (!(await files.putChunk(manifest, item.index, item.data, [roomId]))) return false;
  if (files.missing(id, roomId).length === 0) files.complete(id, roomId);
  return true;
}
