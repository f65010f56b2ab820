/** @jsxImportSource @kitajs/html */
import type { Message } from "../storage/index.ts";
import { FileList, type FileStates } from "./file.tsx";

/** Hours and minutes in UTC; the page's script rewrites it to the reader's local time. */
function clock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 16);
}

/** The instance a message came from, by name when known here, else by its node id's start. */
export type InstanceNames = (nodeId: string) => string | undefined;

/** An instance by its name when known here, else by its node id's start. */
export function instanceLabel(names: InstanceNames, nodeId: string): string {
  return names(nodeId) ?? `instance ${nodeId.slice(0, 8)}`;
}

/**
 * Where a message was written: its instance, and whether by that instance's owner or a guest. Shown beside the
 * author's name, which anyone may type, so a guest who takes the owner's name is still told apart.
 */
export function sourceOf(message: Message, names: InstanceNames): string {
  const instance = instanceLabel(names, message.origin);
  return message.guest ? `guest at ${instance}` : instance;
}

/** How messages are shown to one reader: instances by name, and the state of files as that reader may see it. */
export interface MessageView {
  names: InstanceNames;
  files: FileStates;
}

/** One message, the same for the full page, the SSE stream and the older-messages fragment. */
export function MessageItem({ message, view }: { message: Message; view: MessageView }) {
  const { names } = view;
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
      {message.text === "" ? (
        ""
      ) : (
        <p class="text" safe>
          {message.text}
        </p>
      )}
      {message.files ? <FileList files={message.files} room={message.room} states={view.files} /> : ""}
    </li>
  );
}

export function MessageList({ messages, view }: { messages: Message[]; view: MessageView }) {
  return <>{messages.map((message) => <MessageItem message={message} view={view} />)}</>;
}
