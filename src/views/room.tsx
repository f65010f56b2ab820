/** @jsxImportSource @kitajs/html */
import { urlHost } from "../util/ip.ts";
import { MAX_TEXT_LENGTH } from "../domain/names.ts";
import type { RoomActivity } from "../rooms/news.ts";
import type { PeerStatus } from "../rooms/peers.ts";
import type { Tier } from "../domain/tiers.ts";
import type { PortMappingState } from "../reach/port-mapping/index.ts";
import type { Message } from "../storage/index.ts";
import type { FileSettings } from "../domain/files.ts";
import { FileSettingsMenu } from "./file.tsx";
import { Layout, type InstanceInfo } from "./layout.tsx";
import { peerQuery, roomHref, roomPath } from "./links.ts";
import { MembersPanel, type MemberView } from "./members.tsx";
import { clock, MessageList, type MessageView } from "./message.tsx";
import { PeersPanel } from "./peers.tsx";
import { RoomList } from "./rooms.tsx";

export interface RoomProps {
  instance: InstanceInfo;
  room: string;
  /** What the page's links carry as `peer_id`: a guest's name; for the owner only an override ("" for none). */
  peerId: string;
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
  invite?: {
    url: string;
    qrSvg: string;
    private: boolean;
    reach: ReachView;
    linked: LinkedView;
    stun: string | null;
    rendezvous: string[];
    mapping: PortMappingState | null;
  };
  members: MemberView[];
  peers: PeerStatus[];
  /** The owner's file settings (what is fetched by itself, guests' quotas), for its menu. */
  fileSettings?: FileSettings;
  error?: string;
  draft?: string;
}

