/**
 * The HTTP fuzzer's client: hostile requests to every route of an instance for a bounded time, from wherever it runs
 * (in the test's own process for the owner, or inside a network namespace as a guest: `bun http-client.ts JSON`
 * prints its findings as JSON). See http.test.ts.
 */
import fc from "fast-check";
import { makeApp } from "../../helpers/app.ts";
import { sampler } from "./arbitrary.ts";

/** Every route the app has (from the app itself, so a new route is fuzzed too), and the HTTP tier's. */
export function routes(): { method: string; path: string }[] {
  const { app } = makeApp();
  return [...app.routes.map((r) => ({ method: r.method, path: r.path })), { method: "POST", path: "/mesh/http/*" }, { method: "GET", path: "/mesh/http/*" }];
}

/** Strings that have broken parsers before: empty, huge, control characters, bad escapes, unicode edges. */
const nasty = fc.oneof(
  fc.constantFrom("", " ", "0", "-1", "1e309", "NaN", "null", "[]", "{}", "%", "%zz", "%00", "%ff%fe", "..", "../../etc/passwd", "\u0000", "\ud800", "💥", "a".repeat(5000), "<script>", "' OR 1=1 --", "9".repeat(30), "275760-09-13", "8640000000000001"),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.integer().map(String),
  fc.double().map(String),
);

export interface Fixture {
  room: string;
  secret: string;
  key: string;
  fileId: string;
  messageId: string;
  origin: string;
}

function requestArbitrary(fx: Fixture, all: { method: string; path: string }[]) {
  const roomish = fc.oneof({ arbitrary: fc.constantFrom(fx.room, fx.secret), weight: 4 }, { arbitrary: nasty, weight: 1 });
  const value = fc.oneof(
    { arbitrary: fc.constantFrom(fx.room, fx.secret, fx.key, fx.fileId, fx.messageId, "1", "0", "30", "1000", "true", "me", fx.origin), weight: 3 },
    { arbitrary: nasty, weight: 2 },
  );
  const keys = fc.constantFrom("room", "key", "since", "limit", "wait", "peer_id", "q", "log", "nonce", "text", "node", "rendezvous", "delete", "before", "at", "id", "name", "private", "invite", "url", "history", "seq", "ack", "reason", "join");
  const query = fc.array(fc.tuple(fc.oneof({ arbitrary: keys, weight: 5 }, { arbitrary: nasty, weight: 1 }), value), { maxLength: 6 });
  const header = fc.oneof(
    fc.tuple(fc.constant("content-type"), fc.constantFrom("application/json", "application/x-www-form-urlencoded", "multipart/form-data; boundary=X", "multipart/form-data", "text/plain", "application/octet-stream", "application/json; charset=utf-16", "garbage", "")),
    fc.tuple(fc.constant("accept"), fc.constantFrom("application/json", "text/html", "text/event-stream", "*/*", "")),
    fc.tuple(fc.constant("origin"), fc.constantFrom(fx.origin, "http://evil.example", "null", "")),
    fc.tuple(fc.constant("sec-fetch-site"), fc.constantFrom("none", "same-origin", "same-site", "cross-site", "x")),
    fc.tuple(fc.constant("sec-fetch-mode"), fc.constantFrom("navigate", "cors", "no-cors", "websocket")),
    fc.tuple(fc.constant("sec-fetch-user"), fc.constant("?1")),
    fc.tuple(fc.constant("host"), fc.constantFrom("evil.example", "127.0.0.1:1", "localhost", "[::1]", "")),
    fc.tuple(fc.constant("cookie"), fc.oneof(value, fc.constantFrom(`egoat_key=${fx.key}`, "a=b; c", "=;=;"))),
    fc.tuple(fc.constant("range"), fc.constantFrom("bytes=0-1", "bytes=-5", "bytes=5-", "bytes=9999999999-", "bytes=1-0", "bytes=0-1,2-3", "lines=1-2", "bytes=abc")),
    fc.tuple(fc.constant("last-event-id"), value),
    fc.tuple(fc.constant("hx-request"), fc.constantFrom("true", "false")),
    fc.tuple(fc.constant("x-nonce"), value),
  );
  const json = fc.oneof(
    fc.dictionary(fc.oneof(keys, fc.string({ maxLength: 8 })), fc.oneof(value.map((v) => v as unknown), fc.jsonValue({ maxDepth: 2 }), fc.integer(), fc.boolean()), { maxKeys: 6 }),
    fc.jsonValue({ maxDepth: 3 }),
  ).map((v) => new TextEncoder().encode(JSON.stringify(v) ?? "null"));
  const form = query.map((pairs) => new TextEncoder().encode(new URLSearchParams(pairs).toString()));
  const multipart = fc
    .array(fc.tuple(fc.oneof(keys, fc.constantFrom("file", "file", "")), value, fc.boolean(), fc.uint8Array({ maxLength: 512 })), { maxLength: 4 })
    .chain((parts) =>
      fc.boolean().map((closed) => {
        const chunks = parts.map(([name, text, isFile, bytes]) =>
          isFile
            ? Buffer.concat([Buffer.from(`--X\r\ncontent-disposition: form-data; name="${name}"; filename="${text.slice(0, 40)}"\r\ncontent-type: application/octet-stream\r\n\r\n`), Buffer.from(bytes), Buffer.from("\r\n")])
            : Buffer.from(`--X\r\ncontent-disposition: form-data; name="${name}"\r\n\r\n${text}\r\n`),
        );
        return new Uint8Array(Buffer.concat([...chunks, Buffer.from(closed ? "--X--\r\n" : "--X\r\ncontent-dispos")]));
      }),
    );
  const body = fc.oneof(fc.constant(null), json, form, multipart, fc.uint8Array({ maxLength: 4096 }), fc.integer({ min: 60_000, max: 200_000 }).map((n) => new Uint8Array(n).fill(0x61)));
  return fc.record({
    route: fc.constantFrom(...all),
    method: fc.oneof({ arbitrary: fc.constant(null), weight: 9 }, { arbitrary: fc.constantFrom("GET", "POST", "PUT", "DELETE", "OPTIONS", "HEAD", "PATCH"), weight: 1 }),
    params: fc.record({ room: roomish, id: fc.oneof(fc.constant(fx.fileId), nasty), name: fc.oneof(fc.constantFrom("app.js", "style.css", "htmx.js", "room-name.js"), nasty), rest: fc.oneof(fc.constantFrom("sessions", "sessions/x/poll", "x"), nasty) }),
    query,
    headers: fc.array(header, { maxLength: 5 }),
    body,
  });
}

