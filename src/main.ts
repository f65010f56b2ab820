/**
 * The program: the command line decides whether this process is an instance (src/instance.ts), the WebRTC helper
 * (`--webrtc-helper`, never given by users), a self-test, a backup or restore (src/backup/), or prints help or its version.
 */
import { BACKUP_USAGE, CommandError, runBackupCommand } from "./backup/cli.ts";
import { ConfigError, parseArgs, usage } from "./config.ts";
import { runInstance, StartError } from "./instance.ts";
import { WEBRTC_HELPER_FLAG } from "./program.ts";
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
  // ICE over loopback now and then loses its first checks on a busy machine (seen once in a CI run): a second pair,
  // fresh, says whether WebRTC works, not whether that one exchange stalled.
  const { setupMs, rttMs } = await checkWebRtc(8000).catch(() => checkWebRtc());
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
  if (argv[0] === "backup" || argv[0] === "restore") {
    const command = argv[0];
    runBackupCommand(command, argv.slice(1)).then(
      (line) => {
        console.log(line);
        process.exit(0);
      },
      (error: unknown) => (error instanceof CommandError ? fail(error.message, error.code) : fail(`${command} failed: ${messageOf(error)}`, 1)),
    );
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
    console.log([usage(), "", "Commands:", ...BACKUP_USAGE.map((line) => `  ${line}`)].join("\n"));
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
