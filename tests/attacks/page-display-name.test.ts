/**
 * Issue 22, what a new user met: the display name lived in the page's address. Opening a room from the landing page or
 * "Join again" turned "Bob" back into the host name, and the members panel then showed one person as two names. The
 * name is now the owner's setting, kept in chat.db, set in the page (or by --name), used wherever the owner writes;
 * `peer_id` in an address or the API still overrides it for that page or send (the contract).
 */
import { describe, expect, it } from "bun:test";
import { makeApp } from "../helpers/app.ts";
import { startInstance, waitFor } from "../helpers/instance.ts";
import { peersOf, waitForLink } from "../helpers/mesh.ts";

const SAME_ORIGIN = { "sec-fetch-site": "same-origin", "sec-fetch-mode": "navigate", origin: "http://localhost" };
const form = (fields: Record<string, string>) => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded", ...SAME_ORIGIN },
  body: new URLSearchParams(fields).toString(),
  redirect: "manual" as const,
});
/** The peer_id the page's send form posts. */
const formName = (html: string) => /<input type="hidden" name="peer_id" value="([^"]*)"\/>/.exec(html)?.[1];

describe("the owner's display name is a setting, not a part of the address", () => {
  it("set in the page, it stays through the landing page's links and 'Join again', and the members show one name", async () => {
    const { request, node } = makeApp();
    node.join("family", "F".repeat(43));
    node.join("work");
    const named = await request("/name", form({ name: "Bob", room: "family" }));
    expect(named.status).toBe(303);
    expect(named.headers.get("location")).toBe("/?room=family");
    // The landing page's room links carry no name; each room opens as Bob.
    const landing = await (await request("/")).text();
    expect(landing.includes("peer_id=")).toBe(false);
    for (const href of ["/?room=family", "/?room=work"]) {
      const html = await (await request(href)).text();
      expect(formName(html)).toBe("Bob");
      expect(html).toContain('placeholder="Message #' + href.slice(7) + ' as Bob"');
    }
    // Leave, then "Join again" from the landing page: still Bob.
    node.leave("work", { deleteHistory: false });
    const again = await request("/join", form({ room: "work" }));
    expect(again.headers.get("location")).toBe("/?room=work");
    expect(formName(await (await request("/?room=work")).text())).toBe("Bob");
    // What the owner writes is Bob's, and the members panel shows one person under one name.
    await request("/rooms/family/messages", form({ peer_id: "Bob", text: "from the page" }));
    node.post({ room: "family", peer_id: node.name, text: "from a script" });
    const members = await (await request("/rooms/family/members")).text();
    expect(members).toContain(">Bob</span>");
    expect(members).toContain('<span class="people" title="Bob">Bob</span>');
  });

  it("the landing page's 'Your name' sets it; a peer_id in the address overrides it for that page only", async () => {
    const { request, node } = makeApp();
    await request("/create", form({ name: "family", peer_id: "Carol" }));
    expect(node.name).toBe("Carol");
    const override = await (await request("/?room=family&peer_id=Dave")).text();
    expect(formName(override)).toBe("Dave");
    expect(node.name).toBe("Carol");
    expect(formName(await (await request("/?room=family")).text())).toBe("Carol");
  });

  it("a bad name is refused in words, and nothing changes", async () => {
    const { request, node } = makeApp();
    const res = await request("/name", form({ name: "a\u0007b" }));
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("A name is 1 to 64 characters, without control characters.");
    expect(node.name).toBe("tester");
    expect((await request("/name", { ...form({ name: "Eve" }), headers: { ...form({}).headers, "x-test-client": "192.0.2.7" } })).status).toBe(403);
  });

  it("kept in chat.db across restarts, told to linked members at once, and given by --name again when the flag is", async () => {
    await using a = await startInstance({ args: ["--room", "r", "--transports", "websocket"] });
    await using b = await startInstance({ args: ["--room", "r", "--transports", "websocket", "--peer", a.http] });
    await waitForLink(b, a);
    const renamed = await fetch(`${a.http}/name`, { ...form({ name: "Alice" }), headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(renamed.status).toBe(303);
    expect(((await (await fetch(`${a.http}/healthz`)).json()) as { name: string }).name).toBe("Alice");
    // Linked members hear it in a hello, without a new link.
    await waitFor(async () => (await peersOf(b)).find((p) => p.node_id === a.nodeId)?.name === "Alice", 10_000, "b to know a as Alice");
    await a.stop();
    await using again = await startInstance({ db: a.db, args: ["--room", "r", "--transports", "websocket"] });
    expect(((await (await fetch(`${again.http}/healthz`)).json()) as { name: string }).name).toBe("Alice");
    await again.stop();
    await using flagged = await startInstance({ db: a.db, args: ["--name", "Flag", "--transports", "websocket"] });
    expect(((await (await fetch(`${flagged.http}/healthz`)).json()) as { name: string }).name).toBe("Flag");
  }, 60_000);
});
