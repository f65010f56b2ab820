/** @jsxImportSource @kitajs/html */
import type { Message } from "../storage/index.ts";

/** Hours and minutes in UTC; the page's script rewrites it to the reader's local time. */
function clock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 16);
}

/** The instance a message came from, by name when known here, else by its node id's start. */
export type InstanceNames = (nodeId: string) => string | undefined;

/**
 * Where a message was written: its instance, and whether by that instance's owner or a guest. Shown beside the
 * author's name, which anyone may type, so a guest who takes the owner's name is still told apart.
 */
export function sourceOf(message: Message, names: InstanceNames): string {
  const instance = names(message.origin) ?? `instance ${message.origin.slice(0, 8)}`;
  return message.guest ? `guest at ${instance}` : instance;
}

/** One message, the same for the full page, the SSE stream and the older-messages fragment. */
export function MessageItem({ message, names }: { message: Message; names: InstanceNames }) {
  return (
    <li class={message.guest ? "msg guest" : "msg"} id={`m-${message.timestamp}`} data-stamp={String(message.timestamp)}>
      <div class="meta">
        <span class="author" safe>
          {message.peer_id}
        </span>
        <span class="source" safe>
          {sourceOf(message, names)}
        </span>
        <time datetime={new Date(message.sent_at).toISOString()} title={new Date(message.sent_at).toISOString()} safe>
          {clock(message.sent_at)}
        </time>
      </div>
      <p class="text" safe>
        {message.text}
      </p>
    </li>
  );
}

export function MessageList({ messages, names }: { messages: Message[]; names: InstanceNames }) {
  return <>{messages.map((message) => <MessageItem message={message} names={names} />)}</>;
}
