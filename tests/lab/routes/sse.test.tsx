/** @jsxImportSource @kitajs/html */
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import type { Message } from "../../../src/storage/index.ts";
import { MessageItem } from "../../../src/views/message.tsx";
import { makeApp } from "../../helpers/app.ts";
import { startInstance, type Instance } from "../../helpers/instance.ts";
import { SseReader } from "../../helpers/sse.ts";

let instance: Instance;
beforeAll(async () => {
  instance = await startInstance();
});
afterAll(async () => {
  await instance[Symbol.asyncDispose]();
});

async function send(room: string, text: string, peer_id = "alice") {
  const res = await fetch(`${instance.http}/send`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ room, text, peer_id }) });
  expect(res.status).toBe(200);
  return (await res.json()) as { id: string; timestamp: number };
}

async function history(room: string): Promise<Message[]> {
  return (await (await fetch(`${instance.http}/history?room=${room}`)).json()) as Message[];
}

function open(room: string, headers: Record<string, string> = {}, query = "", signal?: AbortSignal) {
  return fetch(`${instance.http}/rooms/${room}/events${query}`, { headers, signal });
}

describe("SSE stream of a room", () => {
  it("answers text/event-stream", async () => {
    const ac = new AbortController();
    const res = await open("sse-type", {}, "", ac.signal);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toStartWith("text/event-stream");
    ac.abort();
  });

  it("delivers a multi-line HTML fragment intact, with the stamp as its id", async () => {
    const ac = new AbortController();
    const reader = new SseReader(await open("sse-lines", {}, "", ac.signal));
    const text = "first line\nsecond <b>line</b>\n\n  fourth, indented\r\nfifth";
    const { timestamp } = await send("sse-lines", text);
    const [event] = await reader.until(1);
    ac.abort();
    const stored = (await history("sse-lines"))[0]!;
    expect(event!.id).toBe(String(timestamp));
    // The instance it came from is named beside the author: this instance, by its name.
    const name = ((await (await fetch(`${instance.http}/healthz`)).json()) as { name: string }).name;
    expect(event!.data).toBe(String(<MessageItem message={stored} view={{ names: () => name, files: () => ({ have: 0, delivery: [] }), reader: { nodeId: stored.origin, writeAs: name, owner: true }, delivered: () => 0, boxed: () => 0 }} />));
    expect(event!.data).toContain("first line\nsecond &lt;b&gt;line&lt;/b&gt;\n\n  fourth, indented\r\nfifth".replace("\r\n", "\n"));
  });

  it("replays what came after `since`, then streams live", async () => {
    const a = await send("sse-since", "a");
    await send("sse-since", "b");
    await send("sse-since", "c");
    const ac = new AbortController();
    const reader = new SseReader(await open("sse-since", {}, `?since=${a.timestamp}`, ac.signal));
    await send("sse-since", "d");
    const events = await reader.until(3);
    ac.abort();
    expect(events.map((e) => e.data.match(/<p class="text"><span>(.*?)<\/span><\/p>/)![1])).toEqual(["b", "c", "d"]);
  });

  it("a reconnect with Last-Event-ID misses nothing and repeats nothing", async () => {
    const room = "sse-resume";
    const sent: number[] = [];
    const seen: string[] = [];
    let lastId: string | undefined;
    // Five connections in a row; messages are sent both while connected and while disconnected.
    for (let round = 0; round < 5; round++) {
      const ac = new AbortController();
      const reader = new SseReader(await open(room, lastId ? { "last-event-id": lastId } : {}, "", ac.signal));
      for (let i = 0; i < 10; i++) sent.push((await send(room, `r${round}-${i}`)).timestamp);
      const events = await reader.until(sent.length - seen.length);
      ac.abort();
      for (const e of events) seen.push(e.id!);
      lastId = seen.at(-1);
      for (let i = 0; i < 5; i++) sent.push((await send(room, `gap${round}-${i}`)).timestamp);
    }
    const ac = new AbortController();
    const reader = new SseReader(await open(room, { "last-event-id": lastId! }, "", ac.signal));
    for (const e of await reader.until(sent.length - seen.length)) seen.push(e.id!);
    ac.abort();
    expect(seen).toEqual(sent.map(String));
  });

  it("Last-Event-ID wins over since", async () => {
    const a = await send("sse-priority", "a");
    const b = await send("sse-priority", "b");
    const ac = new AbortController();
    const reader = new SseReader(await open("sse-priority", { "last-event-id": String(b.timestamp) }, `?since=${a.timestamp - 1}`, ac.signal));
    await send("sse-priority", "c");
    const [event] = await reader.until(1);
    ac.abort();
    expect(event!.data).toContain("<span>c</span></p>");
  });

  it("only messages of the room arrive", async () => {
    const ac = new AbortController();
    const reader = new SseReader(await open("sse-mine", {}, "", ac.signal));
    await send("sse-other", "not for you");
    await send("sse-mine", "for you");
    const [event] = await reader.until(1);
    ac.abort();
    expect(event!.data).toContain("for you");
    expect(event!.data).not.toContain("not for you");
  });

  it("refuses an invalid room with 400", async () => {
    const res = await fetch(`${instance.http}/rooms/bad%20room/events`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toContain("room");
  });

  it("refuses a malformed Last-Event-ID with 400", async () => {
    const res = await open("sse-bad", { "last-event-id": "yesterday" });
    expect(res.status).toBe(400);
  });
});

describe("SSE limits", () => {
  it("refuses streams past the limit with 429 and frees the slot when one closes", async () => {
    const { request } = makeApp({ maxStreams: 1 });
    const first = await request("/rooms/r/events");
    expect(first.status).toBe(200);
    const reader = first.body!.getReader();
    await reader.read();
    expect((await request("/rooms/r/events")).status).toBe(429);
    await reader.cancel();
    const third = await request("/rooms/r/events");
    expect(third.status).toBe(200);
    await third.body!.cancel();
  });
});
