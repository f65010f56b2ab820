/**
 * The program: the command line decides whether this process is an instance (src/instance.ts), the WebRTC helper
 * (`--webrtc-helper`, never given by users), a self-test, or prints help or its version.
 */
import { ConfigError, parseArgs, usage } from "./config.ts";
import { runInstance, StartError, WEBRTC_HELPER_FLAG } from "./instance.ts";
import { messageOf } from "./transport/errors.ts";
import { VERSION } from "./version.ts";

function fail(message: string, code: number): never {
  console.error(`e-goat: ${message}`);
  process.exit(code);
}

/**
 * A failure nobody handled is logged and the instance keeps serving: whatever a peer sent to cause it, one bad peer may
 * close its own link, never the process (Bun exits on an unhandled rejection without this).
 */
function keepServing(): void {
  process.on("unhandledRejection", (reason) => console.error(`e-goat: unhandled failure, still serving: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`));
  process.on("uncaughtException", (error) => console.error(`e-goat: uncaught exception, still serving: ${error.stack ?? error.message}`));
}

async function selfTest() {
  // Loaded only here, so a normal start does not pay for the native addon.
  const { checkWebRtc } = await import("./transport/webrtc/self-check.ts");
  const { setupMs, rttMs } = await checkWebRtc();
  console.log(`e-goat self-test: WebRTC DataChannel over loopback ok (setup ${setupMs.toFixed(1)} ms, round trip ${rttMs.toFixed(2)} ms)`);
  process.exit(0);
}

function main(argv: string[]) {
  if (argv[0] === WEBRTC_HELPER_FLAG) {
    import("./transport/webrtc/helper-process.ts")
      .then((helper) => helper.runWebRtcHelper())
      .catch((error: unknown) => fail(`the WebRTC helper failed: ${messageOf(error)}`, 1));
    return;
  }
  let parsed;
  try {
    parsed = parseArgs(argv);
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message, 2);
    throw err;
  }
  if (parsed.kind === "help") {
    console.log(usage());
    process.exit(0);
  }
  if (parsed.kind === "version") {
    console.log(`e-goat ${VERSION}`);
    process.exit(0);
  }
  if (parsed.kind === "self-test") return void selfTest().catch((error: unknown) => fail(`self-test failed: ${messageOf(error)}`, 1));
  keepServing();
  runInstance(parsed.config).catch((error: unknown) => (error instanceof StartError ? fail(error.message, error.code) : fail(`could not start: ${messageOf(error)}`, 1)));
}

main(process.argv.slice(2));
