/**
 * A member's use of mailboxes: each rendezvous of ours that keeps a mailbox (`--mailbox` there) is, for the rooms it
 * serves, read from (pull.ts) and filled (push.ts) whenever a link to it comes up, and every `pollMs` while linked, and
 * soon after a message is written here. A sync handler: the mailbox's answers come as `box-items` and `box-pushed`.
 */
import type { SyncHandler } from "../sync/channel.ts";
import { Handlers } from "../util/handlers.ts";
import type { BoxItemsFrame, BoxPushedFrame, Frame, WireMessage } from "../sync/frames.ts";
import { NO_MAILBOX } from "./keeper.ts";
import type { Answer, MailboxesInit } from "./ports.ts";
import { pull } from "./pull.ts";
import { push } from "./push.ts";

/** The largest file a mailbox keeps unless it says otherwise (the keeper's default). */
export const DEFAULT_FILE_BYTES = 100_000_000;
/** A mailbox that answers nothing in this time is asked again at the next round. */
const ANSWER_MS = 30_000;
/** A message written here goes to the mailboxes this soon after (one round for a burst). */
const SOON_MS = 200;
/** A rendezvous that keeps no mailbox is asked again this much later (or when it links again: it may have restarted as one). */
const NO_MAILBOX_AGAIN_MS = 10 * 60_000;
/** A room's push refused (a share used up, say) is tried again this much later. */
const REFUSED_PAUSE_MS = 60_000;

/** What a mailbox last answered: it keeps items for us, or refused saying why. */
export interface MailboxAnswer {
  at: number;
  keeps: boolean;
  refusal?: string;
}

/** A rendezvous of a room as the members panel shows it: whether it is linked, and what it last answered as a mailbox. */
export interface RoomMailbox {
  url: string;
  nodeId: string | null;
  linked: boolean;
  answer?: MailboxAnswer;
}

interface Waiting {
  mailbox: string;
  resolve: (answer: Answer<BoxPushedFrame | BoxItemsFrame>) => void;
  timer: ReturnType<typeof setTimeout>;
}

export class Mailboxes implements SyncHandler<"box-pushed" | "box-items"> {
  readonly types = ["box-pushed", "box-items"] as const;
  readonly #init: MailboxesInit;
  /** Answers awaited, by mailbox, topic and frame type. */
  readonly #waiting = new Map<string, Waiting>();
  /** Mailboxes whose round runs now, each with what wakes it early. */
  readonly #running = new Map<string, () => void>();
  readonly #answers = new Map<string, MailboxAnswer>();
  readonly #fileBytes = new Map<string, number>();
  /** Messages that came from each mailbox (room, origin, sequence), passed over when pushing there. */
  readonly #fromThere = new Map<string, Set<string>>();
  /** Per room id, this instance's sequence up to which a mailbox holds its messages (see `boxed`). */
  readonly #boxed = new Map<string, number>();
  /** Per mailbox and room, until when its refused push waits. */
  readonly #paused = new Map<string, number>();
  readonly #onBoxed = new Handlers<[roomId: string]>();
  readonly #onChange = new Handlers<[]>();
  #soon: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;

  constructor(init: MailboxesInit) {
    this.#init = init;
  }

  receive(from: string, frame: BoxPushedFrame | BoxItemsFrame, binary: Uint8Array): void {
    const key = `${from}\0${frame.topic}\0${frame.type}`;
    const waiting = this.#waiting.get(key);
    if (!waiting) return; // an answer to nothing asked (or asked too long ago)
    this.#waiting.delete(key);
    clearTimeout(waiting.timer);
    waiting.resolve({ frame, binary });
  }

  peerUp(nodeId: string, first: boolean): void {
    if (first) this.#round(nodeId);
  }

