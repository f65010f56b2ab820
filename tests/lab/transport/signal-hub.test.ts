import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { startInstance, type Instance } from "../../helpers/instance.ts";

let instance: Instance;
beforeAll(async () => {
  instance = await startInstance();
});
afterAll(async () => {
  await instance[Symbol.asyncDispose]();
});

type Envelope = { peer_id?: string; type: string; payload?: unknown; target_peer_id?: string };

/** A real WebSocket client of the hub with a queue of what it received. */
class Member {
  readonly inbox: Envelope[] = [];
  #waiters: (() => void)[] = [];
  closed: { code: number; reason: string } | null = null;

  private constructor(readonly ws: WebSocket) {
    ws.onmessage = (e) => {
      this.inbox.push(JSON.parse(String(e.data)));
      for (const w of this.#waiters.splice(0)) w();
    };
    ws.onclose = (e) => {
      this.closed = { code: e.code, reason: e.reason };
      for (const w of this.#waiters.splice(0)) w();
    };
  }

  static async join(room: string, peerId: string): Promise<Member> {
    const ws = new WebSocket(`${instance.ws}/signal?room=${encodeURIComponent(room)}&peer_id=${encodeURIComponent(peerId)}`);
    const member = new Member(ws);
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onerror = () => reject(new Error("could not connect"));
    });
    await member.next((e) => e.type === "peers");
    return member;
  }

  send(envelope: unknown) {
    this.ws.send(typeof envelope === "string" ? envelope : JSON.stringify(envelope));
  }

