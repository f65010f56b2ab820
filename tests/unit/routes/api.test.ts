import { PROTOCOL_VERSION } from "../../../src/domain/protocol.ts";
import { describe, expect, it } from "bun:test";
import { makeApp } from "../../helpers/app.ts";

async function expectError(res: Response, status: number, pattern?: RegExp) {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toContain("application/json");
  const body = (await res.json()) as { error: unknown };
  expect(typeof body.error).toBe("string");
  if (pattern) expect(body.error as string).toMatch(pattern);
}

describe("POST /send", () => {
  it("stores a message and answers its id and stamp", async () => {
    const { send, node } = makeApp();
    const res = await send({ room: "general", peer_id: "alice", text: "hello" });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { id: string; timestamp: number };
    expect(body.id).toBe(`${node.id}:1:general`);
    expect(body.timestamp).toBeGreaterThan(0);
    expect(node.history("general").map((m) => [m.peer_id, m.text])).toEqual([["alice", "hello"]]);
  });

  it("uses the instance name when no peer_id is given, and joins the room", async () => {
    const { send, node } = makeApp();
    expect((await send({ room: "r", text: "x" })).status).toBe(200);
    expect(node.history("r")[0]!.peer_id).toBe("tester");
    expect(node.rooms()).toEqual(["r"]);
  });

  it("numbers messages per room", async () => {
    const { send, node } = makeApp();
    await send({ room: "a", text: "1" });
    await send({ room: "b", text: "1" });
    await send({ room: "a", text: "2" });
    expect(node.history("a").map((m) => m.seq)).toEqual([1, 2]);
    expect(node.history("b").map((m) => m.seq)).toEqual([1]);
  });

  it("accepts a charset in the content type", async () => {
    const { send } = makeApp();
    expect((await send({ room: "r", text: "x" }, { "content-type": "application/json; charset=utf-8" })).status).toBe(200);
  });

  it("refuses bad JSON with 400", async () => expectError(await makeApp().send("{nope", { "content-type": "application/json" }), 400, /JSON/));
  it("refuses a JSON array with 400", async () => expectError(await makeApp().send([1, 2]), 400, /object/));
  it("refuses JSON null with 400", async () => expectError(await makeApp().send("null"), 400, /object/));
  it("refuses a missing room with 400", async () => expectError(await makeApp().send({ text: "x" }), 400, /room/));
  it("refuses an empty room with 400", async () => expectError(await makeApp().send({ room: "", text: "x" }), 400, /room/));
  it("refuses a room with a slash with 400", async () => expectError(await makeApp().send({ room: "a/b", text: "x" }), 400, /room/));
  it("refuses a 65-character room with 400", async () => expectError(await makeApp().send({ room: "r".repeat(65), text: "x" }), 400, /room/));
  it("refuses a numeric room with 400", async () => expectError(await makeApp().send({ room: 5, text: "x" }), 400, /room/));
  it("refuses a missing text with 400", async () => expectError(await makeApp().send({ room: "r" }), 400, /text/));
  it("refuses an empty text with 400", async () => expectError(await makeApp().send({ room: "r", text: "" }), 400, /text/));
  it("refuses a blank text with 400", async () => expectError(await makeApp().send({ room: "r", text: "  \n " }), 400, /text/));
  it("refuses a non-string text with 400", async () => expectError(await makeApp().send({ room: "r", text: { a: 1 } }), 400, /text/));
  it("refuses a bad peer_id with 400", async () => expectError(await makeApp().send({ room: "r", text: "x", peer_id: "a\u0000b" }), 400, /peer_id/));
  it("refuses a text over 16384 characters with 413", async () => expectError(await makeApp().send({ room: "r", text: "x".repeat(16385) }), 413, /16384 characters/));

  it("accepts a text of exactly 16384 characters, however many bytes they take", async () => {
    const { send, node } = makeApp();
    expect((await send({ room: "r", text: "x".repeat(16 * 1024) })).status).toBe(200);
    // Counted as the text box counts them: 16384 "é" are 32 KiB of UTF-8, and were refused when the limit was in bytes.
    expect((await send({ room: "r", text: "é".repeat(16 * 1024) })).status).toBe(200);
    expect(node.history("r").map((m) => m.text.length)).toEqual([16384, 16384]);
  });

  it("refuses a body over 64 KiB with 413", async () => {
    const { send, node } = makeApp();
    await expectError(await send({ room: "r", text: "x", pad: "p".repeat(70 * 1024) }), 413, /64 KiB/);
    expect(node.history("r")).toEqual([]);
  });

  it("refuses a body over 64 KiB sent without Content-Length with 413", async () => {
    const { request } = makeApp();
    const chunk = new TextEncoder().encode("x".repeat(16 * 1024));
    const body = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode('{"room":"r","text":"'));
        for (let i = 0; i < 5; i++) c.enqueue(chunk);
        c.enqueue(new TextEncoder().encode('"}'));
        c.close();
      },
    });
    await expectError(await request("/send", { method: "POST", headers: { "content-type": "application/json" }, body }), 413);
  });

  it("refuses another content type with 415", async () => expectError(await makeApp().send("room=r&text=x", { "content-type": "application/x-www-form-urlencoded" }), 415));
  it("refuses a missing content type with 415", async () => {
    const { request } = makeApp();
    await expectError(await request("/send", { method: "POST", body: new Blob(['{"room":"r","text":"x"}']) }), 415);
  });

  it("refuses a new room past the room limit with 403 and stores nothing", async () => {
    const { send, node } = makeApp({ maxRooms: 2 });
    await send({ room: "a", text: "x" });
    await send({ room: "b", text: "x" });
    await expectError(await send({ room: "c", text: "x" }), 403, /rooms/);
    expect(node.history("c")).toEqual([]);
    expect((await send({ room: "a", text: "still fine" })).status).toBe(200);
  });

  it("limits the message rate of clients off this machine with 429", async () => {
    const { send, node } = makeApp({ guestSendRate: { perSecond: 1, burst: 3 } });
    node.join("r");
    const guest = { "content-type": "application/json", "x-test-client": "192.0.2.7" };
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await send({ room: "r", text: `m${i}` }, guest)).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    // The owner, on this machine, is not limited.
    expect((await send({ room: "r", text: "owner" })).status).toBe(200);
  });
});

