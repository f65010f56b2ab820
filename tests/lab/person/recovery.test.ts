/**
 * Issue 25: the recovery phrase, shown once, brings the person back on a new instance without a backup: what that
 * instance writes carries the same person (a new device of it), as every member sees. Wrong words are one clear
 * reason; an instance that has written as its own person already is not turned into another.
 */
import { expect, it } from "bun:test";
import { history, send, waitForCount, waitForLink } from "../../helpers/mesh.ts";
import { startInstance } from "../../helpers/instance.ts";

const WS = ["--transports", "websocket"];
const form = (fields: Record<string, string>) => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded" },
  body: new URLSearchParams(fields).toString(),
});
const wordsOf = (html: string) => [...html.matchAll(/<li>([a-z]+)<\/li>/g)].map((m) => m[1]!);

it("shows the phrase once, and brings the person back from it on a new instance, as every member sees", async () => {
  await using alice = await startInstance({ args: [...WS, "--room", "hall", "--name", "alice"] });
  await send(alice, "hall", "from the old laptop", "alice");
  const aliceMessage = (await history(alice, "hall"))[0] as unknown as { person: string; origin: string };
  expect(aliceMessage.person).toMatch(/^[0-9a-f]{32}$/);
  expect(aliceMessage.person).not.toBe(aliceMessage.origin);

  expect(await (await fetch(`${alice.http}/recovery`)).text()).toContain('action="/recovery/show"');
  const shown = await fetch(`${alice.http}/recovery/show`, form({}));
  expect(shown.status).toBe(200);
  expect(shown.headers.get("cache-control")).toBe("no-store");
  const words = wordsOf(await shown.text());
  expect(words).toHaveLength(24);
  const again = await fetch(`${alice.http}/recovery/show`, form({}));
  expect(again.status).toBe(409);
  const refused = await again.text();
  expect(wordsOf(refused)).toEqual([]);
  expect(refused).toContain("it is shown once");
  // Her own phrase on her own instance changes nothing.
  expect((await fetch(`${alice.http}/recovery/restore`, form({ phrase: words.join(" ") }))).status).toBe(200);

  // A new instance: wrong words are refused with the reason; the right ones make it a device of Alice's person.
  await using laptop = await startInstance({ args: [...WS, "--room", "hall", "--peer", alice.http, "--name", "alice"] });
  const swapped = [words[1]!, words[0]!, ...words.slice(2)];
  const wrong = await fetch(`${laptop.http}/recovery/restore`, form({ phrase: [...words.slice(0, 23), "goatish"].join(" ") }));
  expect(wrong.status).toBe(400);
  expect(await wrong.text()).toContain("&#x27;goatish&#x27; is not a word of recovery phrases");
  const mixed = await fetch(`${laptop.http}/recovery/restore`, form({ phrase: swapped.join(" ") }));
  // Two words swapped: the checksum tells (unless the swap left them as they were).
  if (words[0] !== words[1]) expect(mixed.status).toBe(400);
  const restored = await fetch(`${laptop.http}/recovery/restore`, form({ phrase: words.join("\n") }));
  expect(restored.status).toBe(200);
  expect(await restored.text()).toContain("now a device of that person");
  await waitForLink(alice, laptop);
  await send(laptop, "hall", "from the new laptop", "alice");
  const atAlice = (await waitForCount(alice, "hall", 2)) as unknown as { text: string; person: string; origin: string }[];
  const fromLaptop = atAlice.find((m) => m.text === "from the new laptop")!;
  expect(fromLaptop.person).toBe(aliceMessage.person);
  expect(fromLaptop.origin).toBe(laptop.nodeId);
  // Each lists the other among the person's devices: this one first, the other online.
  type Device = { node_id: string; name: string | null; this: boolean; online: boolean; last_seen: number | null };
  const devices = async (at: { http: string }) => (await (await fetch(`${at.http}/devices`)).json()) as Device[];
  expect((await devices(alice)).map((d) => [d.node_id, d.this, d.online])).toEqual([
    [alice.nodeId, true, true],
    [laptop.nodeId, false, true],
  ]);
  await waitForCount(laptop, "hall", 2);
  expect((await devices(laptop)).map((d) => [d.node_id, d.this, d.name])).toEqual([
    [laptop.nodeId, true, "alice"],
    [alice.nodeId, false, "alice"],
  ]);
  // Now that it has written, the laptop is not turned into yet another person.
  const other = await fetch(`${laptop.http}/recovery/restore`, form({ phrase: "abandon ".repeat(23) + "art" }));
  expect(other.status).toBe(409);
}, 60_000);
