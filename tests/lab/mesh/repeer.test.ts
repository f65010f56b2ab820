// A `--peer` URL is asked again who answers there while its instance is not linked (src/reach/peer-url.ts).
import { expect, it } from "bun:test";
import { RECHECK_EVERY_MS } from "../../../src/reach/peer-url.ts";
import { startInstance } from "../../helpers/instance.ts";
import { send, waitForCount, waitForLink } from "../../helpers/mesh.ts";
import { deadTcpPort } from "../../helpers/ports.ts";

it("links to the instance that took the place of a --peer's (restarted on a new database), without a restart here", async () => {
  const port = deadTcpPort();
  const flags = ["--transports", "websocket,http", "--room", "again"];
  const first = await startInstance({ args: [...flags, "--name", "first", "--http-port", String(port)] });
  await using b = await startInstance({ args: [...flags, "--name", "b", "--peer", `http://127.0.0.1:${port}`] });
  await waitForLink(b, first);
  await first.stop();
  await using second = await startInstance({ args: [...flags, "--name", "second", "--http-port", String(port)] });
  expect(second.nodeId).not.toBe(first.nodeId);
  await waitForLink(b, second, undefined, 2 * RECHECK_EVERY_MS + 10_000);
  expect(b.output()).toContain(`now answers as ${second.nodeId} (was ${first.nodeId})`);
  await send(b, "again", "to whoever is there now");
  expect((await waitForCount(second, "again", 1)).map((m) => m.text)).toEqual(["to whoever is there now"]);
}, 60_000);