/** Percent-encodes a string's UTF-8 bytes (a lone surrogate becomes U+FFFD), but a value that starts with '%' goes as it is: bad escapes are tried too. */
function pct(value: string): string {
  if (value.startsWith("%")) return value.replace(/[^\x21-\x7e]/g, "");
  return [...new TextEncoder().encode(value)].map((b) => (/[A-Za-z0-9\-_.~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).padStart(2, "0")}`)).join("");
}

/** The request a sample describes, as fetch takes it; its path and query are encoded here, so anything goes in them. */
function toRequest(base: string, r: ReturnType<ReturnType<typeof requestArbitrary>["generate"]>["value"]) {
  const path = r.route.path
    .replace(":room", pct(r.params.room))
    .replace(":id", pct(r.params.id))
    .replace(":name", pct(r.params.name))
    .replace("*", r.params.rest.split("/").map(pct).join("/"));
  const url = `${base}${path}${r.query.length > 0 ? `?${r.query.map(([k, v]) => `${pct(k)}=${pct(v)}`).join("&")}` : ""}`;
  const method = r.method ?? r.route.method;
  const headers = new Headers();
  for (const [name, value] of r.headers) {
    try {
      headers.set(name, value);
    } catch {
      // a value fetch itself refuses to send (a control character): not sent
    }
  }
  return { url, init: { method, headers, body: method === "GET" || method === "HEAD" ? undefined : r.body, redirect: "manual" as const } };
}

export interface FuzzRun {
  base: string;
  seconds: number;
  seed: number;
  fixture: Fixture;
  workers?: number;
}

export interface FuzzFindings {
  statuses: Record<number, number>;
  /** Each 5xx answer: the request and the start of the answer. */
  fives: string[];
  /** Requests held past the timeout (streams, long polls) or that fetch would not send. */
  unanswered: number;
}

/** Sends hostile requests for `seconds` from `workers` loops at once; what came back, by status. */
export async function fuzzHttp({ base, seconds, seed, fixture, workers = 8 }: FuzzRun): Promise<FuzzFindings> {
  const next = sampler(requestArbitrary(fixture, routes()), seed, 256);
  const statuses: Record<number, number> = {};
  const fives: string[] = [];
  let unanswered = 0;
  const deadline = Date.now() + seconds * 1000;
  const worker = async () => {
    while (Date.now() < deadline) {
      const { url, init } = toRequest(base, next());
      const summary = `${init.method} ${url.slice(0, 200)} ${JSON.stringify([...init.headers])}`;
      try {
        const res = await fetch(url, { ...init, signal: AbortSignal.timeout(3000) });
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        if (res.status >= 500) fives.push(`${res.status} ${summary}: ${(await res.text()).slice(0, 200)}`);
        else await res.body?.cancel();
      } catch {
        unanswered++;
      }
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
  return { statuses, fives, unanswered };
}

if (import.meta.main) console.log(JSON.stringify(await fuzzHttp(JSON.parse(process.argv[2]!) as FuzzRun)));