  /** Waits for (and removes) the first envelope matching `match`. */
  async next(match: (e: Envelope) => boolean = () => true, timeoutMs = 3000): Promise<Envelope> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.inbox.findIndex(match);
      if (i >= 0) return this.inbox.splice(i, 1)[0]!;
      if (Date.now() > deadline) throw new Error(`no matching envelope within ${timeoutMs} ms; inbox: ${JSON.stringify(this.inbox).slice(0, 300)}`);
      await Promise.race([new Promise<void>((r) => this.#waiters.push(r)), Bun.sleep(50)]);
    }
  }

  /** True if nothing matching arrives within `ms`. */
  async nothing(match: (e: Envelope) => boolean = () => true, ms = 200): Promise<boolean> {
    await Bun.sleep(ms);
    return !this.inbox.some(match);
  }

  close() {
    this.ws.close();
  }
}

let roomCounter = 0;
const freshRoom = () => `hub-${++roomCounter}`;

describe("signaling hub", () => {
  it("tells a newcomer who is there, and the others that it joined and left", async () => {
    const room = freshRoom();
    const a = await Member.join(room, "a");
    const bWs = new WebSocket(`${instance.ws}/signal?room=${room}&peer_id=b`);
    const b = await new Promise<Envelope>((resolve) => (bWs.onmessage = (e) => resolve(JSON.parse(String(e.data)))));
    expect(b).toEqual({ type: "peers", payload: ["a"] });
    expect(await a.next((e) => e.type === "peer_joined")).toEqual({ type: "peer_joined", peer_id: "b" });
    bWs.close();
    expect(await a.next((e) => e.type === "peer_left")).toEqual({ type: "peer_left", peer_id: "b" });
    a.close();
  });

  it("relays an envelope without a target to every other member, not back to the sender", async () => {
    const room = freshRoom();
    const [a, b, c] = [await Member.join(room, "a"), await Member.join(room, "b"), await Member.join(room, "c")];
    a.send({ type: "offer", payload: { sdp: "v=0" } });
    expect(await b.next((e) => e.type === "offer")).toEqual({ peer_id: "a", type: "offer", payload: { sdp: "v=0" } });
    expect(await c.next((e) => e.type === "offer")).toEqual({ peer_id: "a", type: "offer", payload: { sdp: "v=0" } });
    expect(await a.nothing((e) => e.type === "offer")).toBe(true);
    for (const m of [a, b, c]) m.close();
  });

  it("relays an envelope with target_peer_id to that member only", async () => {
    const room = freshRoom();
    const [a, b, c] = [await Member.join(room, "a"), await Member.join(room, "b"), await Member.join(room, "c")];
    a.send({ type: "answer", payload: "x", target_peer_id: "c" });
    expect(await c.next((e) => e.type === "answer")).toEqual({ peer_id: "a", type: "answer", payload: "x", target_peer_id: "c" });
    expect(await b.nothing((e) => e.type === "answer")).toBe(true);
    for (const m of [a, b, c]) m.close();
  });

  it("stamps the sender's joined id over any peer_id in the body", async () => {
    const room = freshRoom();
    const [a, b] = [await Member.join(room, "a"), await Member.join(room, "b")];
    a.send({ peer_id: "b", type: "candidate", payload: 1 });
    expect((await b.next((e) => e.type === "candidate")).peer_id).toBe("a");
    a.close();
    b.close();
  });

  it("keeps rooms apart", async () => {
    const [a, b] = [await Member.join(freshRoom(), "a"), await Member.join(freshRoom(), "b")];
    a.send({ type: "offer", payload: 1 });
    expect(await b.nothing()).toBe(true);
    a.close();
    b.close();
  });

  it("relays an envelope of exactly 64 KiB", async () => {
    const room = freshRoom();
    const [a, b] = [await Member.join(room, "a"), await Member.join(room, "b")];
    const bare = JSON.stringify({ type: "offer", payload: "" }).length;
    a.send({ type: "offer", payload: "x".repeat(64 * 1024 - bare) });
    expect(((await b.next((e) => e.type === "offer")).payload as string).length).toBe(64 * 1024 - bare);
    a.close();
    b.close();
  });

  it("refuses an envelope over 64 KiB with an error to the sender, and relays nothing", async () => {
    const room = freshRoom();
    const [a, b] = [await Member.join(room, "a"), await Member.join(room, "b")];
    a.send({ type: "offer", payload: "x".repeat(64 * 1024) });
    expect((await a.next((e) => e.type === "error")).payload).toMatch(/limit/);
    expect(await b.nothing((e) => e.type === "offer")).toBe(true);
    a.send({ type: "still-here" });
    expect(await b.next((e) => e.type === "still-here")).toBeTruthy();
    a.close();
    b.close();
  });

  it("answers bad JSON, non-objects, missing types and unknown targets with an error envelope", async () => {
    const room = freshRoom();
    const a = await Member.join(room, "a");
    for (const bad of ["{nope", "[1,2]", '"text"', '{"payload":1}', '{"type":""}', '{"type":"x","target_peer_id":5}', '{"type":"x","target_peer_id":"ghost"}']) {
      a.send(bad);
      expect((await a.next((e) => e.type === "error")).payload).toBeString();
    }
    expect(a.closed).toBeNull();
    a.close();
  });

  it("a second connection with the same peer_id replaces the first", async () => {
    const room = freshRoom();
    const other = await Member.join(room, "other");
    const first = await Member.join(room, "same");
    const second = await Member.join(room, "same");
    await Bun.sleep(100);
    expect(first.closed?.code).toBe(4001);
    other.send({ type: "ping", target_peer_id: "same" });
    expect(await second.next((e) => e.type === "ping")).toBeTruthy();
    expect(await other.nothing((e) => e.type === "peer_left")).toBe(true);
    other.close();
    second.close();
  });

  it("limits how fast one member may send", async () => {
    const room = freshRoom();
    const a = await Member.join(room, "a");
    for (let i = 0; i < 400; i++) a.send({ type: "flood", payload: i });
    expect((await a.next((e) => e.type === "error" && /slow down/.test(String(e.payload)))).payload).toBeTruthy();
    a.close();
  });

  for (const [query, what] of [
    ["", "neither room nor peer_id"],
    ["?room=r", "no peer_id"],
    ["?peer_id=p", "no room"],
    ["?room=bad%20room&peer_id=p", "an invalid room"],
  ]) {
    it(`answers HTTP 400 before the upgrade for ${what}`, async () => {
      const res = await fetch(`${instance.ws.replace("ws:", "http:")}/signal${query}`, {
        headers: { upgrade: "websocket", connection: "Upgrade", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-version": "13" },
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toBeString();
    });
  }

  it("a WebSocket client without room is refused", async () => {
    const ws = new WebSocket(`${instance.ws}/signal?peer_id=p`);
    const outcome = await new Promise<string>((resolve) => {
      ws.onopen = () => resolve("open");
      ws.onerror = () => resolve("error");
    });
    expect(outcome).toBe("error");
  });

  it("answers 404 for other paths on the WebSocket port", async () => {
    expect((await fetch(`${instance.ws.replace("ws:", "http:")}/elsewhere`)).status).toBe(404);
  });
});
