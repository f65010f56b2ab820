/**
 * HTTP fuzz (issue 22): every route of a real instance, asked for a bounded time by its owner's machine with hostile
 * paths, query strings, headers and bodies (JSON of any shape, forms, broken multipart, bytes, large ones), among
 * requests that name real rooms, keys and files so they get past the first checks. Nothing may answer 5xx, and the
 * instance must stay up and log no unhandled failure. FUZZ_SECONDS (default 20) sets the time, FUZZ_SEED the seed.
 */
import { describe, expect, it } from "bun:test";
import fc from "fast-check";
import { upload } from "../helpers/files.ts";
import { makeApp } from "../helpers/app.ts";
import { startInstance, type Instance } from "../helpers/instance.ts";
import { send } from "../helpers/mesh.ts";
import { sampler } from "./arbitrary.ts";

const SECONDS = Number(process.env.FUZZ_SECONDS ?? 20);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
const WORKERS = 8;

/** Every route the app has (from the app itself, so a new route is fuzzed too), and the HTTP tier's. */
function routes(): { method: string; path: string }[] {
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

interface Fixture {
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

function expectNoUnhandled(instance: Instance): void {
  expect(`${instance.output()}\n${instance.errors()}`).not.toMatch(/unhandled|uncaught|panic|segmentation/i);
}

describe("HTTP fuzz", () => {
  it(`hostile requests to every route for ${SECONDS} s (seed ${SEED}): no 5xx, the instance stays up`, async () => {
    console.log(`HTTP fuzz: seed ${SEED}, ${SECONDS} s`);
    await using a = await startInstance({ args: ["--transports", "websocket,http", "--room", "lobby"] });
    const created = (await (await fetch(`${a.http}/rooms`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "secret" }) })).json()) as { key: string };
    const sent = await send(a, "lobby", "hello fuzz");
    await send(a, "secret", "a secret");
    const { file } = await upload(a, "lobby", new Uint8Array(10_000).fill(1));
    const fx: Fixture = { room: "lobby", secret: "secret", key: created.key, fileId: file.id, messageId: sent.id, origin: a.http };
    const next = sampler(requestArbitrary(fx, routes()), SEED, 256);
    const statuses = new Map<number, number>();
    const fives: string[] = [];
    let unanswered = 0;
    const deadline = Date.now() + SECONDS * 1000;
    const worker = async () => {
      while (Date.now() < deadline) {
        const { url, init } = toRequest(a.http, next());
        const summary = `${init.method} ${url.slice(0, 200)} ${JSON.stringify([...init.headers])}`;
        try {
          const res = await fetch(url, { ...init, signal: AbortSignal.timeout(3000) });
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          if (res.status >= 500) fives.push(`${res.status} ${summary}: ${(await res.text()).slice(0, 200)}`);
          else await res.body?.cancel();
        } catch {
          unanswered++; // a stream or long poll held past the timeout, or a request fetch would not send
        }
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, worker));
    const total = [...statuses.values()].reduce((sum, n) => sum + n, 0);
    console.log(`HTTP fuzz: ${total} answered, ${unanswered} held or not sent; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((x, y) => x[0] - y[0])))}`);
    if (fives.length > 0) console.log(`HTTP fuzz: what the instance logged:\n${a.errors().slice(-4000)}`);
    expect(fives).toEqual([]);
    expect(a.proc.exitCode).toBeNull();
    expect((await fetch(`${a.http}/healthz`)).status).toBe(200);
    expectNoUnhandled(a);
  }, (SECONDS + 60) * 1000);
});
