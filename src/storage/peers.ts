import type { Database, Statement } from "bun:sqlite";

/** Another instance as last heard of: how to reach it and which rooms it shares. */
export interface KnownPeer {
  node_id: string;
  name: string;
  /** JSON-safe address fields (http, ws, …) */
  addresses: Record<string, string>;
  rooms: string[];
  last_seen: number;
}

/** Other instances met in shared rooms, kept so links come back after a restart. */
export class PeerStore {
  readonly #upsert: Statement;
  readonly #all: Statement<{ node_id: string; name: string; addresses: string; rooms: string; last_seen: number }>;

  constructor(db: Database) {
    this.#upsert = db.query(
      `INSERT INTO peers (node_id, name, addresses, rooms, last_seen) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (node_id) DO UPDATE SET name = excluded.name, addresses = excluded.addresses, rooms = excluded.rooms, last_seen = excluded.last_seen`,
    );
    this.#all = db.query("SELECT node_id, name, addresses, rooms, last_seen FROM peers ORDER BY last_seen DESC");
  }

  save(peer: KnownPeer): void {
    this.#upsert.run(peer.node_id, peer.name, JSON.stringify(peer.addresses), JSON.stringify(peer.rooms), peer.last_seen);
  }

  /** Every known peer, most recently seen first. */
  all(): KnownPeer[] {
    return this.#all.all().map((row) => ({ ...row, addresses: JSON.parse(row.addresses), rooms: JSON.parse(row.rooms) }));
  }
}
