/** @jsxImportSource @kitajs/html */
import type { RoomActivity } from "../rooms/news.ts";
import { roomHref } from "./links.ts";

/** Characters of a room's newest message shown in the list. */
const START_LENGTH = 60;

/** An unread count as a badge shows it. */
export const unreadLabel = (n: number) => (n > 99 ? "99+" : String(n));

/** The start of a message for the room list: its author and its first words (or its file). */
function start(latest: NonNullable<RoomActivity["latest"]>): string {
  const text = latest.text.replace(/\s+/g, " ").trim();
  const body = text !== "" ? text : latest.files?.length ? `sent ${latest.files.length === 1 ? latest.files[0]!.name : `${latest.files.length} files`}` : "";
  return `${latest.peer_id}: ${body.length > START_LENGTH ? `${body.slice(0, START_LENGTH - 1)}…` : body}`;
}

/**
 * The owner's rooms, the most recently active first, each with its unread count and the start of its newest message.
 * The total unread outside `current` rides on the list (`data-unread`) for the tab's title; the stream sends it anew.
 */
export function RoomList({ rooms, current, writeAs }: { rooms: RoomActivity[]; current?: string; writeAs: string }) {
  const total = rooms.reduce((sum, r) => sum + r.unread, 0);
  return (
    <ul id="room-list" class="rooms" data-unread={String(total)}>
      {rooms.map((r) => {
        return (
          <li class={r.name === current ? "current" : ""} data-room={r.name} data-latest={String(r.latest?.timestamp ?? 0)} data-unread={String(r.unread)}>
            <a href={roomHref(r.name, writeAs)} aria-current={r.name === current ? "page" : undefined}>
              <span class="room-line">
                <span class="room-title" title={r.name} safe>
                  {r.name}
                </span>
                {r.unread > 0 ? (
                  <span class="badge">
                    <span safe>{unreadLabel(r.unread)}</span>
                    <span class="visually-hidden"> unread</span>
                  </span>
                ) : (
                  ""
                )}
              </span>
              {r.latest ? (
                <span class="room-latest" safe>
                  {start(r.latest)}
                </span>
              ) : (
                <span class="room-latest">No messages yet</span>
              )}
            </a>
          </li>
        );
      })}
    </ul>
  );
}
