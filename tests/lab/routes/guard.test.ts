// The HTTP guard (src/routes/guard.ts): no DNS rebinding (Host), no cross-site writes (Sec-Fetch-Site, Origin), the
// security headers on every response, and a broken request body answered 400 with one log line.
import { afterEach, describe, expect, it, spyOn } from "bun:test";
import { connect } from "node:net";
import { hostname } from "node:os";
import { CONTENT_SECURITY_POLICY, hostOf, isOwnersNavigation, SECURITY_HEADERS } from "../../../src/routes/guard.ts";
import { makeApp } from "../../helpers/app.ts";
import { startInstance } from "../../helpers/instance.ts";

const JSON_TYPE = { "content-type": "application/json" };
const FORM_TYPE = { "content-type": "application/x-www-form-urlencoded" };
const REBINDING = "this instance answers only requests addressed to it by its own address or name (see --public-host)";

/** One request of each kind the instance serves, with what it answers when nothing refuses it. */
const ROUTES: { name: string; path: string; init?: RequestInit; ok: number }[] = [
  { name: "the JSON send", path: "/send", init: { method: "POST", headers: JSON_TYPE, body: JSON.stringify({ room: "lobby", text: "hi" }) }, ok: 200 },
  { name: "the page's form", path: "/rooms/lobby/messages", init: { method: "POST", headers: FORM_TYPE, body: "peer_id=p&text=hi" }, ok: 303 },
  { name: "the history", path: "/history?room=lobby", ok: 200 },
  { name: "the page", path: "/", ok: 200 },
  { name: "the health check", path: "/healthz", ok: 200 },
  { name: "the mesh info", path: "/mesh/info", ok: 200 },
  { name: "an asset", path: "/assets/app.js", ok: 200 },
  { name: "a missing route", path: "/no/such/thing", ok: 404 },
];

/** What changes state, with the body each takes; a mesh handler stands in for the HTTP link tier. */
const WRITES: { path: string; headers: Record<string, string>; body: string; ok: number; fromPages?: number }[] = [
  { path: "/send", headers: JSON_TYPE, body: JSON.stringify({ room: "lobby", text: "forged" }), ok: 200 },
  { path: "/rooms/lobby/messages", headers: FORM_TYPE, body: "peer_id=mallory&text=forged", ok: 303 },
  { path: "/rooms", headers: JSON_TYPE, body: JSON.stringify({ name: "made" }), ok: 200 },
  { path: "/create", headers: FORM_TYPE, body: "name=made&peer_id=p", ok: 303 },
  { path: "/join", headers: FORM_TYPE, body: "room=joined&peer_id=p", ok: 303 },
  // Only other instances use the HTTP tier: a request a browser marks is refused even from the instance's own origin.
  { path: "/mesh/http/open", headers: {}, body: "", ok: 200, fromPages: 403 },
];

function guardedApp() {
  const mesh: Request[] = [];
  const made = makeApp({
    publicHosts: ["chat.example.org"],
    meshHttp: async (request) => {
      mesh.push(request);
      return Response.json({ session: "s" });
    },
  });
  // The page's form writes only in a room joined here (a page open on a room left or deleted creates nothing).
  made.node.join("lobby");
  const at = (url: string, init?: RequestInit) => made.app.handle(new Request(url, init));
  /** What a write left behind: messages, rooms, mesh requests. */
  const traces = () => ({ messages: made.node.history("lobby", 0, 1000).length, rooms: made.node.rooms(), mesh: mesh.length });
  return { ...made, at, traces };
}

async function errorOf(res: Response): Promise<unknown> {
  return ((await res.json()) as { error?: unknown }).error;
}

function expectSecurityHeaders(res: Response) {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) expect(`${name}: ${res.headers.get(name)}`).toBe(`${name}: ${value}`);
}

