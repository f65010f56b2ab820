/**
 * How this program starts processes of itself: the WebRTC helper and its commands (`backup`), as the compiled binary
 * (its modules live in Bun's embedded file system: the binary itself is the program) or from source (bun running an
 * entry file, from the project's directory so its tsconfig applies).
 */
import { fileURLToPath } from "node:url";

/** The flag that makes this program the WebRTC helper process (transport/webrtc/helper-process.ts), never given by users. */
export const WEBRTC_HELPER_FLAG = "--webrtc-helper";

const COMPILED = /[\\/]\$bunfs[\\/]|~BUN/.test(import.meta.path);
const PROJECT = COMPILED ? undefined : fileURLToPath(new URL("..", import.meta.url));

/** The WebRTC helper: the binary itself with the flag, or bun running the helper's own entry from source. */
export const WEBRTC_HELPER = COMPILED
  ? [process.execPath, WEBRTC_HELPER_FLAG]
  : [process.execPath, fileURLToPath(new URL("./transport/webrtc/helper-main.ts", import.meta.url))];

/** This program, for its commands (`e-goat backup ...`): the argv they follow, and where it runs. */
export const SELF: { argv: string[]; cwd?: string } = COMPILED ? { argv: [process.execPath] } : { argv: [process.execPath, fileURLToPath(new URL("./main.ts", import.meta.url))], cwd: PROJECT };
