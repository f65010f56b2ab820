/**
 * Issue 24: a room's mailboxes are part of the room. Alice keeps the room in a mailbox from her page while Bob is away;
 * when Bob is back he is told of it and keeps the room there too, without any flag, across his restart; so what Alice
 * writes while Bob is away again reaches him from the mailbox after Alice has gone.
 */
import { expect, it } from "bun:test";
import { send, waitForCount, waitForLink } from "../../helpers/mesh.ts";
import { deadTcpPort } from "../../helpers/ports.ts";
import { startInstance, waitFor } from "../../helpers/instance.ts";

const WS = ["--transports", "websocket"];
const form = (fields: Record<string, string>) => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded" },
  body: new URLSearchParams(fields).toString(),
  redirect: "manual" as const,
});

it("tells a member that was away of a mailbox added in the panel, and it is used from then on", async () => {
  const ports = { http: deadTcpPort(), ws: deadTcpPort() };
  await using mailbox = await startInstance({ args: [...WS, "--mailbox", "--http-port", String(ports.http), "--ws-port", String(ports.ws)] });
  const at = mailbox.http;
  await using alice = await startInstance({ args: WS });
  const created = (await (await fetch(`${alice.http}/rooms`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "bramblecove" }) })).json()) as { invite: string };
  let bob = await startInstance({ args: [...WS, "--invite", created.invite] });
  await waitForLink(alice, bob);
  await bob.stop();

  // A bad address is refused, saying why; a good one is kept, and the page goes back to the room.
  const bad = await fetch(`${alice.http}/rooms/bramblecove/mailboxes`, form({ url: "ftp://nowhere" }));
  expect(bad.status).toBe(400);
  expect(((await bad.json()) as { error: string }).error).toContain("http://");
  const kept = await fetch(`${alice.http}/rooms/bramblecove/mailboxes`, form({ url: `${at}/some/path` }));
  expect(kept.status).toBe(303);
  expect(kept.headers.get("location")).toBe("/?room=bramblecove#members");
  const panel = (who: { http: string }) => fetch(`${who.http}/rooms/bramblecove/members`).then((r) => r.text());
  await waitFor(async () => (await panel(alice)).includes("answers, and keeps this room"), 20_000, "alice's panel shows the mailbox answering");
  expect(await panel(alice)).toContain(at);
  await send(alice, "bramblecove", "kept from now on", "alice");

  // Bob, back while Alice is there, is told of the mailbox and uses it, and still does after a restart.
  bob = await startInstance({ db: bob.db, args: WS });
  await waitFor(async () => (await panel(bob)).includes("answers, and keeps this room"), 20_000, "bob's panel shows the mailbox answering");
  await waitForCount(bob, "bramblecove", 1);
  await bob.stop();
  const texts = ["one", "two", "three", "four", "five"].map((n) => `while bob was away: ${n}`);
  for (const text of texts) await send(alice, "bramblecove", text, "alice");
  await waitFor(async () => ((await (await fetch(`${at}/mailbox`)).json()) as { items: number }).items >= 6, 20_000, "the mailbox holds alice's messages");
  await alice.stop();
  // The mailbox's owner sees what it keeps, as a topic it cannot name; its top bar links there.
  const page = await (await fetch(`${at}/mailbox`, { headers: { accept: "text/html" } })).text();
  expect(page).toContain("This instance is a mailbox");
  expect(page).toMatch(/\d+ in 1 topic/);
  // Alice pushed them, and Bob maybe the first (whichever of the two came first keeps it).
  expect(page).toMatch(/<td>[12] instances?<\/td>/);
  expect(page).not.toContain("bramblecove");
  expect(await (await fetch(`${at}/`)).text()).toContain('href="/mailbox"');
  expect(await (await fetch(`${at}/mailbox`)).json()).toMatchObject({ topics: 1, items: 6 });
  bob = await startInstance({ db: bob.db, args: WS });
  try {
    const got = await waitForCount(bob, "bramblecove", 6, 30_000);
    expect(got.map((m) => m.text)).toEqual(["kept from now on", ...texts]);
  } finally {
    await bob.stop();
  }
}, 120_000);
