// Rooms, names, guests and presence as people meet them in the page (issue 22), in Chromium against real instances:
// the Back button to a room left, a typo in the address, the owner's name through the landing page and "Join again",
// members that link, stop and leave while the page is open (with a Connection opened), and two guests of one name.
import { describe, expect, test } from "bun:test";
import { chmodSync, existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Page } from "playwright-core";
import { browserSuite, CHROMIUM, CHROMIUM_ARGS, hasChromium, type PageGlobal } from "../../helpers/browser.ts";
import { startInstance, tempDir, waitFor, type Instance } from "../../helpers/instance.ts";
import { createTestLan, netnsUnavailable, startHosted, type TestHost } from "../../helpers/netns.ts";

if (!hasChromium) console.log("room tests skipped: /usr/bin/chromium is missing (apt-get install -y chromium)");

const TIMEOUT = 60_000;
const json = { "content-type": "application/json" };

async function send(instance: Instance, room: string, text: string, peer_id?: string) {
  const res = await fetch(`${instance.http}/send`, { method: "POST", headers: json, body: JSON.stringify({ room, text, ...(peer_id ? { peer_id } : {}) }) });
  expect(res.status).toBe(200);
}
const texts = (page: Page) => page.locator("#messages li.msg .text").allTextContents();
/** A member's line in the members panel: its presence class and words. */
const member = (page: Page, nodeId: string) =>
  page.evaluate((id) => {
    const li = (globalThis as PageGlobal).document.querySelector(`#members li[data-node="${id}"]`);
    return li ? { presence: [...li.classList].find((c: string) => c.startsWith("presence-"))?.slice(9), words: li.querySelector(".presence").textContent } : null;
  }, nodeId);
/** Waits for the page's live stream to be open (its scripts ran and the stream answered). */
async function live(page: Page, room: string, go: () => Promise<unknown>) {
  const stream = page.waitForResponse((r) => r.url().includes(`/rooms/${room}/events`), { timeout: 10_000 });
  await go();
  expect((await stream).status()).toBe(200);
}

