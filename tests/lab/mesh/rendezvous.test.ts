// Meeting at a rendezvous between real instances (src/reach/rendezvous.ts, transport/protocols/meet.ts): two members of a
// private room that know no address of each other, only a third instance's, link directly; the third holds no room.
import { expect, it } from "bun:test";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { parseInvite } from "../../../src/domain/rooms.ts";
import { deadTcpPort } from "../../helpers/ports.ts";
import { startInstance, tempDir, waitFor } from "../../helpers/instance.ts";
import { peersOf, send, waitForCount, waitForLink } from "../../helpers/mesh.ts";

const flags = ["--transports", "webrtc,websocket"];

/**
 * A rendezvous R in no room, and alice, who uses it, with a private room `room`: its invite link, and the same link
 * with alice's own URL replaced by one that answers nothing, as for an issuer behind a NAT.
 */
async function issuer(room: string) {
  const r = await startInstance({ args: ["--name", "rendezvous", "--transports", "websocket,http"] });
  const a = await startInstance({ args: [...flags, "--name", "alice", "--rendezvous", r.http] });
  const created = await fetch(`${a.http}/rooms`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: room }) });
  const { invite } = (await created.json()) as { invite: string };
  const unreachable = invite.replace(new URL(a.http).origin, `http://127.0.0.1:${deadTcpPort()}`);
  return { r, a, invite, unreachable };
}

it("meets the issuer of an invite at the rendezvous it names when the issuer's own URL is out of reach", async () => {
  const { r: rendezvous, a: alice, invite, unreachable } = await issuer("secret");
  await using r = rendezvous;
  await using a = alice;
  expect(parseInvite(invite).rendezvous).toEqual([r.http]);
  await using b = await startInstance({ args: [...flags, "--name", "bob", "--invite", unreachable] });

  const row = await waitForLink(b, a, "webrtc");
  expect(row.rooms).toEqual(["secret"]);
  await send(a, "secret", "hello from alice");
  await send(b, "secret", "hello from bob");
  expect((await waitForCount(b, "secret", 2)).map((m) => m.text).sort()).toEqual(["hello from alice", "hello from bob"]);
  expect((await waitForCount(a, "secret", 2)).length).toBe(2);

  // Past the 5 s an instance that shares no room is kept: the rendezvous still holds both, and neither room nor message.
  await Bun.sleep(6000);
  const atR = await peersOf(r);
  expect(atR.map((p) => p.node_id).sort()).toEqual([a.nodeId, b.nodeId].sort());
  expect(atR.every((p) => p.state === "connected" && p.rooms.length === 0)).toBe(true);
  const held = await fetch(`${r.http}/history?room=secret`);
  expect([held.status, await held.json()]).toEqual([200, []]);
  expect(r.output()).not.toContain("secret");
}, 60_000);

it("keeps the rendezvous of an invite joined in the page, and meets the issuer there again after a restart", async () => {
  const { r: rendezvous, a: alice, unreachable } = await issuer("kept");
  await using r = rendezvous;
  await using a = alice;
  const dir = tempDir();
  const db = join(dir, "chat.db");
  let b = await startInstance({ db, args: [...flags, "--name", "bob"] });
  try {
    const joined = await fetch(`${b.http}/invite`, { method: "POST", body: new URLSearchParams({ invite: unreachable, peer_id: "bob" }), redirect: "manual" });
    expect(joined.status).toBe(303);
    await waitForLink(b, a, "webrtc");
    // Started again with no flag naming the rendezvous or the invite: the room's issuer is met there all the same.
    await b.stop();
    b = await startInstance({ db, args: [...flags, "--name", "bob"] });
    // Linked to the rendezvous, which nothing but the kept invite names here (A's saved address would do on loopback).
    await waitFor(async () => (await peersOf(b)).some((p) => p.node_id === r.nodeId && p.state === "connected"), 10_000, "bob linked to the rendezvous");
    await waitForLink(b, a, "webrtc");
    await send(a, "kept", "after bob's restart");
    expect((await waitForCount(b, "kept", 1)).map((m) => m.text)).toEqual(["after bob's restart"]);
  } finally {
    await b.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);