/** The link that loads the page of messages before `before`; replaces itself with them when htmx is there. */
export function OlderItem({ room, peerId, before }: { room: string; peerId: string; before: number }) {
  const query = new URLSearchParams({ before: String(before), ...peerQuery(peerId) });
  return (
    <li class="older">
      <a href={roomHref(room, peerId, before)} hx-get={roomPath(room, `older?${query}`)} hx-target="closest li" hx-swap="outerHTML">
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
export function AttachForm({ room, peerId }: { room: string; peerId: string }) {
  return (
    <form id="attach" class="attach" method="post" action={roomPath(room, peerId === "" ? "files" : `files?${new URLSearchParams(peerQuery(peerId))}`)} enctype="multipart/form-data">
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

/** How this instance is reached, as a peer last saw it: for the invite panel. */
export type ReachView = null | { checkedAt: number; seen: null } | {
  checkedAt: number;
  /** The address it was seen at, and by whom. */
  seen: string;
  by: string;
  /** Seen from outside any private network. */
  outside: boolean;
  /** The HTTP port answered there, and its URL. */
  url: string | null;
};

/** What is known of this instance's links now: how many instances are linked, over which tiers. */
export interface LinkedView {
  count: number;
  tiers: Tier[];
}

/** A tier as people read it. */
const TIER_WORDS: Record<Tier, string> = {
  lan: "your network (LAN)",
  websocket: "WebSocket",
  http: "HTTP",
  webrtc: "WebRTC",
  turn: "a TURN relay",
  relay: "a rendezvous's relay",
};

/** "Linked over WebRTC with 2 instances", or undefined with none linked. */
function linkedWords({ count, tiers }: LinkedView): string | undefined {
  if (count === 0) return undefined;
  const over = tiers.length > 0 ? ` over ${tiers.map((tier) => TIER_WORDS[tier]).join(" and ")}` : "";
  return `Linked${over} with ${count} ${count === 1 ? "instance" : "instances"}`;
}

/** What the router does for this instance, in words. */
function mappingWords(mapping: PortMappingState | null): string {
  if (!mapping) return "";
  switch (mapping.kind) {
    case "off":
      return ` Port mapping is off (${mapping.why}).`;
    case "searching":
      return " Asking the router to forward the ports (UPnP IGD, NAT-PMP)…";
    case "none":
      return " No router on this network offers port mapping (UPnP IGD or NAT-PMP).";
    case "failed":
      return ` The router at ${mapping.gateway} (${mapping.protocol}) did not forward the ports: ${mapping.error}.`;
    case "mapped": {
      const at = `${urlHost(mapping.externalIp)}:${mapping.ports.http}`;
      const forwards = `The router at ${mapping.gateway} (${mapping.protocol}) forwards ${at} here (WebSocket :${mapping.ports.ws})`;
      return mapping.public ? ` ${forwards}.` : ` ${forwards}, but ${mapping.externalIp} is itself private: another NAT stands in front of that router.`;
    }
  }
}

/** Where the link works from, in words: the LAN address it names, what a peer saw of this instance, what the router does. */
export function Reach({ reach, linked, stun, rendezvous, mapping }: Pick<NonNullable<RoomProps["invite"]>, "reach" | "linked" | "stun" | "rendezvous" | "mapping">) {
  const via = rendezvous.length > 0 ? ` Instances that cannot reach it meet this one at ${rendezvous.join(", ")} (named in the link).` : "";
  const publicIp = `${stun ? ` Public address (from STUN): ${stun}.` : ""}${mappingWords(mapping)}`;
  // What is known is said first: the links that work now, before what no one could check.
  const links = linkedWords(linked);
  if (!reach) {
    const said = links ? `${links}; not checked from the internet yet` : "Not linked to any other instance yet, so not checked from the internet";
    return <p class="hint reach" safe>{`${said}.${publicIp}${via}`}</p>;
  }
  const when = clock(reach.checkedAt);
  if (reach.seen === null) {
    const said = links
      ? `${links}; not checked from the internet (no linked instance outside this network)`
      : "No other instance is linked now; not checked from the internet";
    return <p class="hint reach" safe>{`${said} (checked at ${when}).${publicIp}${via}`}</p>;
  }
  const said = reach.outside
    ? reach.url
      ? `Reachable from the internet at ${reach.url}`
      : `Seen from the internet at ${reach.seen}, but its ports do not answer there: only instances on this network, or through a rendezvous, reach it`
    : reach.url
      ? `Reachable on its own network at ${reach.url}; not checked from outside (no linked instance outside this network)`
      : `Seen at ${reach.seen}, and its ports did not answer`;
  return <p class="hint reach" safe>{`${said} (checked by ${reach.by} at ${when}).${publicIp}${via}`}</p>;
}

function Invite({ url, qrSvg: safeQrSvg, private: isPrivate, reach, linked, stun, rendezvous, mapping }: NonNullable<RoomProps["invite"]>) {
  return (
    <section id="invite" class="card invite">
      <h2>Invite</h2>
      <p>{isPrivate ? "A private room: only those with this link get in. Share it with care." : "An open room: anyone who knows its name may join."}</p>
      <div class="copy-row">
        <input id="invite-url" readonly value={url} aria-label="Invite link" />
        {/* Copying needs the page's script; without it the link is selected and copied by hand. */}
        <button type="button" class="needs-js" data-copy="#invite-url">
          Copy
        </button>
      </div>
      {/* Rendered here from the link by a QR library: paths only, no text and no script, so it goes in as it is. */}
      <figure class="qr" aria-label="QR code of the invite link">
        {safeQrSvg}
      </figure>
      <Reach reach={reach} linked={linked} stun={stun} rendezvous={rendezvous} mapping={mapping} />
    </section>
  );
}

/**
 * The owner's name, kept by this instance (chat.db) for every room and every page: changed here, it is what the owner
 * writes under from then on, and what linked members see.
 */
function NameMenu({ room, peerId, writer }: { room: string; peerId: string; writer: string }) {
  return (
    <details class="rename" name="room-tools">
      <summary>Name</summary>
      <form method="post" action="/name" class="rename-form">
        <input type="hidden" name="room" value={room} />
        {peerId === "" ? "" : <input type="hidden" name="peer_id" value={peerId} />}
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
function RoomTools({ room, peerId, writer, owner, fileSettings }: { room: string; peerId: string; writer: string; owner: boolean; fileSettings?: FileSettings }) {
  return (
    <div class="room-tools">
      <details class="find" name="room-tools">
        <summary>Search</summary>
        <form class="search" method="get" action={roomPath(room, "search")} role="search">
          {peerId === "" ? "" : <input type="hidden" name="peer_id" value={peerId} />}
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
      {owner ? <NameMenu room={room} peerId={peerId} writer={writer} /> : ""}
      {owner && fileSettings ? <FileSettingsMenu settings={fileSettings} room={room} peerId={peerId} /> : ""}
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
  const { room, peerId, messages } = props;
  const last = messages.at(-1)?.timestamp ?? 0;
  const live = props.live
    ? { "hx-sse:connect": roomPath(room, `events?${new URLSearchParams({ since: String(last), ...peerQuery(peerId) })}`), "hx-swap": "beforeend" }
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
            <RoomTools room={room} peerId={peerId} writer={props.writer} owner={props.owner} fileSettings={props.fileSettings} />
          </header>
          {/* Laid out from the bottom up, so the newest messages are in view on load, with or without the script. */}
          <div class="scroller" tabindex="0" aria-label="Messages">
            <ol
              id="messages"
              class="messages"
              aria-live="polite"
              data-self={props.instance.nodeId}
              data-room={room}
              data-peer={peerId}
              data-owner={props.owner ? "1" : "0"}
              {...live}
            >
              {props.hasOlder && messages[0] ? <OlderItem room={room} peerId={peerId} before={messages[0].timestamp} /> : ""}
              {messages.length === 0 ? <li class="empty-room">No messages yet. Say hello.</li> : ""}
              <MessageList messages={messages} view={props.view} />
            </ol>
          </div>
          {props.live ? (
            ""
          ) : (
            <a class="latest" href={roomHref(room, peerId)}>
              Jump to the latest messages
            </a>
          )}
          <div class="composer">
            <ul id="uploads" class="uploads" aria-live="polite"></ul>
            <AttachForm room={room} peerId={peerId} />
            <SendForm room={room} writer={props.writer} error={props.error} draft={props.draft} />
          </div>
        </section>
        <aside class="side">
          {props.owner ? <OwnerRooms {...props} /> : ""}
          <MembersPanel members={props.members} />
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
      <RoomList rooms={props.rooms} current={props.room} peerId={props.peerId} />
      <a class="new-room" href="/">
        + New room
      </a>
      <a class="back-to-chat" href="#chat">
        Back to the chat
      </a>
    </section>
  );
}
