// The WebRTC helper's own entry when run by bun from source: it loads only what the helper needs (some 50 ms to its
// ready report, where src/main.ts with the whole server takes twice that). The compiled binary runs main.ts's instead.
import { runWebRtcHelper } from "./helper-process.ts";

runWebRtcHelper().catch((error: unknown) => {
  console.error(`e-goat webrtc helper: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
