/** @jsxImportSource @kitajs/html */
import type { SearchHit } from "../storage/message-rows.ts";
import { Layout, type InstanceInfo } from "./layout.tsx";
import { roomHref, roomPath } from "./links.ts";
import { Byline, type InstanceNames } from "./message.tsx";
import { isoTime, shownTime } from "./time.ts";

export interface SearchProps {
  instance: InstanceInfo;
  room: string;
  writeAs: string;
  query: string;
  hits: FoundHit[];
  /** The most hits shown: more may exist when `hits` is this long. */
  limit: number;
  names: InstanceNames;
}

/** A hit, and the page's `before` that shows it among its neighbours (older and newer). */
export interface FoundHit extends SearchHit {
  before: number;
}

/** A hit's text with its matches marked (`<mark>`), from the \u0001…\u0002 the index put around them. */
function Marked({ marked }: { marked: string }) {
  const parts = marked.split(/(\u0001[^\u0002]*\u0002)/);
  return (
    <p class="text">
      {parts.map((part) =>
        part.startsWith("\u0001") && part.endsWith("\u0002") ? <mark safe>{part.slice(1, -1)}</mark> : <span safe>{part}</span>,
      )}
    </p>
  );
}

/** Search in one room's history: the form, and each hit with a link to it among the messages around it. */
export function SearchPage({ instance, room, writeAs, query, hits, limit, names }: SearchProps) {
  return (
    <Layout title={`Search #${room} · E-Goat`} instance={instance}>
      <main class="landing search-page">
        <section class="card">
          <h1 class="truncate" title={room} safe>{`Search #${room}`}</h1>
          <form class="search" method="get" action={roomPath(room, "search")} role="search">
            <input type="hidden" name="peer_id" value={writeAs} />
            <input type="search" name="q" required maxlength="200" value={query} aria-label={`Search #${room}`} />
            <button type="submit">Search</button>
          </form>
          <p class="hint" role="status">
            {query === "" ? "Type words to find: every word must appear, the last one may be the start of a word." : ""}
            {query !== "" && hits.length === 0 ? "Nothing found." : ""}
            {hits.length > 0 ? `${hits.length === limit ? `The ${limit} newest` : hits.length} ${hits.length === 1 ? "message" : "messages"} found, newest first.` : ""}
          </p>
          <ol class="hits">
            {hits.map(({ message, marked, before }) => (
              <li class="msg">
                <div class="meta">
                  <Byline message={message} names={names} self={instance.nodeId} />
                  <a href={`${roomHref(room, writeAs, before)}#m-${message.timestamp}`}>
                    <time datetime={isoTime(shownTime(message).ms) ?? ""} data-format="datetime" safe>
                      {`${isoTime(shownTime(message).ms)?.slice(0, 16).replace("T", " ") ?? "an unknown time"} UTC`}
                    </time>
                  </a>
                </div>
                <Marked marked={marked} />
              </li>
            ))}
          </ol>
          <a href={roomHref(room, writeAs)}>Back to the room</a>
        </section>
      </main>
    </Layout>
  );
}
