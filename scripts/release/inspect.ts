/**
 * The checks of a built binary that need no running: what its headers say, which addon it carries, and (Mach-O) its
 * code signature. Each check is one line of the report.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describeSignature, verifyCodeSignature } from "./codesign.ts";
import { readElf, readPe } from "./headers.ts";
import { parseMachO } from "./macho.ts";
import type { Target } from "./targets.ts";

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  /** Not done on this machine (ok stays true); the detail says why. */
  skipped?: boolean;
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Runs `fn`; a throw is a failed check with its message. */
function check(name: string, fn: () => { ok: boolean; detail: string }): Check {
  try {
    return { name, ...fn() };
  } catch (error) {
    return { name, ok: false, detail: messageOf(error) };
  }
}

/** What the headers say, in the words of Target: "elf x64 glibc", "pe x64", "mach-o arm64". */
function describeHeaders(bytes: Uint8Array, format: Target["format"]): { seen: string; extra: string } {
  if (format === "elf") {
    const elf = readElf(bytes);
    return { seen: `elf ${elf.cpu} ${elf.libc}`, extra: elf.interpreter ? ` (${elf.interpreter})` : "" };
  }
  if (format === "pe") {
    const pe = readPe(bytes);
    return { seen: `pe ${pe.cpu}`, extra: pe.subsystem === "console" ? "" : ` (${pe.subsystem}, expected console)` };
  }
  return { seen: `mach-o ${parseMachO(bytes).cpu}`, extra: "" };
}

/** Executable format, CPU and (ELF) C library from the binary's own headers; a Windows one must be a console program. */
function headers(bytes: Uint8Array, target: Target): Check {
  return check("headers", () => {
    const want = [target.format, target.cpu, target.libc].filter(Boolean).join(" ");
    const { seen, extra } = describeHeaders(bytes, target.format);
    const ok = seen === want && !extra.includes("expected");
    return { ok, detail: `${seen}${extra}${seen === want ? "" : `, expected ${want}`}` };
  });
}

const addonsByRoot = new Map<string, Map<string, Buffer>>();

/** Every node-datachannel addon package installed: name -> bytes. Read once per run: each target's check compares against all. */
function installedAddons(root: string): Map<string, Buffer> {
  const read = addonsByRoot.get(root);
  if (read) return read;
  const scope = join(root, "node_modules/@node-datachannel");
  const addons = new Map<string, Buffer>();
  for (const name of readdirSync(scope)) addons.set(`@node-datachannel/${name}`, readFileSync(join(scope, name, "node_datachannel.node")));
  addonsByRoot.set(root, addons);
  return addons;
}

/** The target's addon is inside byte for byte, once; no other platform's addon is. */
function addon(bytes: Buffer, target: Target, addons: Map<string, Buffer>): Check {
  return check("addon", () => {
    const own = addons.get(target.addonPackage);
    if (!own) return { ok: false, detail: `${target.addonPackage} is not installed to compare with` };
    const at = bytes.indexOf(own);
    if (at < 0) return { ok: false, detail: `${target.addonPackage}'s node_datachannel.node is not inside byte for byte` };
    if (bytes.indexOf(own, at + 1) >= 0) return { ok: false, detail: `${target.addonPackage}'s addon is inside more than once` };
    const others = [...addons].filter(([name, other]) => name !== target.addonPackage && !other.equals(own) && bytes.indexOf(other) >= 0);
    if (others.length > 0) return { ok: false, detail: `also carries ${others.map(([n]) => n).join(", ")}` };
    return { ok: true, detail: `${target.addonPackage} (${own.length} bytes) at offset ${at}; none of the other ${addons.size - 1} platforms'` };
  });
}

/** Mach-O only: an ad hoc code signature that verifies, every page hash (macOS kills a binary whose pages do not match). */
function signature(bytes: Uint8Array): Check {
  return check("signature", () => {
    const report = verifyCodeSignature(bytes);
    const adhoc = report.codeDirectories[0]?.flagNames.split(",").includes("adhoc") ?? false;
    return { ok: report.ok && adhoc, detail: `${describeSignature(report)}${report.ok && !adhoc ? " (not ad hoc)" : ""}` };
  });
}

export function inspect(file: string, target: Target, root: string): Check[] {
  const bytes = readFileSync(file);
  const checks = [headers(bytes, target), addon(bytes, target, installedAddons(root))];
  if (target.format === "mach-o") checks.push(signature(bytes));
  return checks;
}
