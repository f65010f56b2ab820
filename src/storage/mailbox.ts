/**
 * What a mailbox keeps (`--mailbox`): sealed items it cannot read, filed by topic in the order they came, each for
 * `days` within `maxBytes` in all. When full, the oldest items of the topic holding the most go first, so one busy
 * room churns its own history before it touches another's; each pushing instance may hold a share of the whole, past
 * which it is refused with the reason. Nothing here knows a room, an author or a text.
 */
import type { Database, Statement } from "bun:sqlite";

export interface MailboxLimits {
  /** What the mailbox keeps in all (`--mailbox-size`). */
  maxBytes: number;
  /** How long an item is kept (`--mailbox-days`). */
  days: number;
  /** The largest item taken: a sealed chunk of a file, with room to spare. @default 320 KiB */
  maxItemBytes?: number;
  /** What one pushing instance may hold of `maxBytes`. @default a quarter */
  pusherShare?: number;
  /** The largest file whose chunks members push here (members enforce it: a sealed chunk names no file). @default 100 MB */
  fileBytes?: number;
}

/** One kept item, as a member reading the topic gets it: `stamp` orders the topic and is the reader's cursor. */
export interface MailboxItem {
  stamp: number;
  id: string;
  sealed: Uint8Array;
}

export type PushResult = { kind: "stored"; stamp: number } | { kind: "held" } | { kind: "refused"; reason: string };

/** What the mailbox holds, for its owner's page: topics (never names), items, bytes, the oldest item's time. */
export interface MailboxStats {
  topics: number;
  items: number;
  bytes: number;
  oldest: number | null;
  maxBytes: number;
}

/** One topic (a room, unnamed) as the mailbox's owner sees it. */
export interface TopicStats {
  topic: string;
  items: number;
  bytes: number;
  oldest: number;
  /** Instances that pushed what it holds. */
  pushers: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

export class MailboxStore {
  readonly #limits: Required<MailboxLimits>;
  readonly #byTopic = new Map<string, number>();
  readonly #byPusher = new Map<string, number>();
  #bytes = 0;
  readonly #insert: Statement<{ stamp: number }>;
  readonly #held: Statement<{ one: number }>;
  readonly #since: Statement<{ stamp: number; id: string; sealed: Uint8Array }>;
  readonly #oldestOf: Statement<{ stamp: number; topic: string; pusher: string; bytes: number }>;
  readonly #expired: Statement<{ stamp: number; topic: string; pusher: string; bytes: number }>;
  readonly #drop: Statement;
  readonly #oldest: Statement<{ at: number | null; items: number }>;
  readonly #topics: Statement<TopicStats>;

  constructor(db: Database, limits: MailboxLimits) {
    this.#limits = { maxItemBytes: 320 * 1024, pusherShare: Math.floor(limits.maxBytes / 4), fileBytes: 100_000_000, ...limits };
    for (const row of db.query<{ topic: string; bytes: number }, []>("SELECT topic, sum(bytes) AS bytes FROM mailbox_items GROUP BY topic").all()) {
      this.#byTopic.set(row.topic, row.bytes);
      this.#bytes += row.bytes;
    }
    for (const row of db.query<{ pusher: string; bytes: number }, []>("SELECT pusher, sum(bytes) AS bytes FROM mailbox_items GROUP BY pusher").all()) {
      this.#byPusher.set(row.pusher, row.bytes);
    }
    this.#insert = db.query("INSERT INTO mailbox_items (topic, id, pusher, at, bytes, sealed) VALUES (?, ?, ?, ?, ?, ?) RETURNING stamp");
    this.#held = db.query("SELECT 1 AS one FROM mailbox_items WHERE topic = ? AND id = ?");
    this.#since = db.query("SELECT stamp, id, sealed FROM mailbox_items WHERE topic = ? AND stamp > ? ORDER BY stamp LIMIT ?");
    this.#oldestOf = db.query("SELECT stamp, topic, pusher, bytes FROM mailbox_items WHERE topic = ? ORDER BY stamp LIMIT 1");
    this.#expired = db.query("SELECT stamp, topic, pusher, bytes FROM mailbox_items WHERE at < ? ORDER BY stamp LIMIT 1000");
    this.#drop = db.query("DELETE FROM mailbox_items WHERE stamp = ?");
    this.#oldest = db.query("SELECT min(at) AS at, count(*) AS items FROM mailbox_items");
    this.#topics = db.query(
      `SELECT topic, count(*) AS items, sum(bytes) AS bytes, min(at) AS oldest, count(DISTINCT pusher) AS pushers
       FROM mailbox_items GROUP BY topic ORDER BY bytes DESC LIMIT ?`,
    );
  }

