/**
 * Issue 22: a `reach` answer from one linked peer (a stranger, even) made the instance advertise whatever address it
 * named. Only an address proven ours counts: the one our STUN servers see, one two peers of rank at different source
 * addresses agree on, or one where our own dial-back finds our node id; a stranger's word counts for nothing.
 */
import { describe, expect, it } from "bun:test";
import { membershipTag } from "../../src/domain/rooms.ts";
import { Reachability } from "../../src/reach/reachability.ts";
import type { ReachAnswer } from "../../src/transport/protocols/reach.ts";
import { decodeFrame } from "../../src/transport/links/control.ts";
import { startInstance, waitFor } from "../helpers/instance.ts";
import { rawRogue, type RawRogue } from "../helpers/rogue.ts";

const FALSE = "198.51.100.7";

/** Answers every `reach?` the instance sends the rogue with FALSE, its ports open; counts them. */
function lie(rogue: RawRogue) {
  let read = 0;
  let asked = 0;
  const timer = setInterval(() => {
    for (; read < rogue.received.length; read++) {
      const decoded = decodeFrame(rogue.received[read]!);
      if (decoded.kind !== "control" || decoded.message.t !== "reach?") continue;
      asked++;
      rogue.control({ t: "reach", seen: FALSE, http: true, ws: true });
    }
  }, 25);
  return { asked: () => asked, [Symbol.dispose]: () => clearInterval(timer) };
}

it("one member's false reach answer is not advertised, nor two strangers' that agree", async () => {
  await using a = await startInstance({ args: ["--transports", "websocket"] });
  const created = await fetch(`${a.http}/rooms`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "team" }) });
  const { key } = (await created.json()) as { key: string };
  using insider = await rawRogue(a, { pong: true });
  using insiderLies = lie(insider);
  insider.send({ type: "hello", name: "insider", proofs: [membershipTag({ name: "team", key }, insider.id, a.nodeId)], addresses: {} });
  // Two strangers, at two addresses, that say the same.
  using one = await rawRogue(a, { pong: true, from: "127.0.0.2" });
  using oneLies = lie(one);
  using two = await rawRogue(a, { pong: true, from: "127.0.0.3" });
  using twoLies = lie(two);
  await waitFor(() => insiderLies.asked() > 0 && oneLies.asked() > 0 && twoLies.asked() > 0, 15_000, "the instance asked each to dial it back");
  // Its own dial-back to the address named takes up to 4 s to fail.
  await Bun.sleep(6000);
  const info = (await (await fetch(`${a.http}/mesh/info`)).json()) as { addresses: Record<string, string> };
  expect(JSON.stringify(info.addresses)).not.toContain(FALSE);
  expect(a.output()).not.toContain(`reachable from outside at {"http":"http://${FALSE}`);
}, 60_000);

describe("what proves an address seen from outside", () => {
  const PORTS = { http: 8080, ws: 9000 };
  const SEEN = "203.0.113.5";
  const answer = (by: string, source: string, ranked = true): ReachAnswer => ({ by, seen: SEEN, http: true, ws: true, source, ranked });

  /** A reachability check over peers that give `answers`, with a STUN address and our own dial-back as told. */
  async function advertised(answers: ReachAnswer[], { stun = [] as string[], verify = false } = {}) {
    const reach = new Reachability({
      links: { checkReach: async () => answers, onChange: () => () => {} },
      ports: () => PORTS,
      stunAddresses: async () => stun,
      verify: async () => ({ http: verify, ws: verify }),
      log: () => {},
    });
    await reach.check();
    return reach.advertised();
  }

  it("one peer's word, alone, is not enough", async () => {
    expect(await advertised([answer("p", "198.51.100.1")])).toEqual({});
  });

  it("two peers of rank at two addresses that agree are", async () => {
    expect(await advertised([answer("p", "198.51.100.1"), answer("q", "198.51.100.1")])).toEqual({});
    expect(await advertised([answer("p", "198.51.100.1"), answer("q", "198.51.100.2", false)])).toEqual({});
    expect(await advertised([answer("p", "198.51.100.1"), answer("q", "198.51.100.2")])).toEqual({ http: `http://${SEEN}:8080`, ws: `ws://${SEEN}:9000` });
  });

  it("so is the address the STUN servers see, or our own dial-back finding us there", async () => {
    expect(await advertised([answer("p", "198.51.100.1")], { stun: [SEEN] })).toEqual({ http: `http://${SEEN}:8080`, ws: `ws://${SEEN}:9000` });
    expect(await advertised([answer("p", "198.51.100.1")], { verify: true })).toEqual({ http: `http://${SEEN}:8080`, ws: `ws://${SEEN}:9000` });
    // A stranger's word has us try nothing of it.
    expect(await advertised([answer("p", "198.51.100.1", false)], { verify: true })).toEqual({});
  });
});
