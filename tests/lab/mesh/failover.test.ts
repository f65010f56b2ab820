// Two instances on two test hosts (network namespaces): cutting UDP mid-stream moves the link from webrtc to
// websocket with every message delivered once; restoring UDP brings webrtc back.
import { expect, it } from "bun:test";
import { waitFor } from "../../helpers/instance.ts";
import { netnsUnavailable, startWebrtcPair, tierOf } from "../../helpers/netns.ts";

const unavailable = netnsUnavailable();
if (unavailable) console.log(`failover test skipped: ${unavailable}`);

it.skipIf(unavailable !== null)(
  "UDP cut mid-stream: webrtc fails over to websocket, nothing lost or doubled; UDP back: webrtc again",
  async () => {
    await using pair = await startWebrtcPair("ff");
    const { a, b } = pair;

    // The stream runs through the cut and the return, and stops a moment after webrtc is back.
    let sent = 0;
    let stop = false;
    const writer = (async () => {
      for (; !stop; sent++) {
        const res = await a.api("/send", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ room: "ff", text: `m${sent}` }) });
        expect(res.status).toBe(200);
        await Bun.sleep(10);
      }
    })();

    await waitFor(() => sent >= 50, 10_000, "stream under way");
    const cutAt = performance.now();
    pair.cutUdp();
    await waitFor(async () => (await tierOf(b, a)) === "websocket", 20_000, "failover to websocket");
    const failoverMs = performance.now() - cutAt;

    await Bun.sleep(1000);
    const restoredAt = performance.now();
    pair.restoreUdp();
    await waitFor(async () => (await tierOf(b, a)) === "webrtc" && (await tierOf(a, b)) === "webrtc", 60_000, "back on webrtc");
    const climbMs = performance.now() - restoredAt;
    await Bun.sleep(500);
    stop = true;
    await writer;
    const total = sent;

    let texts: string[] = [];
    await waitFor(async () => {
      texts = [];
      for (let since = 0; ; ) {
        const page = (await (await b.api(`/history?room=ff&limit=1000&since=${since}`)).json()) as { text: string; timestamp: number }[];
        texts.push(...page.map((m) => m.text));
        if (page.length < 1000) break;
        since = page.at(-1)!.timestamp;
      }
      return texts.length >= total;
    }, 20_000, `all ${total} messages at B`);
    expect(texts).toHaveLength(total);
    expect(new Set(texts).size).toBe(total);
    console.log(`failover webrtc -> websocket ${failoverMs.toFixed(0)} ms after the cut; back on webrtc ${climbMs.toFixed(0)} ms after UDP returned; ${total} messages, each once`);
  },
  120_000,
);