  /** Keeps `sealed` as item `id` of `topic`, pushed by the instance `pusher`; an item held already is not kept twice. */
  push(topic: string, id: string, pusher: string, sealed: Uint8Array, now = Date.now()): PushResult {
    const size = sealed.byteLength;
    const { maxBytes, maxItemBytes, pusherShare } = this.#limits;
    if (size > maxItemBytes) return { kind: "refused", reason: `an item over ${maxItemBytes} bytes is not kept here` };
    if (this.#held.get(topic, id)) return { kind: "held" };
    if ((this.#byPusher.get(pusher) ?? 0) + size > pusherShare) {
      return { kind: "refused", reason: `this instance holds its share of this mailbox (${pusherShare} bytes) already` };
    }
    while (this.#bytes + size > maxBytes) if (!this.#evictFrom(this.#fullest(topic))) break;
    const row = this.#insert.get(topic, id, pusher, now, size, sealed)!;
    this.#count(topic, pusher, size);
    return { kind: "stored", stamp: row.stamp };
  }

  /** Whether item `id` of `topic` is kept here. */
  holds(topic: string, id: string): boolean {
    return this.#held.get(topic, id) !== null;
  }

  /** Up to `limit` items of `topic` that came after `stamp`, in the order they came. */
  since(topic: string, stamp: number, limit: number): MailboxItem[] {
    return this.#since.all(topic, stamp, limit).map((row) => ({ stamp: row.stamp, id: row.id, sealed: new Uint8Array(row.sealed) }));
  }

  /** Drops what was kept longer than `days`; answers how many items went. */
  expire(now = Date.now()): number {
    const cutoff = now - this.#limits.days * DAY_MS;
    let gone = 0;
    for (let rows = this.#expired.all(cutoff); rows.length > 0; rows = this.#expired.all(cutoff)) {
      for (const row of rows) this.#dropRow(row);
      gone += rows.length;
    }
    return gone;
  }

  stats(): MailboxStats {
    const { at, items } = this.#oldest.get()!;
    return { topics: this.#byTopic.size, items, bytes: this.#bytes, oldest: at, maxBytes: this.#limits.maxBytes };
  }

  /** The topics holding the most, up to `limit`, each with its items, bytes, oldest item and pushers. */
  topics(limit: number): TopicStats[] {
    return this.#topics.all(limit);
  }

  /** How long an item is kept, in days. */
  get days(): number {
    return this.#limits.days;
  }

  /** The largest file members push here. */
  get fileBytes(): number {
    return this.#limits.fileBytes;
  }

  /** The topic to make room in: the one holding the most, or `incoming` itself when it holds as much. */
  #fullest(incoming: string): string {
    let fullest = incoming;
    for (const [topic, bytes] of this.#byTopic) if (bytes > (this.#byTopic.get(fullest) ?? 0)) fullest = topic;
    return fullest;
  }

  /** Drops the oldest item of `topic`; false when it holds none. */
  #evictFrom(topic: string): boolean {
    const row = this.#oldestOf.get(topic);
    if (row) this.#dropRow(row);
    return row !== null;
  }

  #dropRow(row: { stamp: number; topic: string; pusher: string; bytes: number }): void {
    this.#drop.run(row.stamp);
    this.#count(row.topic, row.pusher, -row.bytes);
  }

  #count(topic: string, pusher: string, bytes: number): void {
    this.#bytes += bytes;
    const add = (map: Map<string, number>, key: string) => {
      const next = (map.get(key) ?? 0) + bytes;
      if (next > 0) map.set(key, next);
      else map.delete(key);
    };
    add(this.#byTopic, topic);
    add(this.#byPusher, pusher);
  }
}
