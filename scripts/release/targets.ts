/**
 * The release targets: for each, Bun's compile target, the Bun runtime package that carries its executable, the
 * node-datachannel package that carries its addon, and what its binary must look like.
 */

export type TargetId = "linux-x64" | "linux-arm64" | "darwin-x64" | "darwin-arm64" | "windows-x64";

export interface Target {
  id: TargetId;
  /** `bun build --compile --target` value. */
  bunTarget: `bun-${string}`;
  /** npm package (pinned in scripts/runtimes/bun.lock) whose executable is this target's Bun runtime. */
  runtimePackage: string;
  /** Path of the runtime executable inside that package. */
  runtimeFile: string;
  /** node-datachannel's package with this target's native addon (pinned in bun.lock). */
  addonPackage: string;
  /** What the headers must say. */
  format: "elf" | "mach-o" | "pe";
  cpu: "x64" | "arm64";
  /** ELF only: the C library the program interpreter belongs to. */
  libc?: "glibc";
  /** File name under dist/: what a user picks from a download page. */
  fileName: string;
}

export const TARGETS: readonly Target[] = [
  { id: "linux-x64", bunTarget: "bun-linux-x64", runtimePackage: "@oven/bun-linux-x64", runtimeFile: "bin/bun", addonPackage: "@node-datachannel/linux-x64-gnu", format: "elf", cpu: "x64", libc: "glibc", fileName: "e-goat-linux-x64" },
  { id: "linux-arm64", bunTarget: "bun-linux-arm64", runtimePackage: "@oven/bun-linux-aarch64", runtimeFile: "bin/bun", addonPackage: "@node-datachannel/linux-arm64-gnu", format: "elf", cpu: "arm64", libc: "glibc", fileName: "e-goat-linux-arm64" },
  { id: "darwin-x64", bunTarget: "bun-darwin-x64", runtimePackage: "@oven/bun-darwin-x64", runtimeFile: "bin/bun", addonPackage: "@node-datachannel/darwin-x64", format: "mach-o", cpu: "x64", fileName: "e-goat-macos-x64" },
  { id: "darwin-arm64", bunTarget: "bun-darwin-arm64", runtimePackage: "@oven/bun-darwin-aarch64", runtimeFile: "bin/bun", addonPackage: "@node-datachannel/darwin-arm64", format: "mach-o", cpu: "arm64", fileName: "e-goat-macos-arm64" },
  { id: "windows-x64", bunTarget: "bun-windows-x64", runtimePackage: "@oven/bun-windows-x64", runtimeFile: "bin/bun.exe", addonPackage: "@node-datachannel/win32-x64-msvc", format: "pe", cpu: "x64", fileName: "e-goat-windows-x64.exe" },
];

export function isTargetId(id: string): id is TargetId {
  return TARGETS.some((t) => t.id === id);
}

export function targetById(id: TargetId): Target {
  return TARGETS.find((t) => t.id === id)!;
}

/** The target this machine is, if it is one. */
export function hostTarget(): Target | undefined {
  const os = process.platform === "win32" ? "windows" : process.platform;
  return TARGETS.find((t) => t.id === `${os}-${process.arch}`);
}