describe("the Host header (DNS rebinding)", () => {
  it.each(ROUTES)("$name is refused with 403 for Host: evil.example, before the route runs", async ({ path, init }) => {
    const { at, traces } = guardedApp();
    const before = traces();
    for (const res of [await at(`http://evil.example${path}`, init), await at(`http://127.0.0.1${path}`, { ...init, headers: { ...init?.headers, host: "evil.example:8080" } })]) {
      expect(res.status).toBe(403);
      expect(await errorOf(res)).toBe(REBINDING);
      expectSecurityHeaders(res);
    }
    expect(traces()).toEqual(before);
  });

  it.each(ROUTES)("$name answers for an address or name of this machine", async ({ path, init, ok }) => {
    const { at } = guardedApp();
    const me = hostname().toLowerCase();
    const hosts = ["127.0.0.1:8080", "192.0.2.1", "[::1]:8080", "[fe80::1]", "localhost:8080", "LocalHost.", `${me}:8080`, `${me}.local`, "chat.example.org", "CHAT.example.org.:443"];
    for (const host of hosts) {
      const res = await at(`http://127.0.0.1${path}`, { ...init, headers: { ...init?.headers, host } });
      expect(`${host} ${res.status}`).toBe(`${host} ${ok}`);
    }
  });

  it("names that only look like this machine are refused", async () => {
    const { at } = guardedApp();
    const me = hostname().toLowerCase();
    const hosts = ["evil.example", "127.0.0.1.evil.example", "localhost.evil.example", `${me}.evil.example`, "chat.example.org.evil", "example.org", "evil.local", "[::1", "::1", "127.0.0.1:99999", "127.0.0.1:x", "a b", ""];
    for (const host of hosts) {
      const res = await at("http://127.0.0.1/healthz", { headers: { host } });
      expect(`${JSON.stringify(host)} ${res.status}`).toBe(`${JSON.stringify(host)} 403`);
    }
  });

  it("a --public-host name is accepted only when given", async () => {
    const { app } = makeApp();
    const res = await app.handle(new Request("http://chat.example.org/healthz"));
    expect(res.status).toBe(403);
  });

  it("hostOf takes the port and a trailing dot off, keeps IPv6 brackets, and rejects what is no host", () => {
    expect(hostOf("Example.COM.:8080")).toBe("example.com");
    expect(hostOf("[::1]:80")).toBe("[::1]");
    expect(hostOf("10.0.0.1")).toBe("10.0.0.1");
    for (const bad of [undefined, "", "a:b:c", "host:65536", "[::1", "a:x:1"]) expect(hostOf(bad)).toBeUndefined();
  });

  it("a real instance refuses Host: evil.example and a request without Host, and still serves its own address", async () => {
    await using instance = await startInstance({ args: ["--public-host", "chat.example.test"] });
    const port = Number(new URL(instance.http).port);
    const evil = await rawRequest(port, `GET /healthz HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n`);
    expect(evil.status).toBe(403);
    expect(JSON.parse(evil.body)).toEqual({ error: REBINDING });
    expect(evil.headers["content-security-policy"]).toBe(CONTENT_SECURITY_POLICY);
    const posted = await rawRequest(
      port,
      `POST /send HTTP/1.1\r\nHost: evil.example:${port}\r\nContent-Type: application/json\r\nContent-Length: 28\r\nConnection: close\r\n\r\n{"room":"lobby","text":"hi"}`,
    );
    expect(posted.status).toBe(403);
    // HTTP/1.0 needs no Host: Bun passes such a request on with a bare path for its URL (it used to end in a 500).
    const noHost = await rawRequest(port, `GET /no/such/route HTTP/1.0\r\n\r\n`);
    expect(noHost.status).toBe(403);
    expect(JSON.parse(noHost.body)).toEqual({ error: REBINDING });
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `chat.example.test:${port}`]) {
      const res = await rawRequest(port, `GET /healthz HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      expect(`${host} ${res.status}`).toBe(`${host} 200`);
    }
    expect(await (await fetch(`${instance.http}/history?room=lobby`)).json()).toEqual([]);
  }, 30_000);
});

describe("cross-site writes", () => {
  const refusedHeaders: [string, Record<string, string>][] = [
    ["Sec-Fetch-Site: cross-site", { "sec-fetch-site": "cross-site" }],
    ["Sec-Fetch-Site: same-site (another port of this host)", { "sec-fetch-site": "same-site" }],
    ["Sec-Fetch-Site of an unknown kind", { "sec-fetch-site": "something-else" }],
    ["a foreign Origin", { origin: "http://evil.example" }],
    ["the Origin of another port of this host", { origin: "http://127.0.0.1:9999" }],
    ["the Origin of another scheme", { origin: "https://127.0.0.1:8080" }],
    ["Origin: null (a sandboxed frame)", { origin: "null" }],
    ["an Origin that is no URL", { origin: "not a url" }],
    ["same-origin but a foreign Origin", { "sec-fetch-site": "same-origin", origin: "http://evil.example" }],
    ["cross-site with this instance's own Origin", { "sec-fetch-site": "cross-site", origin: "http://127.0.0.1:8080" }],
  ];
  const allowedHeaders: [string, Record<string, string>][] = [
    ["neither header (curl, scripts, other instances)", {}],
    ["Sec-Fetch-Site: same-origin", { "sec-fetch-site": "same-origin" }],
    ["Sec-Fetch-Site: none (the user's own action)", { "sec-fetch-site": "none" }],
    ["this instance's own Origin", { origin: "http://127.0.0.1:8080" }],
    ["same-origin with its own Origin", { "sec-fetch-site": "same-origin", origin: "http://127.0.0.1:8080" }],
    // Under Referrer-Policy: no-referrer, Chromium sends the page's own form posts with Origin: null.
    ["same-origin with Origin: null (the page's own form under no-referrer)", { "sec-fetch-site": "same-origin", origin: "null" }],
  ];

  for (const write of WRITES) {
    it.each(refusedHeaders)(`POST ${write.path} with %s is refused with 403 and changes nothing`, async (_, headers) => {
      const { at, traces } = guardedApp();
      const before = traces();
      const res = await at(`http://127.0.0.1:8080${write.path}`, { method: "POST", headers: { ...write.headers, ...headers }, body: write.body });
      expect(res.status).toBe(403);
      expect(await errorOf(res)).toMatch(/^requests from other (sites|origins) may not change anything here$/);
      expectSecurityHeaders(res);
      expect(traces()).toEqual(before);
    });

    it.each(allowedHeaders)(`POST ${write.path} with %s goes through`, async (_, headers) => {
      const { at } = guardedApp();
      const res = await at(`http://127.0.0.1:8080${write.path}`, { method: "POST", headers: { ...write.headers, ...headers }, body: write.body });
      expect(res.status).toBe(Object.keys(headers).length > 0 ? (write.fromPages ?? write.ok) : write.ok);
    });
  }

  it("the Origin is compared with the Host the request was sent to, default port included", async () => {
    const { at } = guardedApp();
    const send = (host: string, origin: string) =>
      at("http://127.0.0.1/send", { method: "POST", headers: { ...JSON_TYPE, host, origin }, body: JSON.stringify({ room: "lobby", text: "x" }) });
    expect((await send("localhost:8080", "http://localhost:8080")).status).toBe(200);
    expect((await send("chat.example.org", "http://chat.example.org:80")).status).toBe(200);
    expect((await send("LOCALHOST:8080", "http://localhost:8080")).status).toBe(200);
    expect((await send("localhost:8080", "http://127.0.0.1:8080")).status).toBe(403);
    expect((await send("127.0.0.1:8080", "http://localhost:8080")).status).toBe(403);
  });

  it("other methods that change state are held to the same rule; reads are not", async () => {
    const { at } = guardedApp();
    for (const method of ["PUT", "PATCH", "DELETE"]) {
      const res = await at("http://127.0.0.1/send", { method, headers: { "sec-fetch-site": "cross-site" } });
      expect(`${method} ${res.status}`).toBe(`${method} 403`);
    }
    for (const path of ["/healthz", "/history?room=lobby", "/assets/style.css", "/"]) {
      const res = await at(`http://127.0.0.1${path}`, { headers: { "sec-fetch-site": "cross-site", origin: "http://evil.example" } });
      expect(`${path} ${res.status}`).toBe(`${path} 200`);
    }
  });

  it("isOwnersNavigation is true only for a browser's navigation from no site or this origin", () => {
    const get = (headers: Record<string, string>) => isOwnersNavigation(new Request("http://127.0.0.1:8080/?room=r&peer_id=p", { headers }));
    expect(get({})).toBe(false); // curl, a script, an instance's own fetch after a redirect
    expect(get({ "sec-fetch-site": "none" })).toBe(false);
    expect(get({ "sec-fetch-site": "none", "sec-fetch-mode": "navigate" })).toBe(true);
    expect(get({ "sec-fetch-site": "same-origin", "sec-fetch-mode": "navigate" })).toBe(true);
    expect(get({ "sec-fetch-site": "same-origin", "sec-fetch-mode": "no-cors" })).toBe(false);
    expect(get({ "sec-fetch-site": "cross-site", "sec-fetch-mode": "navigate" })).toBe(false);
    expect(get({ "sec-fetch-site": "same-site", "sec-fetch-mode": "navigate" })).toBe(false);
  });

  it("no deep link joins its room by GET, whoever follows it: the page asks, and a POST of the owner's joins", async () => {
    const { at, node } = guardedApp();
    const cross = await at("http://127.0.0.1:8080/?room=lured&peer_id=p", { headers: { "sec-fetch-site": "cross-site", "sec-fetch-dest": "image" } });
    expect(cross.status).toBe(200);
    expect(node.rooms()).not.toContain("lured");
    const own = await at("http://127.0.0.1:8080/?room=mine&peer_id=p", { headers: { "sec-fetch-site": "none", "sec-fetch-mode": "navigate", "sec-fetch-dest": "document" } });
    expect(own.status).toBe(200);
    expect(await own.text()).toContain("There is no room #mine here");
    expect(node.rooms()).toEqual(["lobby"]);
  });
});

