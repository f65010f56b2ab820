/**
 * Private rooms between real instances: A creates one, B joins it with `--invite` (or the page's "join by invite
 * link"), links to A and replicates it; C, with a room of the same name under another key, never sees it.
 */
import { describe, expect, it } from "bun:test";
import { startInstance, waitFor } from "../../helpers/instance.ts";
import { history, peersOf, send, waitForCount, waitForLink } from "../../helpers/mesh.ts";

async function createRoom(http: string, name: string, isPrivate = true) {
  const res = await fetch(`${http}/rooms`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name, private: isPrivate }) });
  expect(res.status).toBe(200);
  return (await res.json()) as { room: string; key?: string; invite: string };
}

/** The invite as this machine reaches the issuer: its loopback address, not the LAN one it advertises. */
const reachable = (invite: string, http: string) => invite.replace(/^http:\/\/[^/]+/, http);

describe("invites between instances", () => {
  it("--invite joins the private room, links to its issuer and replicates it; a same-named room elsewhere stays apart", async () => {
    await using a = await startInstance({ args: ["--transports", "websocket,http", "--name", "alice"] });
    const family = await createRoom(a.http, "family");
    await send(a, "family", "from alice");
    await using b = await startInstance({ args: ["--transports", "websocket,http", "--name", "bob", "--invite", reachable(family.invite, a.http)] });
    await waitForLink(b, a, "websocket");
    expect(await waitForCount(b, "family", 1)).toMatchObject([{ text: "from alice", origin: a.nodeId }]);
    await send(b, "family", "from bob");
    await waitForCount(a, "family", 2);

    // C has its own private "family", and links to A through --peer: it shares no room with A.
    await using c = await startInstance({ args: ["--transports", "websocket,http", "--name", "carol", "--peer", a.http] });
    await createRoom(c.http, "family");
    await send(c, "family", "carol's family only");
    await waitFor(async () => (await peersOf(c)).find((p) => p.node_id === a.nodeId && p.state === "connected"), 20_000, "c linked to a");
    // Linked, yet no room in common: the same name under another key is another room.
    expect((await peersOf(c)).find((p) => p.node_id === a.nodeId)?.rooms).toEqual([]);
    // And sharing nothing, they do not stay linked.
    await waitFor(async () => !(await peersOf(c)).some((p) => p.node_id === a.nodeId), 20_000, "c unlinked from a");
    expect(c.output()).toContain(`forgot ${a.nodeId}: shares no room with this instance`);
    expect((await history(a, "family")).map((m) => m.text).sort()).toEqual(["from alice", "from bob"]);
    expect((await history(c, "family")).map((m) => m.text)).toEqual(["carol's family only"]);
  }, 60_000);

  it("an invite whose node is not the instance at its address links nothing", async () => {
    await using a = await startInstance({ args: ["--transports", "websocket,http"] });
    const family = await createRoom(a.http, "family");
    const forged = reachable(family.invite, a.http).replace(/node=[0-9a-f]+/, `node=${"0".repeat(32)}`);
    await using b = await startInstance({ args: ["--transports", "websocket,http", "--invite", forged] });
    const deadline = Date.now() + 3000;
    while (!b.output().includes("not linking") && Date.now() < deadline) await Bun.sleep(50);
    expect(b.output()).toContain(`the instance there is ${a.nodeId}, not ${"0".repeat(32)}; not linking`);
    expect(await (await fetch(`${b.http}/peers`)).json()).toEqual([]);
  }, 30_000);

  it("a bad --invite is one clear line and exit 2", async () => {
    const proc = Bun.spawn([process.execPath, "run", "src/main.ts", "--invite", "http://127.0.0.1:1/?room=x&key=short"], { stdout: "pipe", stderr: "pipe" });
    const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
    expect(code).toBe(2);
    expect(stderr.trim()).toBe("e-goat: --invite: 'http://127.0.0.1:1/?room=x&key=short': the invite link's key is not 43 characters of base64url (32 bytes)");
  });
});
