/** @jsxImportSource @kitajs/html */
import type { PeerStatus } from "../node.ts";
import type { Message } from "../storage/index.ts";
import { Layout, type InstanceInfo } from "./layout.tsx";
import { roomHref, roomPath } from "./links.ts";
import { MessageList } from "./message.tsx";
import { PeersPanel } from "./peers.tsx";

export interface RoomProps {
  instance: InstanceInfo;
  room: string;
  peerId: string;
  rooms: string[];
  messages: Message[];
  /** True when messages older than the first shown exist. */
  hasOlder: boolean;
  /** Showing the newest messages (and so streaming new ones), not a window into the past. */
  live: boolean;
  inviteUrl: string;
  peers: PeerStatus[];
  error?: string;
  draft?: string;
}

/** The link that loads the page of messages before `before`; replaces itself with them when htmx is there. */
export function OlderItem({ room, peerId, before }: { room: string; peerId: string; before: number }) {
  const query = new URLSearchParams({ before: String(before), peer_id: peerId });
  return (
    <li class="older">
      <a href={roomHref(room, peerId, before)} hx-get={roomPath(room, `older?${query}`)} hx-target="closest li" hx-swap="outerHTML">
        Load older messages
      </a>
    </li>
  );
}

export function SendForm({ room, peerId, error, draft }: { room: string; peerId: string; error?: string; draft?: string }) {
  const action = roomPath(room, "messages");
  return (
    <form id="send" class="send" method="post" action={action} hx-post={action} hx-swap="outerHTML">
      <input type="hidden" name="peer_id" value={peerId} />
      <label class="visually-hidden" for="text">
        Message
      </label>
      <textarea id="text" name="text" required maxlength="16384" rows="2" placeholder={`Message #${room} as ${peerId}`} autofocus safe>
        {draft ?? ""}
      </textarea>
      <button type="submit">Send</button>
      {error ? (
        <p class="error" role="alert" safe>
          {error}
        </p>
      ) : (
        ""
      )}
    </form>
  );
}

function Invite({ url }: { url: string }) {
  return (
    <section class="card invite">
      <h2>Invite</h2>
      <p>Anyone who can reach this computer joins with this link:</p>
      <div class="copy-row">
        <input id="invite-url" readonly value={url} aria-label="Invite link" />
        <button type="button" data-copy="#invite-url">
          Copy
        </button>
      </div>
    </section>
  );
}

export function Room(props: RoomProps) {
  const { room, peerId, messages } = props;
  const last = messages.at(-1)?.timestamp ?? 0;
  const live = props.live
    ? { "hx-sse:connect": roomPath(room, `events?${new URLSearchParams({ since: String(last), peer_id: peerId })}`), "hx-swap": "beforeend" }
    : {};
  return (
    <Layout title={`#${room} · E-Goat`} instance={props.instance}>
      <main class="room-view">
        <section class="chat">
          <h1 class="room-name" safe>
            {`#${room}`}
          </h1>
          <ol id="messages" class="messages" aria-live="polite" {...live}>
            {props.hasOlder && messages[0] ? <OlderItem room={room} peerId={peerId} before={messages[0].timestamp} /> : ""}
            <MessageList messages={messages} />
          </ol>
          {props.live ? (
            ""
          ) : (
            <a class="latest" href={roomHref(room, peerId)}>
              Jump to the latest messages
            </a>
          )}
          <SendForm room={room} peerId={peerId} error={props.error} draft={props.draft} />
        </section>
        <aside class="side">
          <section class="card">
            <h2>Rooms</h2>
            <ul class="rooms">
              {props.rooms.map((r) => (
                <li class={r === room ? "current" : ""}>
                  <a href={roomHref(r, peerId)} safe>
                    {r}
                  </a>
                </li>
              ))}
            </ul>
            <a class="new-room" href="/">
              + New room
            </a>
          </section>
          <Invite url={props.inviteUrl} />
          <PeersPanel peers={props.peers} />
        </aside>
      </main>
    </Layout>
  );
}
