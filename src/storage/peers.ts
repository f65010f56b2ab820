import type { Database, Statement } from "bun:sqlite";

/** Another instance as last heard of: how to reach it and which rooms it shares. */
export interface KnownPeer {
  node_id: string;
  name: string;
  /** JSON-safe address fields (http, ws, …) */
  addresses: Record<string, string>;
  rooms: string[];
  /** When it was last seen: its last link closed then (or it is linked still, since then). */
  last_seen: number;
}

/** A known peer with the rooms of ours it proved once and no longer does: it left them. */
export interface StoredPeer extends KnownPeer {
  left: string[];
}

/** Peers kept at most: the most recently seen. */
export const MAX_KNOWN_PEERS = 256;

type Row = { node_id: string; name: string; addresses: string; rooms: string; left_rooms: string; last_seen: number };

/** Other instances met in shared rooms, kept so links come back after a restart. */
export class PeerStore {
  readonly #upsert: Statement;
  readonly #prune: Statement;
  readonly #all: Statement<Row>;
  readonly #one: Statement<Row>;
  readonly #rooms: Statement;
  readonly #seen: Statement;

  constructor(db: Database) {
    this.#upsert = db.query(
      `INSERT INTO peers (node_id, name, addresses, rooms, last_seen) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (node_id) DO UPDATE SET name = excluded.name, addresses = excluded.addresses, rooms = excluded.rooms, last_seen = excluded.last_seen`,
    );
    this.#prune = db.query(`DELETE FROM peers WHERE node_id NOT IN (SELECT node_id FROM peers ORDER BY last_seen DESC LIMIT ${MAX_KNOWN_PEERS})`);
    this.#all = db.query("SELECT node_id, name, addresses, rooms, left_rooms, last_seen FROM peers ORDER BY last_seen DESC");
    this.#one = db.query("SELECT node_id, name, addresses, rooms, left_rooms, last_seen FROM peers WHERE node_id = ?");
    this.#rooms = db.query("UPDATE peers SET rooms = ?, left_rooms = ? WHERE node_id = ?");
    this.#seen = db.query("UPDATE peers SET last_seen = max(last_seen, ?) WHERE node_id = ?");
  }

  /** Saves or updates a peer; past MAX_KNOWN_PEERS the one seen longest ago is dropped. */
  save(peer: KnownPeer): void {
    this.#upsert.run(peer.node_id, peer.name, JSON.stringify(peer.addresses), JSON.stringify(peer.rooms), peer.last_seen);
    this.#prune.run();
  }

  /** Every known peer, most recently seen first. */
  all(): KnownPeer[] {
    return this.known().map(({ left: _left, ...peer }) => peer);
  }

  /** Every known peer with the rooms it left, most recently seen first. */
  known(): StoredPeer[] {
    return this.#all.all().map(parse);
  }

  /**
   * A known peer proved `proven` of our rooms `ours`: a room of ours it proved before and no longer does, it left.
   * Answers whether that changed anything (nothing for a peer not known here).
   */
  proved(nodeId: string, ours: readonly string[], proven: readonly string[]): boolean {
    const row = this.#one.get(nodeId);
    if (!row) return false;
    const peer = parse(row);
    const rooms = new Set(peer.rooms);
    const left = new Set(peer.left);
    for (const id of ours) {
      if (proven.includes(id)) {
        rooms.add(id);
        left.delete(id);
      } else if (rooms.delete(id)) left.add(id);
    }
    const [r, l] = [JSON.stringify([...rooms]), JSON.stringify([...left])];
    if (r === row.rooms && l === row.left_rooms) return false;
    this.#rooms.run(r, l, nodeId);
    return true;
  }

  /** The name the peer last said it has, if it is known here. */
  name(nodeId: string): string | undefined {
    return this.#one.get(nodeId)?.name;
  }

  /** Notes that the peer was there at `at` (its last link closed then). */
  seen(nodeId: string, at: number): void {
    this.#seen.run(at, nodeId);
  }
}

function parse(row: Row): StoredPeer {
  const { left_rooms, ...rest } = row;
  return { ...rest, addresses: JSON.parse(row.addresses), rooms: JSON.parse(row.rooms), left: JSON.parse(left_rooms) };
}