describe("security headers", () => {
  it("the CSP allows no inline script, no eval, no framing, and nothing from elsewhere", () => {
    const directives = Object.fromEntries(CONTENT_SECURITY_POLICY.split("; ").map((d) => [d.split(" ")[0], d.split(" ").slice(1).join(" ")]));
    expect(directives).toEqual({
      "default-src": "'self'",
      "script-src": "'self'",
      "style-src": "'self'",
      "img-src": "'self' data:",
      "connect-src": "'self'",
      "frame-ancestors": "'none'",
      "base-uri": "'none'",
      "form-action": "'self'",
      "object-src": "'none'",
    });
    expect(CONTENT_SECURITY_POLICY).not.toContain("unsafe");
  });

  it.each(ROUTES)("$name carries them", async ({ path, init }) => {
    const { at } = guardedApp();
    expectSecurityHeaders(await at(`http://127.0.0.1${path}`, init));
  });

  it("refusals, validation errors, page errors, HEAD and the live stream carry them too", async () => {
    const { at, node } = guardedApp();
    node.join("lobby");
    const stream = await at("http://127.0.0.1/rooms/lobby/events");
    expect(stream.headers.get("content-type")).toContain("text/event-stream");
    await stream.body?.cancel();
    const responses = [
      stream,
      await at("http://127.0.0.1/history"), // 400: no room
      await at("http://127.0.0.1/send", { method: "POST", headers: { "content-type": "text/plain" }, body: "x" }), // 415
      await at("http://127.0.0.1/peers", { headers: { "x-test-client": "192.0.2.7" } }), // 403 for a guest
      await at("http://127.0.0.1/?room=bad%20name&peer_id=p"), // the page's own refusal
      await at("http://127.0.0.1/create", { method: "POST", headers: FORM_TYPE, body: "name=" }), // a refused owner form
      await at("http://127.0.0.1/healthz", { method: "HEAD" }),
      await at("http://127.0.0.1/assets/nothing.js"),
    ];
    expect(responses.map((r) => r.status)).toEqual([200, 400, 415, 403, 400, 400, 200, 404]);
    for (const res of responses) expectSecurityHeaders(res);
  });
});

