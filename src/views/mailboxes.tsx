/** @jsxImportSource @kitajs/html */
import { roomPath } from "./links.ts";

/** One of a room's rendezvous as the owner sees it: where, whether it is linked, and what it answered as a mailbox. */
export interface MailboxView {
  url: string;
  /** Its node id, once found at its URL. */
  nodeId: string | null;
  linked: boolean;
  /** What it last answered: it keeps the room (`refusal`: but refused something), or keeps no mailbox. */
  answer?: { keeps: boolean; refusal?: string };
}

/** What the owner reads of one mailbox: whether it answers, and keeps the room. */
function mailboxState(box: MailboxView): { word: string; ok: boolean } {
  if (box.nodeId === null) return { word: "not reached yet", ok: false };
  if (box.answer && !box.answer.keeps) return { word: "a rendezvous only: it keeps no mailbox", ok: false };
  if (!box.linked) return { word: box.answer ? "keeps this room; not linked now" : "not linked now", ok: false };
  if (!box.answer) return { word: "asking…", ok: false };
  if (box.answer.refusal) return { word: `keeps this room, but refused: ${box.answer.refusal}`, ok: false };
  return { word: "answers, and keeps this room", ok: true };
}

/**
 * The room's mailboxes, in the members panel (the owner's): each with whether it answers; and the form that keeps the
 * room in one more, which every member is then told of.
 */
export function RoomMailboxes({ room, boxes }: { room: string; boxes: MailboxView[] }) {
  return (
    <div class="mailboxes">
      <h3>Mailboxes</h3>
      {boxes.length === 0 ? (
        <p class="hint">None: messages move only while a member who has them is online.</p>
      ) : (
        <ul class="mailbox-list">
          {boxes.map((box) => {
            const state = mailboxState(box);
            return (
              <li class={`mailbox ${state.ok ? "answers" : "silent"}`} data-url={box.url}>
                <span class="mailbox-url" safe>
                  {box.url}
                </span>{" "}
                <span class="mailbox-state" safe>
                  {state.word}
                </span>
              </li>
            );
          })}
        </ul>
      )}
      <details class="keep-in-mailbox" data-keep="mailbox-form">
        <summary>Keep this room in a mailbox</summary>
        <form method="post" action={roomPath(room, "mailboxes")} class="mailbox-form">
          <label>
            The mailbox's address (an E-Goat instance started with --mailbox)
            <input name="url" type="url" required maxlength="300" pattern="https?://.+" placeholder="http://home.example:8080" title="An http:// or https:// address" />
          </label>
          <p class="hint">It keeps this room's messages and files sealed: it cannot read them. Every member is told of it.</p>
          <button type="submit">Keep</button>
        </form>
      </details>
    </div>
  );
}
