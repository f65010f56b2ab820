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

/** Peers kept at most: the most recently seen. */
export const MAX_KNOWN_PEERS = 256;

/** Other instances met in shared rooms, kept so links come back after a restart. */
export class PeerStore {
  readonly #upsert: Statement;
  readonly #prune: Statement;
  readonly #all: Statement<{ node_id: string; name: string; addresses: string; rooms: string; last_seen: number }>;

  constructor(db: Database) {
    this.#upsert = db.query(
      `INSERT INTO peers (node_id, name, addresses, rooms, last_seen) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (node_id) DO UPDATE SET name = excluded.name, addresses = excluded.addresses, rooms = excluded.rooms, last_seen = excluded.last_seen`,
    );
    this.#prune = db.query(`DELETE FROM peers WHERE node_id NOT IN (SELECT node_id FROM peers ORDER BY last_seen DESC LIMIT ${MAX_KNOWN_PEERS})`);
    this.#all = db.query("SELECT node_id, name, addresses, rooms, last_seen FROM peers ORDER BY last_seen DESC");
  }

  /** Saves or updates a peer; past MAX_KNOWN_PEERS the one seen longest ago is dropped. */
  save(peer: KnownPeer): void {
    this.#upsert.run(peer.node_id, peer.name, JSON.stringify(peer.addresses), JSON.stringify(peer.rooms), peer.last_seen);
    this.#prune.run();
  }

  /** Every known peer, most recently seen first. */
  all(): KnownPeer[] {
    return this.#all.all().map((row) => ({ ...row, addresses: JSON.parse(row.addresses), rooms: JSON.parse(row.rooms) }));
  }
}