describe("a broken request body", () => {
  let spy: ReturnType<typeof spyOn> | undefined;
  afterEach(() => spy?.mockRestore());

  /** A body that breaks off after a few bytes, as Bun hands a route a chunked body with bad framing. */
  const broken = () =>
    new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(new TextEncoder().encode('{"room":"lob'));
        controller.error(new Error("The connection was closed."));
      },
    });

  it("is answered 400 with one log line, at most one a second, and no stack trace", async () => {
    const { at, node } = guardedApp();
    await Bun.sleep(1100); // past any broken body another test logged
    spy = spyOn(console, "error").mockImplementation(() => {});
    const routes: [string, Record<string, string>][] = [
      ["/send", JSON_TYPE],
      ["/rooms/lobby/messages", FORM_TYPE],
      ["/rooms", JSON_TYPE],
      ["/create", FORM_TYPE],
    ];
    for (const [path, headers] of routes) {
      const res = await at(`http://127.0.0.1${path}`, { method: "POST", headers, body: broken(), duplex: "half" } as RequestInit);
      expect(`${path} ${res.status}`).toBe(`${path} 400`);
      if (res.headers.get("content-type")?.includes("json")) expect(await errorOf(res)).toBe("the request body could not be read");
    }
    expect(node.history("lobby", 0, 10)).toEqual([]);
    const lines = (spy.mock.calls as unknown[][]).map((args) => args.map(String).join(" "));
    expect(lines).toEqual([expect.stringMatching(/^e-goat: POST \/send: the request body could not be read: The connection was closed\.$/)]);

    await Bun.sleep(1100);
    await at("http://127.0.0.1/send", { method: "POST", headers: JSON_TYPE, body: broken(), duplex: "half" } as RequestInit);
    expect((spy.mock.calls as unknown[][]).at(-1)?.join(" ")).toContain("(and 3 more since the last such line)");
  }, 10_000);

  it("with bad chunked framing on the wire is answered 400, logged without a stack trace, and the server carries on", async () => {
    const { app, node } = guardedApp();
    spy = spyOn(console, "error").mockImplementation(() => {});
    app.listen({ port: 0, hostname: "127.0.0.1" });
    try {
      const port = app.server!.port!;
      for (const [path, type] of [
        ["/send", "application/json"],
        ["/rooms/lobby/messages", "application/x-www-form-urlencoded"],
      ]) {
        const head = `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: ${type}\r\nTransfer-Encoding: chunked\r\n\r\n`;
        // A good first chunk that the route starts reading, then a chunk size that is no number.
        const res = await rawRequest(port, head, "5\r\n{\"roo\r\n", "zz\r\nhello\r\n0\r\n\r\n");
        expect(`${path} ${res.status}`).toBe(`${path} 400`);
      }
      const ok = await rawRequest(port, `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
      expect(ok.status).toBe(200);
      expect(node.history("lobby", 0, 10)).toEqual([]);
      for (const args of spy.mock.calls as unknown[][]) expect(args.map(String).join(" ")).not.toContain("\n");
    } finally {
      await app.stop(true);
    }
  }, 10_000);
});

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Sends the parts over one TCP connection (a pause between them), and reads the first response until the server closes. */
function rawRequest(port: number, ...parts: string[]): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let text = "";
    const socket = connect(port, "127.0.0.1", async () => {
      for (const part of parts) {
        socket.write(part);
        await Bun.sleep(50);
      }
    });
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      const [head = "", ...rest] = text.split("\r\n\r\n");
      const [statusLine = "", ...lines] = head.split("\r\n");
      const status = Number(statusLine.split(" ")[1]);
      if (!status) return reject(new Error(`no HTTP response: ${JSON.stringify(text)}`));
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]));
      let body = rest.join("\r\n\r\n");
      if (headers["content-length"] !== undefined) body = body.slice(0, Number(headers["content-length"]));
      resolve({ status, headers, body });
    };
    const timer = setTimeout(done, 3000);
    socket.on("data", (d) => {
      text += d;
      // One response is enough: stop at the end of its declared body.
      const end = text.indexOf("\r\n\r\n");
      const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, end));
      if (end >= 0 && (length ? text.length >= end + 4 + Number(length[1]) : /^HTTP\/1\.1 400 Bad Request\r\nConnection: close/.test(text))) done();
    });
    socket.on("close", done);
    socket.on("error", done);
  });
}
