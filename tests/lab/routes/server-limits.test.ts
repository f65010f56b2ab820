import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { makeApp } from "../../helpers/app.ts";
import { startInstance, type Instance } from "../../helpers/instance.ts";
import { createTestLan, netnsUnavailable, startHosted, type TestHost } from "../../helpers/netns.ts";

// Limits as a real server applies them: Bun's own body limit must never answer before the routes can.
let instance: Instance;
beforeAll(async () => {
  instance = await startInstance();
});
afterAll(async () => {
  await instance[Symbol.asyncDispose]();
});

const big = "a".repeat(2 * 1024 * 1024);

it("a 2 MiB /send body gets a JSON 413", async () => {
  const res = await fetch(`${instance.http}/send`, { method: "POST", headers: { "content-type": "application/json" }, body: big });
  expect(res.status).toBe(413);
  expect(((await res.json()) as { error: string }).error).toContain("64 KiB");
});

it("a 2 MiB /send body without Content-Length gets a JSON 413", async () => {
  const body = new ReadableStream({
    start(c) {
      for (let i = 0; i < 32; i++) c.enqueue(new TextEncoder().encode("a".repeat(64 * 1024)));
      c.close();
    },
  });
  const res = await fetch(`${instance.http}/send`, { method: "POST", headers: { "content-type": "application/json" }, body });
  expect(res.status).toBe(413);
  expect(((await res.json()) as { error: string }).error).toContain("64 KiB");
});

it("a 2 MiB form post gets the page back with a 413 and its error", async () => {
  const res = await fetch(`${instance.http}/rooms/r/messages`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `text=${big}` });
  expect(res.status).toBe(413);
  expect(res.headers.get("content-type")).toContain("text/html");
  expect(await res.text()).toContain("160 KiB");
});

it("the instance still answers after all of that", async () => {
  expect((await fetch(`${instance.http}/healthz`)).status).toBe(200);
});

it("an unknown method on a known path is a JSON 404", async () => {
  const res = await fetch(`${instance.http}/send`, { method: "PUT" });
  expect(res.status).toBe(404);
  expect(((await res.json()) as { error: string }).error).toContain("PUT /send");
});

/** Retries `status()` until it is `want` (`tries` times, 20 ms apart): the server learns of a dropped connection a moment after it drops. */
async function eventually(status: () => Promise<number> | number, want: number, tries = 100): Promise<number> {
  let got = 0;
  for (let i = 0; i < tries && got !== want; i++) {
    if (i > 0) await Bun.sleep(20);
    got = await status();
  }
  return got;
}

describe("per-client budgets on a real server", () => {
  // makeApp's app on a real socket: clients really connect and really go away; x-test-client names a guest.
  let app: ReturnType<typeof makeApp>;
  let base: string;
  beforeAll(() => {
    app = makeApp({ guestStreams: { perGuest: 2 }, guestWaiting: { perGuest: 2 } });
    app.node.join("r");
    app.node.join("quiet");
    app.app.listen({ port: 0, hostname: "127.0.0.1" });
    base = `http://127.0.0.1:${app.app.server!.port}`;
  });
  afterAll(async () => {
    await app.app.stop(true);
  });

  const guest = { "x-test-client": "192.0.2.7" };

  it("a guest's streams come back when its fetches are aborted, and the owner streams meanwhile", async () => {
    const aborts = new AbortController();
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${base}/rooms/r/events`, { headers: guest, signal: aborts.signal });
      expect(res.status).toBe(200);
      await res.body!.getReader().read();
    }
    expect((await fetch(`${base}/rooms/r/events`, { headers: guest })).status).toBe(429);
    const mine = new AbortController();
    expect((await fetch(`${base}/rooms/r/events`, { signal: mine.signal })).status).toBe(200);
    mine.abort();
    aborts.abort();
    const probe = async () => {
      const ac = new AbortController();
      const res = await fetch(`${base}/rooms/r/events`, { headers: guest, signal: ac.signal });
      ac.abort();
      return res.status;
    };
    expect(await eventually(probe, 200)).toBe(200);
  });

  it("a guest's long polls come back when its connections close", async () => {
    const request = `GET /history?room=r&since=0&wait=30 HTTP/1.1\r\nHost: 127.0.0.1\r\nx-test-client: 192.0.2.8\r\n\r\n`;
    const sockets = await Promise.all(
      [1, 2].map(() => Bun.connect({ hostname: "127.0.0.1", port: app.app.server!.port!, socket: { data() {} } })),
    );
    for (const socket of sockets) socket.write(request);
    await Bun.sleep(100);
    const poll = () => fetch(`${base}/history?room=quiet&wait=1`, { headers: { "x-test-client": "192.0.2.8" } }).then((r) => r.status);
    expect(await poll()).toBe(429);
    for (const socket of sockets) socket.end();
    expect(await eventually(poll, 200)).toBe(200);
  });
});

const unavailable = netnsUnavailable() ?? (Bun.which("curl") ? null : "curl is missing");
if (unavailable) console.log(`per-client budget namespace test skipped: ${unavailable}`);

/** curl from inside `host`: prints the status, then holds a stream until it is killed or `seconds` pass. */
function curlIn(host: TestHost, url: string, seconds: number, data?: unknown) {
  const body = data === undefined ? [] : ["-H", "content-type: application/json", "--data-binary", JSON.stringify(data)];
  const args = ["curl", "-s", "-N", "-o", "/dev/null", "-w", "%{http_code}", "-m", String(seconds), ...body, url];
  return Bun.spawn(["ip", "netns", "exec", host.ns, ...args], { stdout: "pipe", stderr: "ignore" });
}

const statusOf = async (proc: ReturnType<typeof curlIn>) => Number(await new Response(proc.stdout).text());

describe.skipIf(unavailable !== null)("a guest on another host at its stream limit", () => {
  it("gets 429 for a ninth stream while the owner's page still streams; its streams come back when it hangs up", async () => {
    await using lan = createTestLan(2);
    const [home, guest] = lan.hosts as [TestHost, TestHost];
    await using _instance = await startHosted(home, ["--transports", "websocket", "--lan-addr", "127.255.255.255"]);
    // The owner is on the instance's own host (loopback); the guest on the other, with its real address.
    expect(await statusOf(curlIn(home, "http://127.0.0.1:8080/rooms", 5, { name: "r", private: false }))).toBe(200);
    const url = `http://${home.ip}:8080/rooms/r/events`;
    const held = Array.from({ length: 8 }, () => curlIn(guest, url, 60));
    try {
      // All eight connected before the ninth is tried, so the ninth is the one past the limit.
      const connected = () => Bun.spawnSync(["ip", "netns", "exec", guest.ns, "ss", "-Htn", "state", "established"]).stdout.toString().trim().split("\n").filter(Boolean).length;
      expect(await eventually(connected, 8)).toBe(8);
      await Bun.sleep(200);
      expect(await eventually(() => statusOf(curlIn(guest, url, 1)), 429, 5)).toBe(429);
      expect(held.map((proc) => proc.exitCode)).toEqual(Array(8).fill(null));
      expect(await statusOf(curlIn(home, "http://127.0.0.1:8080/rooms/r/events", 1))).toBe(200);
    } finally {
      for (const proc of held) proc.kill();
      await Promise.all(held.map((proc) => proc.exited));
    }
    expect(await eventually(() => statusOf(curlIn(guest, url, 1)), 200)).toBe(200);
  }, 60_000);
});
