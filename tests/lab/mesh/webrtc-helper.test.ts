// The WebRTC helper process (src/transport/webrtc/helper-client.ts, helper-process.ts): an instance whose helper stops
// answering, as it does when the bundled libdatachannel deadlocks, keeps serving, fails over, and replaces the helper.
import { expect, it } from "bun:test";
import { readFileSync } from "node:fs";
import { startInstance, waitFor, type Instance } from "../../helpers/instance.ts";
import { peersOf, send, waitForCount, waitForLink } from "../../helpers/mesh.ts";

/** The instance's WebRTC helper processes: its children running helper-main.ts (from source) or the binary's --webrtc-helper. */
function helpersOf(instance: Instance): number[] {
  const children = Bun.spawnSync(["pgrep", "-P", String(instance.proc.pid)]).stdout.toString().split("\n").filter(Boolean).map(Number);
  return children.filter((pid) => {
    try {
      return /--webrtc-helper|helper-main\.ts/.test(readFileSync(`/proc/${pid}/cmdline`, "utf8"));
    } catch {
      return false;
    }
  });
}

it.skipIf(process.platform !== "linux")("an instance whose WebRTC helper stops answering keeps serving, fails over, and links over webrtc again with a new helper", async () => {
  const flags = ["--transports", "webrtc,websocket", "--room", "helper"];
  await using a = await startInstance({ args: [...flags, "--name", "a"] });
  await using b = await startInstance({ args: [...flags, "--name", "b", "--peer", a.http] });
  await waitForLink(b, a, "webrtc");
  await waitForLink(a, b, "webrtc");
  const [stuck] = helpersOf(a);
  expect(stuck).toBeDefined();
  // As a deadlock inside libdatachannel leaves it: alive, answering nothing.
  process.kill(stuck!, "SIGSTOP");
  try {
    await waitForLink(a, b, "websocket", 10_000);
    // The instance itself answers throughout.
    expect((await peersOf(a)).length).toBe(1);
    await waitFor(() => a.output().includes("the WebRTC helper answered nothing for 5000 ms"), 10_000, "the stuck helper reported");
    await waitFor(() => !helpersOf(a).includes(stuck!), 5000, "the stuck helper killed");
    await waitForLink(a, b, "webrtc", 40_000);
    expect(helpersOf(a)).toHaveLength(1);
    await send(a, "helper", "from a, after");
    await send(b, "helper", "from b, after");
    expect((await waitForCount(a, "helper", 2)).map((m) => m.text).sort()).toEqual(["from a, after", "from b, after"]);
  } finally {
    try {
      process.kill(stuck!, "SIGKILL");
    } catch {
      // gone already, as it should be
    }
  }
}, 90_000);
