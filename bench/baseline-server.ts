// The baseline for bench/send.ts: bare Bun.serve + raw bun:sqlite doing the least /send must do
// (parse JSON, one autocommit insert into a WAL database, answer JSON). Prints its port on stdout.
import { Database } from "bun:sqlite";

const db = new Database(process.argv[2]!, { create: true, strict: true });
db.exec("PRAGMA journal_mode = WAL");
db.exec("PRAGMA synchronous = NORMAL");
db.exec("CREATE TABLE IF NOT EXISTS messages (stamp INTEGER PRIMARY KEY, room TEXT, peer_id TEXT, text TEXT, sent_at INTEGER)");
const insert = db.query("INSERT INTO messages (stamp, room, peer_id, text, sent_at) VALUES (?, ?, ?, ?, ?)");
let last = 0;

const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch(req) {
    const body = (await req.json()) as { room: string; peer_id: string; text: string };
    last = Math.max(Date.now(), last + 1);
    insert.run(last, body.room, body.peer_id, body.text, Date.now());
    return Response.json({ id: String(last), timestamp: last });
  },
});
console.log(`baseline ready http=http://127.0.0.1:${server.port}`);
