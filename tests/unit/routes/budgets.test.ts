/**
 * Limits per client (issue 8): a guest at its limit, or all guests together at theirs, never stop the owner; what a
 * client held comes back when it goes away; one IPv6 host is one guest however it rotates its addresses.
 */
import { describe, expect, it } from "bun:test";
import { ClientBudget, GuestLimit, guestKey } from "../../../src/routes/budgets.ts";
import type { Client } from "../../../src/routes/client.ts";
import { HttpError } from "../../../src/util/http.ts";
import { makeApp } from "../../helpers/app.ts";

const owner: Client = { address: "127.0.0.1", owner: true };
const guest = (address: string): Client => ({ address, owner: false });

function refusal(take: () => unknown): string {
  try {
    take();
  } catch (error) {
    expect(error).toBeInstanceOf(HttpError);
    expect((error as HttpError).status).toBe(429);
    return (error as HttpError).message;
  }
  throw new Error("not refused");
}

async function expect429(res: Response, pattern: RegExp) {
  expect(res.status).toBe(429);
  expect(((await res.json()) as { error: string }).error).toMatch(pattern);
}

describe("guestKey", () => {
  it("counts an IPv4 guest by its address, also when IPv4-mapped", () => {
    expect(guestKey("192.0.2.7")).toBe("192.0.2.7");
    expect(guestKey("::ffff:192.0.2.7")).toBe("192.0.2.7");
    expect(guestKey("::FFFF:c000:0207")).toBe("192.0.2.7");
    expect(guestKey("192.0.2.8")).not.toBe(guestKey("192.0.2.7"));
  });

  it("counts an IPv6 guest by its /64, however the address is written", () => {
    const key = guestKey("2001:db8:1:2::1");
    expect(key).toBe("2001:db8:1:2::/64");
    for (const same of ["2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:DB8:1:2:a:b:c:d", "2001:0db8:0001:0002::abcd", "2001:db8:1:2::1%eth0", "2001:db8:1:2:0:0:1.2.3.4"]) {
      expect(guestKey(same)).toBe(key);
    }
    expect(guestKey("2001:db8:1:3::1")).not.toBe(key);
    expect(guestKey("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(guestKey("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
  });

  it("keeps what is not an address as it is", () => {
    expect(guestKey("unknown")).toBe("unknown");
    expect(guestKey("1:2:3")).toBe("1:2:3");
  });
});

describe("ClientBudget", () => {
  it("refuses a guest past its own budget while other guests and the owner still get theirs", () => {
    const budget = new ClientBudget("live streams", 2, { total: 10, perGuest: 2 });
    budget.take(guest("192.0.2.1"));
    budget.take(guest("192.0.2.1"));
    expect(refusal(() => budget.take(guest("192.0.2.1")))).toBe("this guest already holds 2 live streams, the most one guest may; close one first");
    budget.take(guest("192.0.2.2"));
    budget.take(owner);
    expect(budget.held()).toEqual({ owner: 1, guests: 3, perGuest: { "192.0.2.1": 2, "192.0.2.2": 1 } });
  });

  it("refuses guests past their shared budget and never lends them the owner's", () => {
    const budget = new ClientBudget("live streams", 2, { total: 3, perGuest: 2 });
    for (const address of ["192.0.2.1", "192.0.2.2", "192.0.2.3"]) budget.take(guest(address));
    expect(refusal(() => budget.take(guest("192.0.2.4")))).toBe("all 3 live streams open to guests are taken; try again later");
    budget.take(owner);
    budget.take(owner);
    expect(refusal(() => budget.take(owner))).toBe("all 2 live streams of this instance's owner are open; close one first");
    expect(budget.held()).toMatchObject({ owner: 2, guests: 3 });
  });

  it("gives back exactly what was taken: each release once, however often it is called", () => {
    const budget = new ClientBudget("waiting requests", 2, { total: 4, perGuest: 2 });
    const releases = [budget.take(owner), budget.take(owner), budget.take(guest("192.0.2.1")), budget.take(guest("2001:db8::1")), budget.take(guest("2001:db8::2"))];
    expect(budget.held()).toEqual({ owner: 2, guests: 3, perGuest: { "192.0.2.1": 1, "2001:db8:0:0::/64": 2 } });
    for (const release of releases) {
      release();
      release();
    }
    expect(budget.held()).toEqual({ owner: 0, guests: 0, perGuest: {} });
    // Nothing was given back twice: the limits hold as before.
    budget.take(guest("2001:db8::3"));
    budget.take(guest("2001:db8::4"));
    expect(() => budget.take(guest("2001:db8::5"))).toThrow(HttpError);
  });

  it("counts an IPv6 host by its /64, so rotating addresses does not take the guests' budget", () => {
    const budget = new ClientBudget("live streams", 1, { total: 100, perGuest: 8 });
    for (let i = 1; i <= 8; i++) budget.take(guest(`2001:db8:1:2::${i.toString(16)}`));
    expect(() => budget.take(guest("2001:db8:1:2:dead:beef:0:1"))).toThrow(/this guest already holds 8/);
    budget.take(guest("2001:db8:1:3::1"));
    expect(budget.held().guests).toBe(9);
  });
});

describe("GuestLimit", () => {
  const request = (address: string) => new Request("http://localhost/send", { headers: { "x-test-client": address } });
  const addressOf = (r: Request) => r.headers.get("x-test-client") ?? undefined;

  it("limits each guest, all guests together, and never the owner", () => {
    const limit = new GuestLimit({ perSecond: 1, burst: 2, now: () => 0, allGuests: { perSecond: 1, burst: 5, now: () => 0 } }, addressOf);
    limit.check(request("192.0.2.1"), null);
    limit.check(request("192.0.2.1"), null);
    expect(refusal(() => limit.check(request("192.0.2.1"), null))).toBe("too many messages; slow down");
    for (const address of ["192.0.2.2", "192.0.2.3", "192.0.2.4"]) limit.check(request(address), null);
    expect(refusal(() => limit.check(request("192.0.2.5"), null))).toBe("guests together are sending too many messages; try again in a moment");
    for (let i = 0; i < 100; i++) limit.check(request("127.0.0.1"), null);
  });

  it("counts an IPv6 guest by its /64", () => {
    const limit = new GuestLimit({ perSecond: 1, burst: 2, now: () => 0 }, addressOf);
    limit.check(request("2001:db8:1:2::a"), null);
    limit.check(request("2001:db8:1:2::b"), null);
    expect(() => limit.check(request("2001:db8:1:2::c"), null)).toThrow(HttpError);
    limit.check(request("2001:db8:1:3::a"), null);
  });
});

/** Opens the live stream of room r as `address` (the owner without one); the stream stays open until `signal` aborts. */
function streamAs(request: ReturnType<typeof makeApp>["request"], address: string | null, signal?: AbortSignal) {
  return request("/rooms/r/events", { headers: address ? { "x-test-client": address } : {}, signal });
}

describe("live streams per client", () => {
  it("a guest at its limit gets 429 while another guest and the owner still stream; its streams come back when they close", async () => {
    const { request, node } = makeApp();
    node.join("r");
    const held: Response[] = [];
    for (let i = 0; i < 8; i++) held.push(await streamAs(request, "192.0.2.7"));
    expect(held.map((r) => r.status)).toEqual(Array(8).fill(200));
    await expect429(await streamAs(request, "192.0.2.7"), /this guest already holds 8 live streams/);
    const other = await streamAs(request, "192.0.2.8");
    expect(other.status).toBe(200);
    const mine = await streamAs(request, null);
    expect(mine.status).toBe(200);
    // The guest's browser closes its streams: each slot comes back, and only those.
    for (const r of held) await r.body!.cancel();
    for (let i = 0; i < 8; i++) held[i] = await streamAs(request, "192.0.2.7");
    expect(held.map((r) => r.status)).toEqual(Array(8).fill(200));
    expect((await streamAs(request, "192.0.2.7")).status).toBe(429);
    for (const r of [...held, other, mine]) await r.body!.cancel();
  });

  it("guests from many addresses together get half the streams, never the owner's", async () => {
    const { request, node } = makeApp();
    node.join("r");
    const aborts = new AbortController();
    const statuses: number[] = [];
    // What one client did to a whole instance before: 1000 streams from 125 addresses, 8 each.
    for (let i = 0; i < 1000; i++) statuses.push((await streamAs(request, `198.51.100.${i % 125}`, aborts.signal)).status);
    const mine = await streamAs(request, null);
    expect(mine.status).toBe(200);
    await mine.body!.cancel();
    expect(statuses.filter((s) => s === 200).length).toBe(500);
    expect(statuses.filter((s) => s === 429).length).toBe(500);
    await expect429(await streamAs(request, "203.0.113.1"), /all 500 live streams open to guests are taken/);
    // The guests go away (their fetches aborted): every guest slot is free again.
    aborts.abort();
    for (let i = 0; i < 500; i++) expect((await streamAs(request, `203.0.113.${i % 125}`, AbortSignal.timeout(5000))).status).toBe(200);
    expect((await streamAs(request, "203.0.113.200")).status).toBe(429);
  });

  it("a guest refused a room takes nothing from its budget", async () => {
    const { request, node } = makeApp({ guestStreams: { perGuest: 1 } });
    node.join("r");
    for (let i = 0; i < 5; i++) expect((await request("/rooms/secret/events", { headers: { "x-test-client": "192.0.2.7" } })).status).toBe(403);
    const stream = await streamAs(request, "192.0.2.7");
    expect(stream.status).toBe(200);
    await stream.body!.cancel();
  });

  it("one IPv6 host is one guest, whichever addresses of its /64 it uses", async () => {
    const { request, node } = makeApp({ guestStreams: { perGuest: 2 } });
    node.join("r");
    const aborts = new AbortController();
    expect((await streamAs(request, "2001:db8:1:2::1", aborts.signal)).status).toBe(200);
    expect((await streamAs(request, "2001:db8:1:2::2", aborts.signal)).status).toBe(200);
    await expect429(await streamAs(request, "2001:db8:1:2:a:b:c:d", aborts.signal), /this guest already holds 2/);
    expect((await streamAs(request, "2001:db8:1:3::1", aborts.signal)).status).toBe(200);
    aborts.abort();
  });
});

/** A long poll of `room` as `address` (the owner without one). */
function pollAs(request: ReturnType<typeof makeApp>["request"], address: string | null, signal?: AbortSignal, wait = 30, room = "r") {
  return request(`/history?room=${room}&wait=${wait}`, { headers: address ? { "x-test-client": address } : {}, signal });
}

describe("long polls per client", () => {
  it("a guest at its limit gets 429 while another guest and the owner still wait; aborted polls give their slots back", async () => {
    const { request, send, node } = makeApp();
    node.join("r");
    node.join("quiet");
    const aborts = new AbortController();
    const held = Array.from({ length: 8 }, () => pollAs(request, "192.0.2.7", aborts.signal, 30, "quiet"));
    await Bun.sleep(20);
    await expect429(await pollAs(request, "192.0.2.7", undefined, 30, "quiet"), /this guest already holds 8 waiting \/history requests/);
    const other = pollAs(request, "192.0.2.8");
    const mine = pollAs(request, null);
    await Bun.sleep(20);
    await send({ room: "r", text: "wake up" });
    expect((await other).status).toBe(200);
    expect(((await (await mine).json()) as { text: string }[]).map((m) => m.text)).toEqual(["wake up"]);
    // The guest's requests are aborted: each slot comes back, and only those.
    aborts.abort();
    expect((await Promise.all(held)).map((r) => r.status)).toEqual(Array(8).fill(200));
    const again = new AbortController();
    const polls = Array.from({ length: 8 }, () => pollAs(request, "192.0.2.7", again.signal, 30, "quiet"));
    await Bun.sleep(20);
    expect((await pollAs(request, "192.0.2.7", undefined, 30, "quiet")).status).toBe(429);
    again.abort();
    await Promise.allSettled(polls);
  });

  it("guests from many addresses together never take the owner's long polls", async () => {
    const { request, node } = makeApp();
    node.join("r");
    const aborts = new AbortController();
    const guests = Array.from({ length: 1000 }, (_, i) => pollAs(request, `198.51.100.${i % 125}`, aborts.signal));
    await Bun.sleep(50);
    const mine = await pollAs(request, null, undefined, 1);
    expect(mine.status).toBe(200);
    expect(await mine.json()).toEqual([]);
    await expect429(await pollAs(request, "203.0.113.1"), /all 500 waiting \/history requests open to guests are taken/);
    aborts.abort();
    const settled = await Promise.all(guests.map((p) => p.then((r) => r.status, () => 0)));
    // Refused at once past the guests' budget; the rest waited until their clients went away.
    expect(settled.filter((s) => s === 429).length).toBe(500);
    const after = new AbortController();
    const again = Array.from({ length: 500 }, (_, i) => pollAs(request, `203.0.113.${i % 125}`, after.signal));
    await Bun.sleep(50);
    expect((await pollAs(request, "203.0.113.200")).status).toBe(429);
    after.abort();
    await Promise.allSettled(again);
  });
});

describe("message rate per client", () => {
  it("guests from many addresses together are held to a shared rate; the owner is not", async () => {
    const { send, node } = makeApp({ guestSendRate: { perSecond: 1, burst: 2, allGuests: { perSecond: 1, burst: 5 } } });
    node.join("r");
    const json = (address: string) => ({ "content-type": "application/json", "x-test-client": address });
    const statuses = [];
    for (let i = 1; i <= 6; i++) statuses.push((await send({ room: "r", text: `m${i}` }, json(`192.0.2.${i}`))).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    await expect429(await send({ room: "r", text: "and me" }, json("192.0.2.9")), /guests together/);
    expect((await send({ room: "r", text: "owner" })).status).toBe(200);
  });

  it("one IPv6 host is one guest for the message rate", async () => {
    const { send, node } = makeApp({ guestSendRate: { perSecond: 1, burst: 2 } });
    node.join("r");
    const json = (address: string) => ({ "content-type": "application/json", "x-test-client": address });
    const statuses = [];
    for (const address of ["2001:db8:1:2::a", "2001:db8:1:2::b", "2001:db8:1:2::c", "2001:db8:1:3::a"]) statuses.push((await send({ room: "r", text: "x" }, json(address))).status);
    expect(statuses).toEqual([200, 200, 429, 200]);
  });
});
