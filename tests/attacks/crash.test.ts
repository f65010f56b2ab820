/**
 * Issue 22, critical: one member of an open room could stop the process. A hello that came before a primary link,
 * naming no address a tier could dial, left a rejected promise nobody handled, and Bun exits on that.
 */
import { describe, expect, it } from "bun:test";
import { startInstance, waitFor } from "../helpers/instance.ts";
import { peersOf, send, waitForCount } from "../helpers/mesh.ts";
import { openRoom, rawRogue, startRogue } from "../helpers/rogue.ts";

describe("a member's frames cannot stop the instance", () => {
  it("a hello before any ping is answered, naming no address, leaves the instance serving", async () => {
    await using a = await startInstance({ args: ["--transports", "websocket,http", "--room", "lobby"] });
    using rogue = await rawRogue(a);
    const { proof } = openRoom("lobby", rogue.id, a.nodeId);
    rogue.send({ type: "hello", name: "rogue", proofs: [proof], addresses: {} });
    await Bun.sleep(1000);
    expect(a.proc.exitCode).toBeNull();
    await send(a, "lobby", "still here");
    await waitForCount(a, "lobby", 1);
    expect(a.output()).not.toContain("Unhandled");
  }, 30_000);

  it("a peer introduced while its link is still coming up is not dropped", async () => {
    await using a = await startInstance({ args: ["--transports", "websocket", "--room", "lobby"] });
    using late = await rawRogue(a);
    await using member = await startRogue();
    await member.link(a);
    const lobby = openRoom("lobby", member.id, a.nodeId);
    member.send(a, { type: "hello", name: "member", proofs: [lobby.proof], addresses: {} });
    member.send(a, { type: "peers", peers: [{ node_id: late.id, name: "late", rooms: [lobby.id], addresses: {} }] });
    await Bun.sleep(500);
    late.answerPings(true);
    await waitFor(async () => (await peersOf(a)).some((p) => p.node_id === late.id && p.state === "connected"), 5000, "the late peer linked").catch((e) => { console.log(a.output()); throw e; });
    expect(late.closed()).toBeNull();
    expect(a.output()).not.toContain(`forgot ${late.id}`);
  }, 30_000);
});
