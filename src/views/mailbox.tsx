/** @jsxImportSource @kitajs/html */
import { formatBytes } from "../domain/files.ts";
import { Layout, type InstanceInfo } from "./layout.tsx";
import { isoTime, span } from "./time.ts";

/** What this instance keeps as a mailbox, for its owner: in all, and per topic (a room it cannot name). */
export interface MailboxPageView {
  instance: InstanceInfo;
  stats: { topics: number; items: number; bytes: number; oldest: number | null; maxBytes: number };
  topics: { topic: string; items: number; bytes: number; oldest: number; pushers: number }[];
  days: number;
  fileBytes: number;
  now: number;
}

function percent(part: number, whole: number): string {
  const share = whole === 0 ? 0 : (100 * part) / whole;
  return part > 0 && share < 0.1 ? "under 0.1%" : `${share.toFixed(part === 0 ? 0 : 1)}%`;
}

function Ago({ ms, now }: { ms: number; now: number }) {
  return (
    <time datetime={isoTime(ms) ?? ""} title={isoTime(ms) ?? ""} data-local="1" safe>
      {`${span(now - ms)} ago`}
    </time>
  );
}

/**
 * The mailbox's own page: what it holds for the rooms whose members use it, as topics (it knows no room's name), with
 * items, bytes, the oldest item and how many instances pushed them; and how much of its size that uses.
 */
export function MailboxPage({ instance, stats, topics, days, fileBytes, now }: MailboxPageView) {
  return (
    <Layout title="Mailbox · E-Goat" instance={instance}>
      <main class="mailbox-page">
        <section class="card">
          <h1>This instance is a mailbox</h1>
          <p>
            It keeps, sealed, the messages and files of the rooms whose members use it as a rendezvous, so a member that
            comes online gets what it missed even when no other member is there. It cannot read them: it knows no room's
            name, no text, no person and no file, only sizes and times.
          </p>
          <dl class="mailbox-stats">
            <dt>Used</dt>
            <dd>
              <meter min="0" max={String(stats.maxBytes)} value={String(stats.bytes)} aria-label="Share of the mailbox's size used"></meter>{" "}
              <span safe>{`${formatBytes(stats.bytes)} of ${formatBytes(stats.maxBytes)} (${percent(stats.bytes, stats.maxBytes)})`}</span>
            </dd>
            <dt>Items</dt>
            <dd safe>{`${stats.items.toLocaleString("en")} in ${stats.topics.toLocaleString("en")} ${stats.topics === 1 ? "topic" : "topics"}`}</dd>
            <dt>Oldest</dt>
            <dd>{stats.oldest === null ? "nothing kept" : <Ago ms={stats.oldest} now={now} />}</dd>
            <dt>Kept for</dt>
            <dd safe>{`${days} ${days === 1 ? "day" : "days"}; when full, the oldest items of the fullest topic go first`}</dd>
            <dt>Files</dt>
            <dd safe>{`up to ${formatBytes(fileBytes)} each; larger ones stay with the members`}</dd>
          </dl>
        </section>
        <section class="card">
          <h2>Topics</h2>
          {topics.length === 0 ? (
            <p class="hint">No room keeps anything here yet.</p>
          ) : (
            <table class="mailbox-topics">
              <thead>
                <tr>
                  <th scope="col">Topic (a room, unnamed)</th>
                  <th scope="col">Items</th>
                  <th scope="col">Bytes</th>
                  <th scope="col">Share</th>
                  <th scope="col">Oldest</th>
                  <th scope="col">Pushed by</th>
                </tr>
              </thead>
              <tbody>
                {topics.map((t) => (
                  <tr>
                    <td>
                      <code title={t.topic} safe>
                        {t.topic.slice(0, 8)}
                      </code>
                    </td>
                    <td safe>{t.items.toLocaleString("en")}</td>
                    <td safe>{formatBytes(t.bytes)}</td>
                    <td safe>{percent(t.bytes, stats.maxBytes)}</td>
                    <td>
                      <Ago ms={t.oldest} now={now} />
                    </td>
                    <td safe>{`${t.pushers} ${t.pushers === 1 ? "instance" : "instances"}`}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      </main>
    </Layout>
  );
}
