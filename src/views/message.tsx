/** @jsxImportSource @kitajs/html */
import { groupedNodeId } from "../domain/names.ts";
import type { Message } from "../storage/index.ts";
import { FileList, type FileStates } from "./file.tsx";
import { MessageText } from "./text.tsx";
import { isoTime, shownTime } from "./time.ts";

/** Hours and minutes in UTC, labelled so; the page's script rewrites `time` elements to the reader's local time. */
export function clock(ms: number): string {
  return `${isoTime(ms)?.slice(11, 16) ?? "--:--"} UTC`;
}

/** A day as people read it, in UTC (the page's script redraws the days in the reader's time zone). */
export function dayLabel(ms: number): string {
  if (isoTime(ms) === null) return "an unknown day";
  return new Date(ms).toLocaleDateString("en-GB", { weekday: "long", day: "numeric", month: "long", year: "numeric", timeZone: "UTC" });
}

const utcDay = (ms: number) => isoTime(ms)?.slice(0, 10) ?? "";

/** The instance a message came from, by name when known here, else by its node id's start. */
export type InstanceNames = (nodeId: string) => string | undefined;

/** An instance by its name when known here, else by its node id's start. */
export function instanceLabel(names: InstanceNames, nodeId: string): string {
  return names(nodeId) ?? `instance ${nodeId.slice(0, 8)}`;
}

/**
 * An instance as people tell it apart: the start of its node id ("3f9c-0a51"), which no other instance can take as it
 * can take a display name; "this instance" for this very one, which no other can be.
 */
export function instanceMark(nodeId: string, self: string): string {
  return nodeId === self ? "this instance" : groupedNodeId(nodeId).slice(0, 9);
}

/**
 * Where a message was written: its instance, by name and by mark, and whether by that instance's owner or a guest.
 * Shown beside the author's name, which anyone may type: a guest who takes the owner's name, or an instance that
 * takes another's name, is still told apart.
 */
export function sourceOf(message: Message, names: InstanceNames, self: string): string {
  const name = names(message.origin);
  const mark = instanceMark(message.origin, self);
  // An instance whose name is not known here is told by its mark alone ("instance 3f9c-0a51"), not by its id twice.
  const instance = name === undefined ? (message.origin === self ? mark : `instance ${mark}`) : `${name} · ${mark}`;
  return message.guest ? `guest at ${instance}` : instance;
}

/** Who wrote a message, and where: the name anyone may type, then its instance (and whether by a guest there). */
export function Byline({ message, names, self }: { message: Message; names: InstanceNames; self: string }) {
  return (
    <>
      <span class="author" safe>
        {message.peer_id}
      </span>
      <span class="source" title={`node ${groupedNodeId(message.origin)}`} safe>
        {sourceOf(message, names, self)}
      </span>
    </>
  );
}

/**
 * Who reads the page: this instance's owner or a guest (a browser), and the `peer_id` their page's links carry (the
 * guest's name; for the owner only an override of the name set in the page). Their own messages are set apart.
 */
export interface Reader {
  nodeId: string;
  writeAs: string;
  owner: boolean;
  /** For a guest: whether this browser wrote the message stamped so (by the id its cookie holds, never by a name). */
  wrote?: (stamp: number) => boolean;
}

/** How messages are shown to one reader: instances by name, the state of files, and how far the reader's own got. */
export interface MessageView {
  names: InstanceNames;
  files: FileStates;
  reader: Reader;
  /** This instance's messages of the room up to this sequence are held by every linked member (0: none yet). */
  delivered: () => number;
  /** This instance's messages of the room up to this sequence are held by a mailbox (0: none, or no mailbox). */
  boxed: () => number;
}

/**
 * Written by the reader: by this instance's owner under any name, or by this very guest browser. Two guests who type
 * the same name are two readers; the owner who writes under another name is still the owner.
 */
