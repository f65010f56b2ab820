import { afterAll, beforeAll, expect, it } from "bun:test";
import { startInstance, type Instance } from "./helpers/instance.ts";

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
  expect(await res.text()).toContain("64 KiB");
});

it("the instance still answers after all of that", async () => {
  expect((await fetch(`${instance.http}/healthz`)).status).toBe(200);
});

it("an unknown method on a known path is a JSON 404", async () => {
  const res = await fetch(`${instance.http}/send`, { method: "PUT" });
  expect(res.status).toBe(404);
  expect(((await res.json()) as { error: string }).error).toContain("PUT /send");
});
