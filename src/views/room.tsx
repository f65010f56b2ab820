/** @jsxImportSource @kitajs/html */
import { MAX_TEXT_LENGTH } from "../domain/names.ts";
import type { RoomActivity } from "../rooms/news.ts";
import type { PeerStatus } from "../rooms/peers.ts";
import type { Message } from "../storage/index.ts";
import type { FileSettings } from "../domain/files.ts";
import { FileSettingsMenu } from "./file.tsx";
import { Layout, type InstanceInfo } from "./layout.tsx";
import { nameQuery, roomHref, roomPath } from "./links.ts";
import { MembersPanel, type MembersPanelView } from "./members.tsx";
import { MessageList, type MessageView } from "./message.tsx";
import { PeersPanel } from "./peers.tsx";
import { Invite, type InviteView } from "./reach.tsx";
import { RoomList } from "./rooms.tsx";

export interface RoomProps {
  instance: InstanceInfo;
  room: string;
  /** What the page's links carry as `peer_id`: a guest's name; for the owner only an override ("" for none). */
  writeAs: string;
  /** The name the reader writes under. */
  writer: string;
  /** The owner sees every room, the invite and the peers; a guest only this room. */
  owner: boolean;
  rooms: RoomActivity[];
  view: MessageView;
  messages: Message[];
  /** True when messages older than the first shown exist. */
  hasOlder: boolean;
  /** Showing the newest messages (and so streaming new ones), not a window into the past. */
  live: boolean;
  /** The room's invite link and its QR code (SVG), for the owner, with how this instance is reached. */
  invite?: InviteView;
  members: MembersPanelView;
  peers: PeerStatus[];
  /** The owner's file settings (what is fetched by itself, guests' quotas), for its menu. */
  fileSettings?: FileSettings;
  error?: string;
  draft?: string;
}

/** The link that loads the page of messages before `before`; replaces itself with them when htmx is there. */
export function OlderItem({ room, writeAs, before }: { room: string; writeAs: string; before: number }) {
  const query = new URLSearchParams({ before: String(before), ...nameQuery(writeAs) });
  return (
    <li class="older">
      <a href={roomHref(room, writeAs, before)} hx-get={roomPath(room, `older?${query}`)} hx-target="closest li" hx-swap="outerHTML">
        Load older messages
      </a>
    </li>
  );
}

/** A fresh name for one send: the instance answers a retry of it with the message it stored, never a second one. */
export const sendNonce = () => crypto.randomUUID();

/**
 * The message form. Its limit is stated in characters, as the text box counts them; the page's script adds a counter
 * near it, keeps the draft in the browser, and sends it on its own (with pending, sent and delivered marks).
 */
export function SendForm({ room, writer, error, draft }: { room: string; writer: string; error?: string; draft?: string }) {
  const action = roomPath(room, "messages");
  return (
    <form id="send" class="send" method="post" action={action} data-room={room}>
      <input type="hidden" name="peer_id" value={writer} />
      <input type="hidden" name="nonce" value={sendNonce()} />
      <label class="visually-hidden" for="text" safe>
        {`Message (up to ${MAX_TEXT_LENGTH.toLocaleString("en")} characters)`}
      </label>
      <textarea
        id="text"
        name="text"
        required
        maxlength={String(MAX_TEXT_LENGTH)}
        rows="2"
        placeholder={`Message #${room} as ${writer}`}
        aria-describedby="send-count send-error"
        safe
      >
        {draft ?? ""}
      </textarea>
      <button type="submit">Send</button>
      <p id="send-count" class="count" aria-live="polite"></p>
      {error ? (
        <p id="send-error" class="error" role="alert" safe>
          {error}
        </p>
      ) : (
        <p id="send-error" class="error" role="alert" hidden></p>
      )}
    </form>
  );
}

/**
 * Files for the room: a real multipart form, so a browser without JavaScript uploads with it too. The page's script
 * instead sends each file chosen, dropped or pasted on its own, with a progress bar in the list above.
 */
export function AttachForm({ room, writeAs }: { room: string; writeAs: string }) {
  return (
    <form id="attach" class="attach" method="post" action={roomPath(room, writeAs === "" ? "files" : `files?${new URLSearchParams(nameQuery(writeAs))}`)} enctype="multipart/form-data">
      <input id="attach-file" type="file" name="file" multiple required />
      <label class="attach-button" for="attach-file" title="Attach files (or drop them on the room, or paste them)">
        Attach
      </label>
      <button type="submit" class="attach-send">
        Send file
      </button>
    </form>
  );
}

/**
 * The owner's name, kept by this instance (chat.db) for every room and every page: changed here, it is what the owner
 * writes under from then on, and what linked members see.
 */
function NameMenu({ room, writeAs, writer }: { room: string; writeAs: string; writer: string }) {
  return (
    <details class="rename" name="room-tools">
      <summary>Name</summary>
      <form method="post" action="/name" class="rename-form">
        <input type="hidden" name="room" value={room} />
        {writeAs === "" ? "" : <input type="hidden" name="peer_id" value={writeAs} />}
        <label>
          Your name (up to 64 characters)
          <input name="name" required maxlength="64" value={writer} autocomplete="nickname" />
        </label>
        <button type="submit">Save</button>
      </form>
    </details>
  );
}