describe.skipIf(!hasChromium)("rooms, names and presence in the page", () => {
  const { page, own } = browserSuite({ viewport: { width: 1280, height: 800 } }, TIMEOUT);

  test(
    "a private room left with its history: Back, a send from the page and an old link say so, and 'Join again' brings it back",
    async () => {
      const a = own(await startInstance({ args: ["--name", "alice"] }));
      await fetch(`${a.http}/rooms`, { method: "POST", headers: json, body: JSON.stringify({ name: "family" }) });
      await send(a, "family", "kept while away");
      const p = await page();
      await live(p, "family", () => p.goto(`${a.http}/?room=family`));
      // A second tab still open on the room, to send from after leaving.
      const stale = await page();
      await live(stale, "family", () => stale.goto(`${a.http}/?room=family`));
      await p.locator("details.leave summary").click();
      await Promise.all([p.waitForURL(`${a.http}/`), p.locator(".leave-form button[type=submit]").click()]);
      expect(await p.locator("h2", { hasText: "Rooms you left" }).count()).toBe(1);

      const back = await p.goBack();
      expect(back?.status()).toBe(200);
      expect(await p.locator("h1").textContent()).toBe("You left #family");

      // The page still open sends: refused in words (the script keeps the draft), never a 500.
      await stale.locator("#send textarea").fill("sent after leaving");
      const refused = stale.waitForResponse((r) => r.url().endsWith("/rooms/family/messages"));
      await stale.locator("#send textarea").press("Enter");
      expect((await refused).status()).toBe(409);
      await waitFor(async () => (await stale.locator("#messages li.msg.failed").count()) === 1, 5000, "the send marked failed");
      expect(await stale.locator("#messages li.msg.failed").textContent()).toContain("You left #family: join it again to write there.");

      await Promise.all([p.waitForURL(/room=family/), p.locator("button", { hasText: "Join #family again" }).click()]);
      expect(await p.locator("h1.room-name").textContent()).toBe("#family");
      expect(await texts(p)).toEqual(["kept while away"]);
    },
    TIMEOUT,
  );

  test(
    "a typo in the address asks before anything is made, and the choice makes it",
    async () => {
      const a = own(await startInstance({ args: ["--name", "alice", "--room", "family"] }));
      const p = await page();
      const res = await p.goto(`${a.http}/?room=famliy`);
      expect(res?.status()).toBe(200);
      expect(await p.locator("h1").textContent()).toBe("There is no room #famliy here");
      expect(await (await fetch(`${a.http}/rooms`)).json()).toEqual([{ room: "family", private: false, unread: 0 }]);
      await live(p, "famliy", () => p.locator("button", { hasText: "Create a private room" }).click());
      expect(await p.locator("h1.room-name").textContent()).toBe("#famliy");
      expect(((await (await fetch(`${a.http}/rooms`)).json()) as { room: string; private: boolean }[]).find((r) => r.room === "famliy")?.private).toBe(true);
    },
    TIMEOUT,
  );

  test(
    "the owner's name set in the page stays through the room list, the landing page and 'Join again'",
    async () => {
      const a = own(await startInstance({ args: ["--room", "one", "--room", "two"] }));
      const p = await page();
      await live(p, "one", () => p.goto(`${a.http}/?room=one`));
      await p.locator("details.rename summary").click();
      await p.locator('details.rename input[name="name"]').fill("Bob");
      await live(p, "one", () => p.locator("details.rename button[type=submit]").click());
      expect(await p.locator("#send textarea").getAttribute("placeholder")).toBe("Message #one as Bob");
      expect(await p.locator(".topbar .instance").textContent()).toBe("Bob");
      // Another room from the room list, then from the landing page: still Bob, and no name in the address.
      await live(p, "two", () => p.locator('#room-list a[href="/?room=two"]').click());
      expect(await p.locator("#send textarea").getAttribute("placeholder")).toBe("Message #two as Bob");
      await p.goto(`${a.http}/`);
      await live(p, "one", () => p.locator('#room-list a[href="/?room=one"]').click());
      expect(p.url()).toBe(`${a.http}/?room=one`);
      await p.locator("#send textarea").fill("hello as Bob");
      await p.locator("#send textarea").press("Enter");
      await waitFor(async () => (await p.locator("#messages li.msg.own .mark.sent, #messages li.msg.own .mark.delivered").count()) === 1, 5000, "the send stored");
      // Leave, then Join again from the landing page.
      await p.locator("details.leave summary").click();
      await Promise.all([p.waitForURL(`${a.http}/`), p.locator(".leave-form button[type=submit]").click()]);
      await live(p, "one", () => p.locator(".left-rooms button", { hasText: "Join again" }).click());
      expect(await p.locator("#send textarea").getAttribute("placeholder")).toBe("Message #one as Bob");
      // One person, one name, in the members panel.
      expect(await p.locator("#members .people").allTextContents()).toEqual(["Bob"]);
    },
    TIMEOUT,
  );

  test(
    "members come, go and leave while the page is open, pushed over its stream, and an opened Connection stays open",
    async () => {
      const a = own(await startInstance({ args: ["--name", "alice", "--room", "r", "--room", "other", "--transports", "websocket"] }));
      const p = await page();
      await live(p, "r", () => p.goto(`${a.http}/?room=r`));
      const b = own(await startInstance({ args: ["--name", "bob", "--room", "r", "--room", "other", "--transports", "websocket", "--peer", a.http] }));
      // Online within moments of the link, with no reload and no polling.
      await waitFor(async () => (await member(p, b.nodeId))?.presence === "online", 10_000, "bob online in the page");
      await p.locator(`#members li[data-node="${b.nodeId}"] details.path summary`).click();
      const isOpen = () => p.locator(`#members li[data-node="${b.nodeId}"] details.path`).evaluate((d: any) => d.open);
      expect(await isOpen()).toBe(true);
      // Bob writes (a new author: the panel comes again): the Connection stays open.
      await send(b, "r", "hi from bob", "bob");
      await waitFor(async () => (await p.locator(`#members li[data-node="${b.nodeId}"] .people`).textContent()) === "bob", 10_000, "bob among the people");
      expect(await isOpen()).toBe(true);
      // Bob stops: offline since he stopped, at once.
      await b.stop();
      const stopped = Date.now();
      await waitFor(async () => (await member(p, b.nodeId))?.presence === "offline", 20_000, "bob offline");
      const since = Date.parse((await p.locator(`#members li[data-node="${b.nodeId}"] .presence time`).getAttribute("datetime"))!);
      expect(Math.abs(since - stopped)).toBeLessThan(2000);
      expect(await isOpen()).toBe(true);
      // Bob comes back and leaves the room: shown as having left it.
      const again = own(await startInstance({ db: b.db, args: ["--name", "bob", "--transports", "websocket", "--peer", a.http] }));
      await waitFor(async () => (await member(p, b.nodeId))?.presence === "online", 20_000, "bob back");
      await fetch(`${again.http}/rooms/r/leave`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "" });
      await waitFor(async () => (await member(p, b.nodeId))?.words === "left the room", 10_000, "bob shown as having left");
    },
    TIMEOUT,
  );
});

