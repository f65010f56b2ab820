import type { SyncHandler } from "./channel.ts";
import type { FileSync } from "./file-sync.ts";

type FileFrameType = "want" | "manifest" | "chunk" | "lack" | "have";

/** FileSync as a handler of the sync channel: the file frames go to it, and a changed primary has it ask again. */
export function fileHandler(files: FileSync): SyncHandler<FileFrameType> {
  return {
    types: ["want", "manifest", "chunk", "lack", "have"],
    receive: (from, frame, binary) => void files.handle(from, frame, binary),
    primaryChanged: (nodeId) => files.peerChanged(nodeId),
    start: () => files.start(),
    stop: () => files.stop(),
  };
}