/** What the owner may do to the room itself: search is for everyone, the name and leaving are the owner's. */
function RoomTools({ room, writeAs, writer, owner, fileSettings }: { room: string; writeAs: string; writer: string; owner: boolean; fileSettings?: FileSettings }) {
  return (
    <div class="room-tools">
      <details class="find" name="room-tools">
        <summary>Search</summary>
        <form class="search" method="get" action={roomPath(room, "search")} role="search">
          {writeAs === "" ? "" : <input type="hidden" name="peer_id" value={writeAs} />}
          <input type="search" name="q" required maxlength="200" placeholder="Words to find" aria-label={`Search #${room}`} />
          <button type="submit">Search</button>
        </form>
      </details>
      <details class="alerts needs-js" name="room-tools">
        <summary>Alerts</summary>
        <div class="alerts-body">
          <label class="check">
            <input type="checkbox" data-setting="notify" /> Desktop notifications for new messages
          </label>
          <label class="check">
            <input type="checkbox" data-setting="sound" /> Sound
          </label>
        </div>
      </details>
      {owner ? <NameMenu room={room} writeAs={writeAs} writer={writer} /> : ""}
      {owner && fileSettings ? <FileSettingsMenu settings={fileSettings} room={room} writeAs={writeAs} /> : ""}
      {owner ? (
        <details class="leave" name="room-tools">
          <summary>Leave</summary>
          <form method="post" action={roomPath(room, "leave")} class="leave-form">
            <p safe>{`Leave #${room}? Its messages stop coming here, and its members no longer reach you through it.`}</p>
            <label class="check">
              <input type="checkbox" name="delete" value="1" /> Also delete its history on this instance
            </label>
            <button type="submit" class="danger">
              Leave the room
            </button>
          </form>
        </details>
      ) : (
        ""
      )}
    </div>
  );
}

/** On a phone the side panels sit below the chat: these links reach them without scrolling past it. */
function PhoneNav({ owner, unread }: { owner: boolean; unread: number }) {
  return (
    <nav class="phone-nav" aria-label="Room panels">
      {owner ? <a href="#rooms-card">{unread > 0 ? `Rooms (${unread} unread)` : "Rooms"}</a> : ""}
      <a href="#members">Members</a>
      {owner ? <a href="#invite">Invite</a> : ""}
    </nav>
  );
}

export function Room(props: RoomProps) {
  const { room, writeAs, messages } = props;
  const last = messages.at(-1)?.timestamp ?? 0;
  const live = props.live
    ? { "hx-sse:connect": roomPath(room, `events?${new URLSearchParams({ since: String(last), ...nameQuery(writeAs) })}`), "hx-swap": "beforeend" }
    : {};
  const unreadElsewhere = props.rooms.filter((r) => r.name !== room).reduce((sum, r) => sum + r.unread, 0);
  return (
    <Layout title={`#${room} · E-Goat`} instance={props.instance}>
      <main class="room-view">
        <section id="chat" class="chat" aria-labelledby="room-name">
          <header class="chat-head">
            <h1 id="room-name" class="room-name" title={room} safe>
              {`#${room}`}
            </h1>
            <PhoneNav owner={props.owner} unread={unreadElsewhere} />
            <RoomTools room={room} writeAs={writeAs} writer={props.writer} owner={props.owner} fileSettings={props.fileSettings} />
          </header>
          {/* Laid out from the bottom up, so the newest messages are in view on load, with or without the script. */}
          <div class="scroller" tabindex="0" aria-label="Messages">
            <ol
              id="messages"
              class="messages"
              aria-live="polite"
              data-self={props.instance.nodeId}
              data-room={room}
              data-peer={writeAs}
              data-owner={props.owner ? "1" : "0"}
              {...live}
            >
              {props.hasOlder && messages[0] ? <OlderItem room={room} writeAs={writeAs} before={messages[0].timestamp} /> : ""}
              {messages.length === 0 ? <li class="empty-room">No messages yet. Say hello.</li> : ""}
              <MessageList messages={messages} view={props.view} />
            </ol>
          </div>
          {props.live ? (
            ""
          ) : (
            <a class="latest" href={roomHref(room, writeAs)}>
              Jump to the latest messages
            </a>
          )}
          <div class="composer">
            <ul id="uploads" class="uploads" aria-live="polite"></ul>
            <AttachForm room={room} writeAs={writeAs} />
            <SendForm room={room} writer={props.writer} error={props.error} draft={props.draft} />
          </div>
        </section>
        <aside class="side">
          {props.owner ? <OwnerRooms {...props} /> : ""}
          <MembersPanel {...props.members} />
          {props.invite ? <Invite {...props.invite} /> : ""}
          {props.owner ? <PeersPanel peers={props.peers} /> : ""}
        </aside>
      </main>
    </Layout>
  );
}

/** The owner's rooms beside the chat, the most recently active first. */
function OwnerRooms(props: RoomProps) {
  return (
    <section id="rooms-card" class="card">
      <h2>Rooms</h2>
      <RoomList rooms={props.rooms} current={props.room} writeAs={props.writeAs} />
      <a class="new-room" href="/">
        + New room
      </a>
      <a class="back-to-chat" href="#chat">
        Back to the chat
      </a>
    </section>
  );
}
