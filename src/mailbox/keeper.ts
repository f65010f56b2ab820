/**
 * The mailbox's side (`--mailbox`): a sync handler that keeps the sealed items members push and hands them, in the
 * order they came, to members that ask. Only an instance waiting at the topic here (it proved the room's key to compute
 * it, as at any rendezvous) may push or read it; every refusal is an answer that says why, never a silent drop.
 */
import type { MailboxItem, PushResult } from "../storage/mailbox.ts";
import type { SyncHandler } from "../sync/channel.ts";
import type { BoxGetFrame, BoxPushFrame, Frame } from "../sync/frames.ts";
import { RateLimiter } from "../util/rate-limit.ts";

/** What a `box-items` frame carries at most of sealed bytes: a reader gets the rest with its next `box-get`. */
export const MAX_ITEMS_BYTES = 4 * 1024 * 1024;
/** The refusal of a member not waiting at the topic here: one whose `meet` is on its way asks again in a moment. */
export const NOT_WAITING = "wait at this topic here first (meet): only a room's members use its mailbox";
/** The refusal of a member past its rate: it asks again in a moment. */
export const TOO_MANY = "too many mailbox requests; ask again in a moment";
/** The refusal of an instance started without `--mailbox`. */
export const NO_MAILBOX = "this instance keeps no mailbox (it was started without --mailbox)";

export interface KeeperInit {
  /** The sync channel's sending half. */
  channel: { send(nodeId: string, frame: Frame, binary?: Uint8Array): boolean };
  /** Where items are kept; null: this instance keeps no mailbox, and says so to whoever asks. */
  store: {
    push(topic: string, id: string, pusher: string, sealed: Uint8Array): PushResult;
    since(topic: string, stamp: number, limit: number): MailboxItem[];
    /** The largest file whose chunks members push here: told to each reader. */
    readonly fileBytes: number;
  } | null;
  /** Whether `nodeId` waits at `topic` here now (the rendezvous's meeting point says). */
  waits: (nodeId: string, topic: string) => boolean;
  /** Frames a member may send a second, in bursts of ten times that. @default 20 */
  framesPerSecond?: number;
}

export class MailboxKeeper implements SyncHandler<"box-push" | "box-get"> {
  readonly types = ["box-push", "box-get"] as const;
  readonly #rate: RateLimiter;

  constructor(private readonly init: KeeperInit) {
    const perSecond = init.framesPerSecond ?? 20;
    this.#rate = new RateLimiter({ perSecond, burst: perSecond * 10 });
  }

  receive(from: string, frame: BoxPushFrame | BoxGetFrame, binary: Uint8Array): void {
    const refusal = !this.init.store
      ? NO_MAILBOX
      : !this.init.waits(from, frame.topic)
      ? NOT_WAITING
      : !this.#rate.take(from)
        ? TOO_MANY
        : null;
    if (frame.type === "box-push") return this.#push(from, frame, binary, refusal);
    if (refusal) return void this.init.channel.send(from, { type: "box-items", topic: frame.topic, items: [], more: false, refused: refusal });
    this.#get(from, frame);
  }

  #push(from: string, frame: BoxPushFrame, binary: Uint8Array, refusal: string | null): void {
    let at = 0;
    const results = frame.items.map(({ id, bytes }) => {
      const sealed = binary.subarray(at, (at += bytes));
      if (refusal) return { id, kind: "refused" as const, reason: refusal };
      const result = this.init.store!.push(frame.topic, id, from, sealed);
      return result.kind === "refused" ? { id, kind: result.kind, reason: result.reason } : { id, kind: result.kind };
    });
    this.init.channel.send(from, { type: "box-pushed", topic: frame.topic, results });
  }

  #get(from: string, frame: BoxGetFrame): void {
    const items = this.init.store!.since(frame.topic, frame.after, frame.limit);
    // At least one item goes, whatever its size; then as many as fit.
    const sent: MailboxItem[] = [];
    let bytes = 0;
    for (const item of items) {
      if (sent.length > 0 && bytes + item.sealed.byteLength > MAX_ITEMS_BYTES) break;
      sent.push(item);
      bytes += item.sealed.byteLength;
    }
    const binary = Buffer.concat(sent.map((item) => item.sealed));
    const refs = sent.map((item) => ({ id: item.id, bytes: item.sealed.byteLength, stamp: item.stamp }));
    this.init.channel.send(from, { type: "box-items", topic: frame.topic, items: refs, more: sent.length < items.length || items.length === frame.limit, file_bytes: this.init.store!.fileBytes }, binary);
  }
}
