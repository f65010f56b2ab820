/** @jsxImportSource @kitajs/html */
import type { Message } from "../storage/index.ts";

/** Hours and minutes in UTC; the page's script rewrites it to the reader's local time. */
function clock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 16);
}

/** One message, the same for the full page, the SSE stream and the older-messages fragment. */
export function MessageItem({ message }: { message: Message }) {
  return (
    <li class="msg" id={`m-${message.timestamp}`} data-stamp={String(message.timestamp)}>
      <div class="meta">
        <span class="author" safe>
          {message.peer_id}
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

export function MessageList({ messages }: { messages: Message[] }) {
  return <>{messages.map((message) => <MessageItem message={message} />)}</>;
}