  peerDown(nodeId: string): void {
    for (const [key, waiting] of this.#waiting) {
      if (waiting.mailbox !== nodeId) continue;
      this.#waiting.delete(key);
      clearTimeout(waiting.timer);
      waiting.resolve(null);
    }
    this.#running.get(nodeId)?.();
    if (this.#answers.get(nodeId)?.keeps === false) this.#answers.delete(nodeId);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#soon);
    for (const wake of this.#running.values()) wake();
    for (const nodeId of new Set([...this.#waiting.values()].map((w) => w.mailbox))) this.peerDown(nodeId);
  }

  /** Something new to give (a message written here, rooms or mailboxes changed): every linked mailbox gets a round soon. */
  changed(): void {
    if (this.#soon || this.#stopped) return;
    this.#soon = setTimeout(() => {
      this.#soon = undefined;
      for (const [nodeId, wake] of this.#running) if (this.#init.served(nodeId).length > 0) wake();
    }, SOON_MS);
  }

  /** A rendezvous of ours is known at `nodeId` now, perhaps for more rooms: if it is linked already, its round starts. */
  serves(nodeId: string): void {
    this.#onChange.emit();
    if (this.#init.channel.isUp(nodeId)) this.#round(nodeId);
  }

  /** The rendezvous of the room (by id), with whether each is linked and keeps a mailbox. */
  of(roomId: string): RoomMailbox[] {
    return this.#init.rendezvousOf(roomId).map(({ url, nodeId }) => {
      const answer = nodeId === null ? undefined : this.#answers.get(nodeId);
      return { url, nodeId, linked: nodeId !== null && this.#init.channel.isUp(nodeId), ...(answer ? { answer } : {}) };
    });
  }

  /** The URLs of the room's mailboxes: the rendezvous that answered as one. */
  kept(roomId: string): string[] {
    return this.of(roomId).flatMap((box) => (box.answer?.keeps ? [box.url] : []));
  }

  /** Keeps the room (by id) in the mailbox at `url` from now on: it is used at once, and told to the room's members once it answers. */
  keepIn(roomId: string, url: string): void {
    this.#init.use(roomId, url);
    this.#onChange.emit();
  }

  /** Calls `handler` when the rooms' mailboxes, or what one answers, may have changed (see `of` and `kept`). */
  onChange(handler: () => void): () => void {
    return this.#onChange.add(handler);
  }

  /** What the mailbox at `nodeId` last answered; undefined when it never did. */
  answer(nodeId: string): MailboxAnswer | undefined {
    return this.#answers.get(nodeId);
  }

  /** This instance's sequence in the room (id) up to which its messages are held by a mailbox. */
  boxed(roomId: string): number {
    let seq = this.#boxed.get(roomId);
    if (seq === undefined) this.#boxed.set(roomId, (seq = this.#init.history.ownUpTo(roomId, this.#init.places.pushedIn(roomId))));
    return seq;
  }

  /** Calls `handler` with a room's id when a mailbox came to hold more of what is held here. */
  onBoxed(handler: (roomId: string) => void): () => void {
    return this.#onBoxed.add(handler);
  }

  /** Rounds with the mailbox while it is linked: read, then fill, each room it serves; then wait for the next. */
  #round(mailbox: string): void {
    if (this.#running.has(mailbox) || this.#stopped) return this.#running.get(mailbox)?.();
    this.#running.set(mailbox, () => {});
    this.#rounds(mailbox)
      .catch((error: unknown) => this.#init.log?.(`mailbox ${mailbox}: ${(error as Error).message}`))
      .finally(() => this.#running.delete(mailbox));
  }

  async #rounds(mailbox: string): Promise<void> {
    const ctx = {
      init: this.#init,
      ask: this.#ask,
      answered: (nodeId: string, refusal: string | null, fileBytes?: number) => {
        // Any other refusal comes from a keeper that keeps a mailbox (not for us yet, or not so often).
        this.#answer(nodeId, refusal !== NO_MAILBOX, refusal);
        if (fileBytes !== undefined) this.#fileBytes.set(nodeId, fileBytes);
      },
      cameFrom: (nodeId: string, roomId: string, m: WireMessage) => this.#from(nodeId).add(`${roomId}\0${m.origin}\0${m.seq}`),
      fromThere: (nodeId: string, roomId: string, m: WireMessage) => this.#from(nodeId).delete(`${roomId}\0${m.origin}\0${m.seq}`),
      fileBytes: (nodeId: string) => this.#fileBytes.get(nodeId) ?? DEFAULT_FILE_BYTES,
      refused: (nodeId: string, reason: string) => {
        this.#answer(nodeId, true, reason);
        this.#init.log?.(`mailbox ${nodeId} refused what we pushed: ${reason}`);
      },
      pushed: (roomId: string) => {
        this.#boxed.delete(roomId);
        this.#onBoxed.emit(roomId);
      },
    };
    while (!this.#stopped && this.#init.channel.isUp(mailbox)) {
      const said = this.#answers.get(mailbox);
      const none = said?.keeps === false && Date.now() - said.at < NO_MAILBOX_AGAIN_MS;
      for (const room of none ? [] : this.#init.served(mailbox)) {
        if (!(await pull(ctx, mailbox, room))) continue;
        const key = `${mailbox}\0${room.name}`;
        if ((this.#paused.get(key) ?? 0) > Date.now()) continue;
        if (!(await push(ctx, mailbox, room)) && this.#answers.get(mailbox)?.refusal) this.#paused.set(key, Date.now() + REFUSED_PAUSE_MS);
      }
      await new Promise<void>((wake) => {
        const timer = setTimeout(wake, this.#init.pollMs ?? 10_000);
        this.#running.set(mailbox, () => {
          clearTimeout(timer);
          wake();
        });
      });
    }
  }

  /** Keeps what the mailbox answered; those watching hear of a change. */
  #answer(nodeId: string, keeps: boolean, refusal: string | null): void {
    const was = this.#answers.get(nodeId);
    this.#answers.set(nodeId, { at: Date.now(), keeps, ...(refusal === null ? {} : { refusal }) });
    if (was?.keeps !== keeps || was.refusal !== (refusal ?? undefined)) this.#onChange.emit();
  }

  /** Sends `frame` to the mailbox and waits for its answer on the frame's topic (null: none in time, or the link went). */
  readonly #ask = <F extends BoxPushedFrame | BoxItemsFrame>(mailbox: string, frame: Frame, binary?: Uint8Array): Promise<Answer<F>> =>
    new Promise((resolve) => {
      if (frame.type !== "box-get" && frame.type !== "box-push") return resolve(null);
      const key = `${mailbox}\0${frame.topic}\0${frame.type === "box-get" ? "box-items" : "box-pushed"}`;
      this.#waiting.get(key)?.resolve(null);
      const timer = setTimeout(() => {
        this.#waiting.delete(key);
        resolve(null);
      }, ANSWER_MS);
      this.#waiting.set(key, { mailbox, resolve: resolve as Waiting["resolve"], timer });
      if (!this.#init.channel.send(mailbox, frame, binary)) {
        this.#waiting.delete(key);
        clearTimeout(timer);
        resolve(null);
      }
    });

  #from(mailbox: string): Set<string> {
    let set = this.#fromThere.get(mailbox);
    if (!set) this.#fromThere.set(mailbox, (set = new Set()));
    return set;
  }
}
