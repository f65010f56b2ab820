/** @jsxImportSource @kitajs/html */
import { urlHost } from "../addresses.ts";
import type { PeerStatus } from "../node.ts";
import type { PortMappingState } from "../port-mapping/index.ts";
import type { Message } from "../storage/index.ts";
import { Layout, type InstanceInfo } from "./layout.tsx";
import { roomHref, roomPath } from "./links.ts";
import { MessageList, type MessageView } from "./message.tsx";
import { PeersPanel } from "./peers.tsx";

export interface RoomProps {
  instance: InstanceInfo;
  room: string;
  peerId: string;
  /** The owner sees every room, the invite and the peers; a guest only this room. */
  owner: boolean;
  rooms: string[];
  view: MessageView;
  messages: Message[];
  /** True when messages older than the first shown exist. */
  hasOlder: boolean;
  /** Showing the newest messages (and so streaming new ones), not a window into the past. */
  live: boolean;
  /** The room's invite link and its QR code (SVG), for the owner, with how this instance is reached. */
  invite?: { url: string; qrSvg: string; private: boolean; reach: ReachView; stun: string | null; rendezvous: string[]; mapping: PortMappingState | null };
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

/**
 * Files for the room: a real multipart form, so a browser without JavaScript uploads with it too. The page's script
 * instead sends each file chosen, dropped or pasted on its own, with a progress bar in the list above.
 */
export function AttachForm({ room, peerId }: { room: string; peerId: string }) {
  return (
    <form id="attach" class="attach" method="post" action={roomPath(room, `files?${new URLSearchParams({ peer_id: peerId })}`)} enctype="multipart/form-data">
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
function Reach({ reach, stun, rendezvous, mapping }: { reach: ReachView; stun: string | null; rendezvous: string[]; mapping: PortMappingState | null }) {
  const via = rendezvous.length > 0 ? ` Instances that cannot reach it meet this one at ${rendezvous.join(", ")} (named in the link).` : "";
  const publicIp = `${stun ? ` Public address (from STUN): ${stun}.` : ""}${mappingWords(mapping)}`;
  if (!reach) return <p class="hint reach" safe>{`Reachability not checked yet: no other instance is linked.${publicIp}${via}`}</p>;
  const when = new Date(reach.checkedAt).toISOString().slice(11, 16);
  if (reach.seen === null) {
    return <p class="hint reach" safe>{`Reachability unknown: no linked instance sees this one's address to check it (checked at ${when} UTC).${publicIp}${via}`}</p>;
  }
  const said = reach.outside
    ? reach.url
      ? `Reachable from the internet at ${reach.url}`
      : `Seen from the internet at ${reach.seen}, but its ports do not answer there: only instances on this network, or through a rendezvous, reach it`
    : reach.url
      ? `Reachable on its own network at ${reach.url}; not checked from outside (no linked instance outside this network)`
      : `Seen at ${reach.seen}, and its ports did not answer`;
  return <p class="hint reach" safe>{`${said} (checked by ${reach.by} at ${when} UTC).${publicIp}${via}`}</p>;
}

function Invite({ url, qrSvg: safeQrSvg, private: isPrivate, reach, stun, rendezvous, mapping }: NonNullable<RoomProps["invite"]>) {
  return (
    <section class="card invite">
      <h2>Invite</h2>
      <p>{isPrivate ? "A private room: only those with this link get in. Share it with care." : "An open room: anyone who knows its name may join."}</p>
      <div class="copy-row">
        <input id="invite-url" readonly value={url} aria-label="Invite link" />
        <button type="button" data-copy="#invite-url">
          Copy
        </button>
      </div>
      {/* Rendered here from the link by a QR library: paths only, no text and no script, so it goes in as it is. */}
      <figure class="qr" aria-label="QR code of the invite link">
        {safeQrSvg}
      </figure>
      <Reach reach={reach} stun={stun} rendezvous={rendezvous} mapping={mapping} />
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
            <MessageList messages={messages} view={props.view} />
          </ol>
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
            <SendForm room={room} peerId={peerId} error={props.error} draft={props.draft} />
          </div>
        </section>
        {props.owner ? <OwnerSide {...props} /> : ""}
      </main>
    </Layout>
  );
}

/** What only the owner sees beside the chat: every room, the invite, the linked instances. */
function OwnerSide(props: RoomProps) {
  const { room, peerId } = props;
  return (
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
          {props.invite ? <Invite {...props.invite} /> : ""}
          <PeersPanel peers={props.peers} />
        </aside>
  );
}
