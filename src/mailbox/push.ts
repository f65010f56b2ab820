/**
 * Giving a mailbox what it lacks of a room: every message held here (not only our own) past our place there, in the
 * order they came here, each followed by the files it carries that are whole here and within the mailbox's per-file
 * limit (manifest, then chunks). A page goes in frames, each answered before the next; our place moves on once the
 * mailbox kept (or held) all of a page, so what it refused is offered again later, never lost.
 */
import { roomIdOf, type RoomRef } from "../domain/rooms.ts";
import type { BoxPushedFrame, BoxPushFrame, WireMessage } from "../sync/frames.ts";
import { LIMITS } from "../sync/frames.ts";
import { encodeItem, itemRef, type Item } from "./items.ts";
import { MAX_ITEMS_BYTES, TOO_MANY } from "./keeper.ts";
import { RETRY_MS } from "./pull.ts";
import type { Ask, MailboxesInit } from "./ports.ts";
import { itemId, mailboxKeys, sealItem, type MailboxKeys } from "./seal.ts";

/** Messages read from storage at a time for a push. */
const PAGE = 256;
/** Tries of a frame the mailbox refused because we pushed faster than its rate. */
const RETRIES = 10;

/** An item to push: its id, and its bytes read only when its frame is filled (a file's chunks are not all held in memory). */
interface Outgoing {
  id: string;
  item: () => Item | null;
}

export interface PushContext {
  init: MailboxesInit;
  ask: Ask;
  /** Whether the message came from the mailbox itself: it is passed over. */
  fromThere(mailbox: string, roomId: string, m: WireMessage): boolean;
  /** The largest file the mailbox keeps. */
  fileBytes(mailbox: string): number;
  /** The mailbox refused an item, saying why. */
  refused(mailbox: string, reason: string): void;
  /** Our place at the mailbox in a room moved on. */
  pushed(roomId: string): void;
}

/** Pushes what the mailbox lacks of the room; false when it refused something or did not answer. */
export async function push(ctx: PushContext, mailbox: string, room: RoomRef): Promise<boolean> {
  const { init } = ctx;
  const keys = mailboxKeys(room, mailbox);
  const roomId = roomIdOf(room);
  let { pushed } = init.places.of(mailbox, roomId);
  for (;;) {
    const page = init.history.since(roomId, pushed, PAGE);
    if (page.length === 0) return true;
    const out = page.filter(({ message }) => !ctx.fromThere(mailbox, roomId, message)).flatMap(({ message }) => outgoing(ctx, mailbox, keys, roomId, message));
    if (!(await send(ctx, mailbox, keys, out))) return false;
    init.places.setPushed(mailbox, roomId, (pushed = page.at(-1)!.stamp));
    ctx.pushed(roomId);
    // What is written meanwhile goes with the next round (200 ms on): one frame a write would use up the mailbox's rate.
    if (page.length < PAGE) return true;
  }
}

/** A message's item, then those of the files it carries that are whole here and small enough for the mailbox. */
function outgoing(ctx: PushContext, mailbox: string, keys: MailboxKeys, roomId: string, message: WireMessage): Outgoing[] {
  const { files } = ctx.init;
  const out: Outgoing[] = [{ id: itemId(keys, "message", itemRef({ kind: "message", origin: message.origin, seq: message.seq })), item: () => ({ kind: "message", message }) }];
  for (const file of message.files ?? []) {
    const manifest = files.manifest(file.id);
    if (!manifest || manifest.size > ctx.fileBytes(mailbox) || files.missing(file.id, roomId).length > 0) continue;
    out.push({ id: itemId(keys, "chunk", itemRef({ kind: "manifest", id: file.id })), item: () => ({ kind: "manifest", ...manifest }) });
    manifest.hashes.forEach((_, index) => {
      out.push({
        id: itemId(keys, "chunk", itemRef({ kind: "chunk", file: file.id, index })),
        item: () => {
          const data = files.chunk(manifest, index);
          return data ? { kind: "chunk", file: file.id, index, data } : null;
        },
      });
    });
  }
  return out;
}

/** Sends items in frames of at most LIMITS.boxItemsPerFrame and MAX_ITEMS_BYTES, each answered before the next. */
async function send(ctx: PushContext, mailbox: string, keys: MailboxKeys, out: Outgoing[]): Promise<boolean> {
  let filling: { id: string; sealed: Uint8Array }[] = [];
  let bytes = 0;
  const flush = async () => {
    if (filling.length === 0) return true;
    const items = filling;
    filling = [];
    bytes = 0;
    const frame: BoxPushFrame = { type: "box-push", topic: keys.topic, items: items.map((i) => ({ id: i.id, bytes: i.sealed.byteLength })) };
    const binary = Buffer.concat(items.map((i) => i.sealed));
    let answer = await ctx.ask<BoxPushedFrame>(mailbox, frame, binary);
    for (let tries = 0; answer && answer.frame.results.every((r) => r.reason === TOO_MANY) && tries < RETRIES; tries++) {
      await Bun.sleep(RETRY_MS);
      answer = await ctx.ask<BoxPushedFrame>(mailbox, frame, binary);
    }
    if (!answer) return false;
    const refusal = answer.frame.results.find((r) => r.kind === "refused");
    if (refusal) ctx.refused(mailbox, refusal.reason ?? "refused");
    return !refusal && answer.frame.results.length === items.length;
  };
  for (const { id, item } of out) {
    const got = item();
    if (!got) continue; // a chunk gone meanwhile (the file was dropped): nothing to give
    const sealed = sealItem(keys, id, encodeItem(got));
    if (filling.length === LIMITS.boxItemsPerFrame || (filling.length > 0 && bytes + sealed.byteLength > MAX_ITEMS_BYTES)) {
      if (!(await flush())) return false;
    }
    filling.push({ id, sealed });
    bytes += sealed.byteLength;
  }
  return flush();
}