describe("GET /history", () => {
  it("answers [] for an unknown room", async () => {
    const res = await makeApp().request("/history?room=nobody");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual([]);
  });

  it("lists messages oldest first with the contract's fields", async () => {
    const { send, request, node } = makeApp();
    await send({ room: "r", peer_id: "a", text: "one" });
    await send({ room: "r", peer_id: "b", text: "two" });
    const list = (await (await request("/history?room=r")).json()) as Record<string, unknown>[];
    expect(list.map((m) => m.text)).toEqual(["one", "two"]);
    for (const key of ["id", "room", "peer_id", "text", "timestamp", "sent_at", "origin"]) expect(list[0]).toHaveProperty(key);
    expect(list[0]!.origin).toBe(node.id);
    expect((list[1]!.timestamp as number) > (list[0]!.timestamp as number)).toBe(true);
  });

  it("pages with since and limit", async () => {
    const { send, request } = makeApp();
    for (let i = 0; i < 5; i++) await send({ room: "r", text: `m${i}` });
    const first = (await (await request("/history?room=r&limit=2")).json()) as { text: string; timestamp: number }[];
    expect(first.map((m) => m.text)).toEqual(["m0", "m1"]);
    const rest = (await (await request(`/history?room=r&since=${first[1]!.timestamp}`)).json()) as { text: string }[];
    expect(rest.map((m) => m.text)).toEqual(["m2", "m3", "m4"]);
  });

  it("keeps rooms apart", async () => {
    const { send, request } = makeApp();
    await send({ room: "a", text: "in a" });
    await send({ room: "b", text: "in b" });
    expect(((await (await request("/history?room=b")).json()) as { text: string }[]).map((m) => m.text)).toEqual(["in b"]);
  });

  it("refuses a missing room with 400", async () => expectError(await makeApp().request("/history"), 400, /room/));
  it("refuses an invalid room with 400", async () => expectError(await makeApp().request("/history?room=a%20b"), 400, /room/));
  it("refuses a negative since with 400", async () => expectError(await makeApp().request("/history?room=r&since=-1"), 400, /since/));
  it("refuses a non-numeric since with 400", async () => expectError(await makeApp().request("/history?room=r&since=abc"), 400, /since/));
  it("refuses limit 0 with 400", async () => expectError(await makeApp().request("/history?room=r&limit=0"), 400, /limit/));
  it("refuses limit 1001 with 400", async () => expectError(await makeApp().request("/history?room=r&limit=1001"), 400, /limit/));
  it("refuses wait 31 with 400", async () => expectError(await makeApp().request("/history?room=r&wait=31"), 400, /wait/));

  it("long-polls: a held request returns as soon as a message arrives", async () => {
    const { send, request } = makeApp();
    const started = performance.now();
    const pending = request("/history?room=r&wait=10");
    await Bun.sleep(100);
    await send({ room: "r", text: "late" });
    const list = (await (await pending).json()) as { text: string }[];
    expect(list.map((m) => m.text)).toEqual(["late"]);
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it("long-polls: answers [] when nothing arrives within wait", async () => {
    const { request } = makeApp();
    const started = performance.now();
    expect(await (await request("/history?room=r&wait=1")).json()).toEqual([]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(900);
  });

  it("long-polls: a message in another room does not wake the request", async () => {
    const { send, request } = makeApp();
    const pending = request("/history?room=r&wait=1");
    await send({ room: "other", text: "x" });
    expect(await (await pending).json()).toEqual([]);
  });

  it("long-polls: refuses past the limit of held requests with 429", async () => {
    const { request, send } = makeApp({ maxWaiting: 1 });
    const held = request("/history?room=r&wait=5");
    await Bun.sleep(20);
    await expectError(await request("/history?room=r&wait=5"), 429);
    await send({ room: "r", text: "release" });
    expect((await held).status).toBe(200);
  });
});

describe("GET /peers and /healthz", () => {
  it("/peers is an empty list while no instance is linked", async () => {
    const res = await makeApp().request("/peers");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual([]);
  });

  it("/healthz names the instance", async () => {
    const { request, node } = makeApp();
    expect(await (await request("/healthz")).json()).toEqual({ ok: true, node_id: node.id, name: "tester", version: "test" });
  });
});

describe("unknown routes and methods", () => {
  it("answers 404 JSON for an unknown path", async () => expectError(await makeApp().request("/nope"), 404, /nope/));
  it("answers 404 JSON for an unknown asset", async () => expectError(await makeApp().request("/assets/secret.txt"), 404));
  it("answers 4xx JSON for GET /send", async () => {
    const res = await makeApp().request("/send");
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
  });
});

describe("guest rate", () => {
  it("is one budget across the JSON API and the form", async () => {
    const { send, request, node } = makeApp({ guestSendRate: { perSecond: 1, burst: 2 } });
    node.join("r");
    const guest = "192.0.2.7";
    const form = { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", "x-test-client": guest }, body: "text=hi" };
    expect((await send({ room: "r", text: "1" }, { "content-type": "application/json", "x-test-client": guest })).status).toBe(200);
    expect((await request("/rooms/r/messages", form)).status).toBe(303);
    expect((await request("/rooms/r/messages", form)).status).toBe(429);
    await expectError(await send({ room: "r", text: "3" }, { "content-type": "application/json", "x-test-client": guest }), 429);
  });
});

describe("GET /mesh/info", () => {
  it("names the instance and its protocol for other instances", async () => {
    const { request, node } = makeApp({ reach: { addresses: () => ({ http: "http://192.0.2.1:8080", ws: "ws://192.0.2.1:9000" }) } });
    expect(await (await request("/mesh/info")).json()).toEqual({
      node_id: node.id,
      name: "tester",
      protocol: PROTOCOL_VERSION,
      addresses: { http: "http://192.0.2.1:8080", ws: "ws://192.0.2.1:9000" },
    });
  });
});
