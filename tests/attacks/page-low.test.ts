/**
 * Issue 22, low findings on the page: a page's nonce reused in another room answered 500 (the only 5xx of the HTTP
 * fuzz); the room-key cookie held the key and was sent by Chromium to every port of the host; a member could take
 * another instance's display name and its bylines looked the same; the default display name was the host name, told to
 * anyone by /healthz, /mesh/info and the hello.
 */
import { describe, expect, it } from "bun:test";
import { hostname } from "node:os";
import { groupedNodeId } from "../../src/domain/names.ts";
import { makeApp } from "../helpers/app.ts";
import { startInstance, waitFor } from "../helpers/instance.ts";
import { peersOf, send, waitForCount, waitForLink } from "../helpers/mesh.ts";

const GUEST = { "x-test-client": "192.0.2.7" };
const pageSend = (text: string, nonce: string) => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
  body: new URLSearchParams({ text, nonce }).toString(),
});

describe("low findings of the page", () => {
  it("a nonce used in one room and sent again in another: 409 in words, never 500", async () => {
    const { request, node } = makeApp();
    node.join("a");
    node.join("b");
    const nonce = "reused-nonce-0123456789";
    expect((await request("/rooms/a/messages", pageSend("first", nonce))).status).toBe(200);
    const again = await request("/rooms/b/messages", pageSend("second", nonce));
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: string }).error).toBe("this send's nonce was already used for a message of another room; reload the page and send again");
    expect(node.history("b")).toEqual([]);
  });

  it("the room-key cookie is named for this instance and holds no key: sent to another instance of the host, it opens nothing", async () => {
    const key = "K".repeat(43);
    const here = makeApp();
    const there = makeApp(); // another instance on another port of the same host, in the same private room
    const room = here.node.join("family", key);
    there.node.join("family", key);
    const opened = await here.request(`/?room=family&key=${key}`, { headers: GUEST });
    const cookies = opened.headers.getSetCookie();
    const keyCookie = cookies.find((c) => c.includes(`_room_${room.id}=`))!;
    expect(keyCookie).toStartWith(`egoat_${here.node.id.slice(0, 12)}_room_${room.id}=`);
    expect(keyCookie).not.toContain(key);
    const jar = cookies.map((c) => c.split(";")[0]).join("; ");
    // The browser sends the host's cookies to every port: here they open the room, there nothing.
    expect((await here.request("/history?room=family", { headers: { ...GUEST, cookie: jar } })).status).toBe(200);
    expect((await there.request("/history?room=family", { headers: { ...GUEST, cookie: jar } })).status).toBe(403);
    // Nor does the cookie of before, which held the very key: it is taken back.
    expect((await here.request("/history?room=family", { headers: { ...GUEST, cookie: `room_${room.id}=${key}` } })).status).toBe(403);
    const taken = await here.request(`/?room=family&peer_id=gina`, { headers: { ...GUEST, cookie: `${jar}; room_${room.id}=${key}` } });
    expect(taken.headers.getSetCookie()).toContain(`room_${room.id}=; Path=/; Max-Age=0`);
  });

  it("without --name an instance tells no one its host name: 'E-Goat' and the start of its node id", async () => {
    await using a = await startInstance({ args: ["--room", "r", "--transports", "websocket"] });
    await using b = await startInstance({ args: ["--room", "r", "--transports", "websocket", "--peer", a.http] });
    const expected = `E-Goat ${a.nodeId.slice(0, 4)}`;
    const health = (await (await fetch(`${a.http}/healthz`)).json()) as { name: string };
    const info = (await (await fetch(`${a.http}/mesh/info`)).json()) as { name: string };
    await waitForLink(b, a);
    const hello = (await peersOf(b)).find((p) => p.node_id === a.nodeId)!.name;
    expect([health.name, info.name, hello]).toEqual([expected, expected, expected]);
    const host = hostname().split(".")[0]!;
    for (const told of [health.name, info.name, hello, await (await fetch(`${a.http}/?room=r`)).text()]) expect(told.includes(host)).toBe(false);
  }, 30_000);

  it("a member that takes another instance's name: bylines tell the two apart, and 'this instance' is only this one's", async () => {
    await using a = await startInstance({ args: ["--name", "alice", "--room", "r", "--transports", "websocket"] });
    await using fake = await startInstance({ args: ["--name", "alice", "--room", "r", "--transports", "websocket", "--peer", a.http] });
    await using c = await startInstance({ args: ["--name", "carol", "--room", "r", "--transports", "websocket", "--peer", a.http] });
    await waitForLink(c, a);
    await waitForLink(c, fake);
    await send(a, "r", "the real alice", "alice");
    await send(fake, "r", "the fake alice", "alice");
    await send(c, "r", "carol here", "carol");
    await waitForCount(c, "r", 3);
    const html = await waitFor(async () => {
      const page = await (await fetch(`${c.http}/?room=r`)).text();
      return page.includes(`alice · ${groupedNodeId(fake.nodeId).slice(0, 9)}`) ? page : null;
    }, 10_000, "both alices named at c");
    const sources = [...html.matchAll(/<span class="source" title="node ([^"]+)">([^<]*)<\/span>/g)].map((m) => [m[1], m[2]]).sort();
    // (In the order the messages came to c, which replication may change: sorted.)
    expect(sources).toEqual([
      [groupedNodeId(a.nodeId), `alice · ${groupedNodeId(a.nodeId).slice(0, 9)}`],
      [groupedNodeId(fake.nodeId), `alice · ${groupedNodeId(fake.nodeId).slice(0, 9)}`],
      [groupedNodeId(c.nodeId), "carol · this instance"],
    ].sort());
  }, 40_000);
});
