/** Forward migrations; entry N-1 takes a database from `user_version` N-1 to N. Never edit a shipped entry. */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE identity (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL
  );
  CREATE TABLE rooms (
    name TEXT PRIMARY KEY,
    joined_at INTEGER NOT NULL
  );
  -- stamp is the rowid: local, strictly increasing, so appends stay at the end of the b-tree
  CREATE TABLE messages (
    stamp INTEGER PRIMARY KEY,
    origin TEXT NOT NULL,
    room TEXT NOT NULL,
    seq INTEGER NOT NULL,
    peer_id TEXT NOT NULL,
    text TEXT NOT NULL,
    sent_at INTEGER NOT NULL,
    id TEXT GENERATED ALWAYS AS (origin || ':' || seq || ':' || room) VIRTUAL,
    UNIQUE (origin, room, seq)
  );
  CREATE INDEX messages_room_stamp ON messages (room, stamp);
  `,
  `
  -- other instances met in shared rooms, so links come back after a restart
  CREATE TABLE peers (
    node_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    addresses TEXT NOT NULL,
    rooms TEXT NOT NULL,
    last_seen INTEGER NOT NULL
  );
  `,
  `
  -- a private room's key (base64url); NULL for an open room, known by its name alone
  ALTER TABLE rooms ADD COLUMN key TEXT;
  -- node ids are now 128 bits and rooms are known by ids: forget the peers (they are met again through rooms)
  DELETE FROM peers;
  -- 1 when a guest of the origin instance wrote the message, not its owner
  ALTER TABLE messages ADD COLUMN guest INTEGER NOT NULL DEFAULT 0;
  -- the author instance's signature and raw public key (base64url); NULL only in messages from before signing
  ALTER TABLE messages ADD COLUMN sig TEXT;
  ALTER TABLE messages ADD COLUMN key TEXT;
  `,
  `
  -- file contents, a chunk per row, kept once by its SHA-256 whichever files use it
  -- (a rowid table: in a WITHOUT ROWID one, each key comparison of a lookup would read a whole 256 KiB row)
  CREATE TABLE chunks (
    hash BLOB PRIMARY KEY,
    data BLOB NOT NULL
  );
  -- a file by its id (hex SHA-256 over its chunk hashes), and which chunk goes where; names and types are the messages'
  CREATE TABLE files (
    id TEXT PRIMARY KEY,
    size INTEGER NOT NULL
  );
  CREATE TABLE file_chunks (
    file TEXT NOT NULL REFERENCES files (id),
    idx INTEGER NOT NULL,
    hash BLOB NOT NULL,
    PRIMARY KEY (file, idx)
  ) WITHOUT ROWID;
  CREATE INDEX file_chunks_hash ON file_chunks (hash);
  `,
  `
  -- the files a message carries, as its author signed them: JSON [{id, name, size, type}]; NULL for none
  ALTER TABLE messages ADD COLUMN files TEXT;
  -- which rooms' messages carry a file, under which name and type: who may read it, and what members fetch
  CREATE TABLE file_refs (
    file TEXT NOT NULL,
    room TEXT NOT NULL,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    size INTEGER NOT NULL,
    PRIMARY KEY (file, room)
  ) WITHOUT ROWID;
  CREATE INDEX file_refs_room ON file_refs (room);
  -- 1 once every chunk of the file is here
  ALTER TABLE files ADD COLUMN complete INTEGER NOT NULL DEFAULT 0;
  `,
  `
  -- rendezvous named by invite links joined here (flags come again at each start): used after a restart too
  CREATE TABLE rendezvous (
    url TEXT PRIMARY KEY,
    added_at INTEGER NOT NULL
  );
  `,
  `
  -- the stamp of the newest message of the room the owner has seen: what is after it is unread
  ALTER TABLE rooms ADD COLUMN read_stamp INTEGER NOT NULL DEFAULT 0;
  -- when the room was left (its history kept, nothing replicated); NULL while joined
  ALTER TABLE rooms ADD COLUMN left_at INTEGER;
  -- the last sequence this instance used in a room whose history was deleted here: joined again, it goes on from there
  -- (its members still hold those messages, and would ignore new ones that reused the numbers)
  CREATE TABLE used_seqs (
    room_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL
  );
  -- a page's send by the nonce it chose: a retry of one send answers the message stored then, never posts a second
  CREATE TABLE sends (
    nonce TEXT PRIMARY KEY,
    stamp INTEGER NOT NULL,
    at INTEGER NOT NULL
  );
  CREATE INDEX sends_at ON sends (at);
  -- search in a room's history: the messages' texts, indexed by their stamps
  CREATE VIRTUAL TABLE messages_text USING fts5 (text, content = 'messages', content_rowid = 'stamp', tokenize = 'unicode61 remove_diacritics 2');
  INSERT INTO messages_text (messages_text) VALUES ('rebuild');
  CREATE TRIGGER messages_text_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_text (rowid, text) VALUES (new.stamp, new.text);
  END;
  CREATE TRIGGER messages_text_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_text (messages_text, rowid, text) VALUES ('delete', old.stamp, old.text);
  END;
  `,
  `
  -- the search index is brought up to date when searched, all new messages in one transaction: indexed by a trigger,
  -- each message's own commit wrote an FTS5 segment and halved the rate of posts
  DROP TRIGGER messages_text_insert;
  DROP TRIGGER messages_text_delete;
  -- messages stamped up to here are in messages_text (stamps only grow, and messages are never changed)
  CREATE TABLE search_state (
    indexed_upto INTEGER NOT NULL
  );
  INSERT INTO search_state (indexed_upto) SELECT coalesce(max(stamp), 0) FROM messages;
  `,
  `
  -- the owner's settings, by key: the display name (set in the page or by --name), kept across restarts
  CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );
  -- which guest (a browser, by a hash of the random id its cookie holds) wrote a message here: a guest's own messages
  -- are told by it, never by the name typed; known to this instance only, never signed or replicated
  CREATE TABLE guest_messages (
    stamp INTEGER PRIMARY KEY,
    room TEXT NOT NULL,
    guest TEXT NOT NULL
  );
  CREATE INDEX guest_messages_room ON guest_messages (room);
  -- names of private rooms whose history was deleted here: an old link to one never makes it an open room
  CREATE TABLE forgotten_rooms (
    name TEXT PRIMARY KEY,
    at INTEGER NOT NULL
  );
  -- rooms of ours a known peer proved once and no longer does: it left them (JSON array of room ids)
  ALTER TABLE peers ADD COLUMN left_rooms TEXT NOT NULL DEFAULT '[]';
  `,
  `
  -- the rooms a file's bytes reached this instance through (or were uploaded to here): only there is it served and
  -- listed as here; a message of another room naming it brings nothing until its bytes come through that room too.
  -- complete: every chunk came; until then file_room_chunks lists those that did (chunks are kept once whatever room)
  CREATE TABLE file_rooms (
    file TEXT NOT NULL,
    room TEXT NOT NULL,
    complete INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (file, room)
  ) WITHOUT ROWID;
  CREATE INDEX file_rooms_room ON file_rooms (room);
  CREATE TABLE file_room_chunks (
    file TEXT NOT NULL,
    room TEXT NOT NULL,
    idx INTEGER NOT NULL,
    PRIMARY KEY (file, room, idx)
  ) WITHOUT ROWID;
  -- what is here already came through the room of the first message that carried it
  INSERT OR IGNORE INTO file_rooms (file, room, complete)
    SELECT first.file, first.room, f.complete FROM (
      SELECT json_extract(j.value, '$.id') AS file, m.room AS room, min(m.stamp) AS stamp
      FROM messages m, json_each(m.files) j WHERE m.files IS NOT NULL GROUP BY 1
    ) first JOIN files f ON f.id = first.file;
  INSERT OR IGNORE INTO file_room_chunks (file, room, idx)
    SELECT r.file, r.room, c.idx FROM file_rooms r JOIN file_chunks c ON c.file = r.file
    WHERE r.complete = 0 AND EXISTS (SELECT 1 FROM chunks WHERE hash = c.hash);
  -- a whole file's size is what its chunks add up to (a peer's manifest could say less, and downloads were cut short)
  UPDATE files SET size = coalesce((SELECT sum(length(c.data)) FROM file_chunks f JOIN chunks c ON c.hash = f.hash WHERE f.file = files.id), size)
    WHERE complete = 1;
  -- the owner's choice for a file: fetch it whatever the setting says (1), or not (0: a fetch cancelled)
  CREATE TABLE file_choices (
    file TEXT PRIMARY KEY,
    wanted INTEGER NOT NULL
  );
  -- guests' uploads, for their quotas a day (guest: an IPv4 address or an IPv6 /64; room by name)
  CREATE TABLE guest_uploads (
    at INTEGER NOT NULL,
    guest TEXT NOT NULL,
    room TEXT NOT NULL,
    bytes INTEGER NOT NULL
  );
  CREATE INDEX guest_uploads_at ON guest_uploads (at);
  `,
  `
  -- a rendezvous an invite named is used for that invite's room only, so it is kept per room (by id); those kept
  -- before, used for every room, cannot be told from a hostile invite's, and are dropped
  DROP TABLE rendezvous;
  CREATE TABLE rendezvous (
    url TEXT NOT NULL,
    room_id TEXT NOT NULL,
    added_at INTEGER NOT NULL,
    PRIMARY KEY (url, room_id)
  ) WITHOUT ROWID;
  `,
  `
  -- a message's hash: SHA-256 over its signature (one message has one signature, made by its author alone). Members
  -- that hold different messages at one (origin, room, seq) find out by it, and keep the one with the lower hash
  -- (src/storage/vectors.ts; filled in for the messages already here when the store opens)
  ALTER TABLE messages ADD COLUMN hash BLOB;
  -- authors that signed two different messages with one sequence number in a room: the page says so
  CREATE TABLE conflicting_authors (
    room TEXT NOT NULL,
    origin TEXT NOT NULL,
    seq INTEGER NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (room, origin)
  ) WITHOUT ROWID;
  -- the authors of each room, each with the linked peer whose frame brought its first message here (itself, when it
  -- wrote to us), how many messages of it are here and the stamp of its last: a room full of authors makes place for
  -- a newcomer out of the authors brought by whoever brought the most (src/storage/authors.ts)
  CREATE TABLE room_authors (
    room TEXT NOT NULL,
    origin TEXT NOT NULL,
    introducer TEXT NOT NULL,
    messages INTEGER NOT NULL,
    last INTEGER NOT NULL,
    PRIMARY KEY (room, origin)
  ) WITHOUT ROWID;
  CREATE INDEX room_authors_introducer ON room_authors (room, introducer, messages, last);
  INSERT INTO room_authors (room, origin, introducer, messages, last)
    SELECT room, origin, origin, count(*), max(stamp) FROM messages GROUP BY room, origin;
  -- authors whose place a newcomer took, and their last sequence then: what others send of them again is passed over
  CREATE TABLE evicted_authors (
    room TEXT NOT NULL,
    origin TEXT NOT NULL,
    seq INTEGER NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (room, origin)
  ) WITHOUT ROWID;
  CREATE INDEX evicted_authors_at ON evicted_authors (room, at);
  `,
  `
  -- room_authors counted each author's messages with a write per message, which cost a third of the rate of stores:
  -- an author's place records only when it was taken, and the quietest is counted when a place is needed
  DROP INDEX room_authors_introducer;
  ALTER TABLE room_authors DROP COLUMN messages;
  ALTER TABLE room_authors RENAME COLUMN last TO since;
  CREATE INDEX room_authors_introducer ON room_authors (room, introducer, since);
  `,
  `
  -- what a mailbox (--mailbox) keeps for the rooms that use it: sealed items it cannot read, filed by topic; stamp is
  -- the order they came in here (AUTOINCREMENT: never reused, so a reader's cursor never skips one)
  CREATE TABLE mailbox_items (
    stamp INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    id TEXT NOT NULL,
    pusher TEXT NOT NULL,
    at INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    sealed BLOB NOT NULL,
    UNIQUE (topic, id)
  );
  CREATE INDEX mailbox_items_topic ON mailbox_items (topic, stamp);
  CREATE INDEX mailbox_items_at ON mailbox_items (at);
  `,
  `
  -- a member's place at each mailbox it uses, per room (by id): the mailbox's stamp read up to, and this instance's
  -- message stamp pushed up to (everything held here up to it is kept there)
  CREATE TABLE mailbox_marks (
    mailbox TEXT NOT NULL,
    room TEXT NOT NULL,
    read INTEGER NOT NULL DEFAULT 0,
    pushed INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (mailbox, room)
  ) WITHOUT ROWID;
  `,
  `
  -- the author's person (issue 25): its id, and its certificate of the origin as the message carries it (JSON
  -- {key, at, sig}); null in messages from before persons, whose person is their origin
  ALTER TABLE messages ADD COLUMN person TEXT;
  ALTER TABLE messages ADD COLUMN person_cert TEXT;
  `,
  `
  -- one-time links that make a new instance another device of this person (issue 25), by the hash of their token
  CREATE TABLE device_links (
    hash TEXT PRIMARY KEY,
    expires INTEGER NOT NULL,
    used INTEGER
  ) WITHOUT ROWID;
  `,
];
