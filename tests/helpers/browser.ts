/** Chromium for the page's tests: launched headless from Debian's package, and a room opened with its stream live. */
import { afterAll, beforeAll, expect } from "bun:test";
import { existsSync, rmSync } from "node:fs";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { tempDir, type Instance } from "./instance.ts";

export const CHROMIUM = "/usr/bin/chromium";
export const hasChromium = existsSync(CHROMIUM);
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** What the page is told in `page.evaluate`: the test's TypeScript has no DOM types, so the page's globals are `any`. */
export type PageGlobal = any;

/** A headless Chromium with a profile of its own (removed by the caller with `dir`). */
export async function launch(options: Parameters<typeof chromium.launchPersistentContext>[1] = {}) {
  const dir = tempDir("e-goat-chromium-");
  try {
    const context = await chromium.launchPersistentContext(dir, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, ...options });
    return { context, dir };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Opens a room page and waits until its scripts ran and its SSE stream is open. A room not joined there is asked for
 * first (issue 22): the owner's choice makes it an open room, as `/?room=R` did at once before.
 */
export async function openRoom(page: Page, base: string, room: string, peerId: string) {
  const url = `${base}/?${new URLSearchParams({ room, peer_id: peerId })}`;
  const stream = () => page.waitForResponse((r) => r.url().includes(`/rooms/${room}/events`), { timeout: 5000 });
  let live = stream();
  let res = await page.goto(url);
  const create = page.locator('form[action="/create"] button[name="open"][value="1"]');
  if (res?.status() === 200 && (await create.count()) > 0) {
    live.catch(() => {}); // the page that asked has no stream
    await Promise.all([page.waitForURL(/room=/), create.click()]);
    live = stream();
    res = await page.goto(url);
  }
  expect(res?.status()).toBe(200);
  await page.waitForFunction(() => (globalThis as PageGlobal).htmx !== undefined);
  expect((await live).status()).toBe(200);
}

export type ContextOptions = Parameters<Browser["newContext"]>[0];

/**
 * One Chromium for a describe block: launched before its tests; every context it hands out (or is given to `keep`) and
 * every instance given to `own` is closed after them, and the profile removed.
 */
export function browserSuite(defaults: ContextOptions = {}, timeoutMs = 60_000) {
  let browser: Browser;
  let profile: string;
  const contexts: BrowserContext[] = [];
  const instances: Instance[] = [];
  beforeAll(async () => {
    const launched = await launch(defaults);
    profile = launched.dir;
    browser = launched.context.browser()!;
    contexts.push(launched.context);
  }, timeoutMs);
  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    for (const i of instances) await i[Symbol.asyncDispose]().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  }, timeoutMs);
  const keep = (c: BrowserContext) => (contexts.push(c), c);
  const context = async (options: ContextOptions = defaults) => keep(await browser.newContext(options));
  return {
    context,
    keep,
    page: async (options?: ContextOptions) => (await context(options)).newPage(),
    own: <T extends Instance>(instance: T) => (instances.push(instance), instance),
  };
}