const guestsUnavailable = netnsUnavailable() ?? (existsSync(CHROMIUM) ? null : `${CHROMIUM} is missing`);
if (guestsUnavailable) console.log(`guest browser test skipped: ${guestsUnavailable}`);

describe.skipIf(guestsUnavailable !== null)("two guests in Chromium on another host", () => {
  test(
    "who type the same name each see only their own messages as their own",
    async () => {
      await using lan = createTestLan(2);
      const [home, away] = lan.hosts as [TestHost, TestHost];
      await using owner = await startHosted(home, ["--transports", "websocket,http", "--name", "alice", "--room", "lobby", "--lan-addr", "127.255.255.255"]);
      await owner.api("/send", { method: "POST", headers: json, body: JSON.stringify({ room: "lobby", text: "welcome, guests" }) });
      const dir = tempDir("e-goat-guests-");
      const wrapper = join(dir, "chromium-in-ns");
      writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${away.ns} ${CHROMIUM} "$@"\n`);
      chmodSync(wrapper, 0o755);
      // Two browsers (two profiles) on the guest's host.
      const browsers = await Promise.all(
        ["one", "two"].map((name) => chromium.launchPersistentContext(join(dir, name), { executablePath: wrapper, headless: true, args: CHROMIUM_ARGS })),
      );
      try {
        const pages = await Promise.all(browsers.map(async (b) => b.pages()[0] ?? (await b.newPage())));
        for (const p of pages) await live(p, "lobby", () => p.goto(`http://${home.ip}:8080/?room=lobby&peer_id=gina`));
        for (const [i, p] of pages.entries()) {
          await p.locator("#send textarea").fill(`from browser ${i + 1}`);
          await p.locator("#send textarea").press("Enter");
          await waitFor(async () => (await texts(p)).includes(`from browser ${i + 1}`), 10_000, "the send shown");
        }
        for (const [i, p] of pages.entries()) {
          await waitFor(async () => (await p.locator("#messages li.msg:not(.pending)").count()) === 3, 10_000, "all three messages, live");
          const shown = await p.locator("#messages li.msg").evaluateAll((lis) => lis.map((li: any) => `${li.querySelector(".text").textContent}${li.classList.contains("own") ? " (own)" : ""}`));
          expect(shown.sort()).toEqual([`from browser 1${i === 0 ? " (own)" : ""}`, `from browser 2${i === 1 ? " (own)" : ""}`, "welcome, guests"]);
        }
        // And after a reload, as the instance renders the page.
        await pages[0]!.reload();
        expect(await pages[0]!.locator("#messages li.msg.own .text").allTextContents()).toEqual(["from browser 1"]);
      } finally {
        for (const b of browsers) await b.close();
        rmSync(dir, { recursive: true, force: true });
      }
    },
    90_000,
  );
});