export function isOwn(message: Message, reader: Reader): boolean {
  if (message.origin !== reader.nodeId) return false;
  return reader.owner ? !message.guest : message.guest === true && (reader.wrote?.(message.timestamp) ?? false);
}

/** How far a message of the reader's got: stored here, held by a mailbox, held by every linked member. */
export type Reached = "sent" | "boxed" | "delivered";

/** The words and sign of each mark; public/send.js moves a mark on with the same ones. */
export const MARKS: Record<Reached, { sign: string; word: string; title: string }> = {
  sent: { sign: "✓", word: "sent", title: "Sent: stored on this instance, not yet held by every linked member" },
  boxed: { sign: "✓✉", word: "in a mailbox", title: "In a mailbox: members that come online get it from there, even while this instance is away" },
  delivered: { sign: "✓✓", word: "delivered", title: "Delivered: every linked member instance holds it" },
};

/** How far the message of sequence `seq` got, by what the view says of the reader's own. */
export function reachedOf(seq: number, view: Pick<MessageView, "delivered" | "boxed">): Reached {
  return seq <= view.delivered() ? "delivered" : seq <= view.boxed() ? "boxed" : "sent";
}

/** A message of the reader's, with how far it got. */
function DeliveryMark({ reached }: { reached: Reached }) {
  const mark = MARKS[reached];
  return (
    <span class={`mark ${reached}`} title={mark.title}>
      <span aria-hidden="true" safe>
        {mark.sign}
      </span>
      <span class="visually-hidden" safe>
        {mark.word}
      </span>
    </span>
  );
}

/** One message, the same for the full page, the SSE stream and the older-messages fragment. */
export function MessageItem({ message, view }: { message: Message; view: MessageView }) {
  const { names } = view;
  const own = isOwn(message, view.reader);
  const classes = ["msg", message.guest ? "guest" : "", own ? "own" : ""].filter(Boolean).join(" ");
  // Far from its arrival, the arrival is shown, and the page says how far off the author's date was.
  const when = shownTime(message);
  return (
    <li class={classes} id={`m-${message.timestamp}`} data-stamp={String(message.timestamp)} data-origin={message.origin} data-seq={String(message.seq)}>
      <div class="meta">
        <Byline message={message} names={names} self={view.reader.nodeId} />
        <time datetime={isoTime(when.ms) ?? ""} title={when.note ? `the author's clock said ${when.authorIso ?? "an impossible date"}` : (when.authorIso ?? "")} safe>
          {clock(when.ms)}
        </time>
        {when.note ? (
          <span class="clock-off" safe>
            {when.note}
          </span>
        ) : (
          ""
        )}
        {message.conflicting ? (
          <span class="conflicting" title="It signed two different messages with one number: every member keeps the same one of them.">
            this author sent conflicting messages
          </span>
        ) : (
          ""
        )}
        {own ? <DeliveryMark reached={reachedOf(message.seq, view)} /> : ""}
      </div>
      {message.text === "" ? "" : <MessageText text={message.text} />}
      {message.files ? <FileList files={message.files} room={message.room} states={view.files} /> : ""}
    </li>
  );
}

/** A day's heading in the list, before its first message. */
export function DayItem({ ms }: { ms: number }) {
  return (
    <li class="day" data-day={utcDay(ms)}>
      <time datetime={utcDay(ms)} safe>
        {`${dayLabel(ms)} (UTC)`}
      </time>
    </li>
  );
}

/** Messages with a day's heading where the day changes (and before the first). */
export function MessageList({ messages, view }: { messages: Message[]; view: MessageView }) {
  return (
    <>
      {messages.map((message, i) => (
        <>
          {i === 0 || utcDay(shownTime(messages[i - 1]!).ms) !== utcDay(shownTime(message).ms) ? <DayItem ms={shownTime(message).ms} /> : ""}
          <MessageItem message={message} view={view} />
        </>
      ))}
    </>
  );
}
