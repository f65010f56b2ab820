/**
 * Mach-O code signatures (scripts/release/codesign.ts). Builds a small app with the pinned darwin runtimes and checks
 * what Bun 1.4.5 writes: its darwin-arm64 output carries a valid ad hoc signature that `adhocSign` re-creates byte
 * for byte, and its darwin-x64 output keeps the runtime's stale signature (which macOS refuses) until `adhocSign`
 * fixes it. LLVM's linker, when installed, is a second, independent signer for the verifier to agree with.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CSSLOT_CODEDIRECTORY, parseCodeDirectory, parseSuperBlob, slotHash } from "../../../scripts/release/codesign-blobs.ts";
import { adhocSign, describeSignature, stripCodeSignature, verifyCodeSignature, type SignatureReport } from "../../../scripts/release/codesign.ts";
import { parseMachO } from "../../../scripts/release/macho.ts";
import { targetById } from "../../../scripts/release/targets.ts";

const ROOT = join(import.meta.dir, "../../..");
const X64 = targetById("darwin-x64");
const ARM64 = targetById("darwin-arm64");
const runtimeOf = (t: typeof X64) => join(ROOT, "scripts/runtimes/node_modules", t.runtimePackage, t.runtimeFile);
const haveRuntimes = existsSync(runtimeOf(X64)) && existsSync(runtimeOf(ARM64));
if (!haveRuntimes) {
  console.log(
    "codesign.test: skipping the Bun-output tests: the pinned darwin runtimes are not installed " +
      "(cd scripts/runtimes && bun install --frozen-lockfile --os='*' --cpu='*' --libc='*')",
  );
}
const llvmMc = Bun.which("llvm-mc") ?? Bun.which("llvm-mc-14");
const ld64 = Bun.which("ld64.lld") ?? Bun.which("ld64.lld-14");
if (!llvmMc || !ld64) console.log("codesign.test: skipping the LLVM cross-check: llvm-mc and ld64.lld are not installed (apt-get install llvm lld)");

const dir = mkdtempSync(join(tmpdir(), "codesign-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.compare(a, b) === 0;

/** The shape of a signature, without anything that depends on the file's contents or size. */
function structure(r: SignatureReport) {
  return {
    blobs: r.blobs.map((b) => [b.slot, b.magic]),
    codeDirectories: r.codeDirectories.map((cd) => ({
      slot: cd.slot,
      version: cd.version,
      flags: cd.flagNames,
      hashType: cd.hashType,
      pageSize: cd.pageSize,
      identifier: cd.identifier,
      nSpecialSlots: cd.nSpecialSlots,
      execSegFlags: cd.execSegFlags,
    })),
  };
}

describe.skipIf(!haveRuntimes)("Bun 1.4.5's darwin binaries", () => {
  const out: Record<"x64" | "arm64", Uint8Array> = {} as never;

  beforeAll(() => {
    // Over 16 KiB of app, as the real one is: Bun must grow __BUN and move __LINKEDIT and the signature. At this
    // size Bun's arm64 __LINKEDIT vmsize is rounded to 4 KiB but not to 16 KiB, so the byte-for-byte test tells them apart.
    const entry = join(dir, "hello.ts");
    writeFileSync(entry, `const pad = ${JSON.stringify("e-goat ".repeat(40_000))};\nconsole.log("hello", pad.length);\n`);
    for (const [cpu, target] of [["x64", X64], ["arm64", ARM64]] as const) {
      const outfile = join(dir, `hello-${cpu}`);
      const args = ["build", "--compile", `--target=${target.bunTarget}`, `--compile-executable-path=${runtimeOf(target)}`, entry, "--outfile", outfile];
      const run = spawnSync(process.execPath, args, { encoding: "utf8" });
      if (run.status !== 0) throw new Error(`bun ${args.join(" ")} failed:\n${run.stderr}`);
      out[cpu] = new Uint8Array(readFileSync(outfile));
    }
  }, 60_000);

  test("the darwin-arm64 output verifies: an ad hoc, linker-signed SHA-256 signature over every 4 KiB page", () => {
    const report = verifyCodeSignature(out.arm64);
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    const macho = parseMachO(out.arm64);
    expect(macho.cpu).toBe("arm64");
    expect(report.signatureOffset).toBe(macho.codeSignature!.offset);
    expect(report.pages).toBe(Math.ceil(macho.codeSignature!.offset / 4096));
    // Bun's layout: the signature is exactly the SuperBlob and ends the file; __LINKEDIT's vmsize is rounded to 4 KiB.
    expect(macho.codeSignature!.offset + macho.codeSignature!.size).toBe(out.arm64.length);
    expect(macho.linkedit!.fileoff + macho.linkedit!.filesize).toBe(out.arm64.length);
    expect(macho.linkedit!.vmsize).toBe(Math.ceil(macho.linkedit!.filesize / 4096) * 4096);
    expect(structure(report)).toEqual({
      blobs: [[CSSLOT_CODEDIRECTORY, 0xfade0c02]],
      codeDirectories: [
        { slot: 0, version: 0x20400, flags: "adhoc,linker-signed", hashType: "SHA-256", pageSize: 4096, identifier: "a.out", nSpecialSlots: 0, execSegFlags: 1 },
      ],
    });
    expect(describeSignature(report)).toStartWith(`code signature valid: ${report.pages} page hashes match`);
  });

  test("one spoiled byte in the app's pages fails verification, naming that page", () => {
    const bun = parseMachO(out.arm64).segments.find((s) => s.name === "__BUN")!;
    const at = bun.fileoff + 5000;
    const spoiled = out.arm64.slice();
    spoiled[at]! ^= 0xff;
    const report = verifyCodeSignature(spoiled);
    const page = Math.floor(at / 4096);
    expect(report.ok).toBe(false);
    expect(report.codeDirectories[0]!.badPages).toEqual([page]);
    expect(describeSignature(report)).toContain(`1 of ${report.pages} page hashes do not match (page ${page};`);
  });

  test("re-signing it after spoiling its hashes, or after stripping the signature, gives Bun's own file back", () => {
    const sig = parseMachO(out.arm64).codeSignature!;
    const spoiled = out.arm64.slice();
    spoiled.fill(0xee, sig.offset + 200, sig.offset + 300);
    expect(verifyCodeSignature(spoiled).ok).toBe(false);
    expect(same(adhocSign(spoiled), out.arm64)).toBe(true);

    const unsigned = stripCodeSignature(out.arm64);
    expect(unsigned.length).toBe(sig.offset);
    expect(verifyCodeSignature(unsigned).problems).toEqual(["no LC_CODE_SIGNATURE: the binary is unsigned"]);
    expect(same(adhocSign(unsigned), out.arm64)).toBe(true);
  });

  test("the darwin-x64 output keeps the runtime's stale signature; adhocSign fixes it", () => {
    const bunReport = verifyCodeSignature(out.x64);
    if (bunReport.ok) throw new Error("Bun now signs darwin-x64 output correctly: the adhocSign step for darwin-x64 can go");
    const macho = parseMachO(out.x64);
    expect(macho.cpu).toBe("x64");
    // The runtime's Developer ID signature: it hashes the runtime as shipped, before Bun moved __LINKEDIT.
    expect(bunReport.codeDirectories[0]!.flagNames).toBe("runtime");
    expect(bunReport.codeDirectories[0]!.codeLimit).toBeLessThan(macho.codeSignature!.offset);
    expect(bunReport.problems.join("\n")).toContain("the signature is stale");
    expect(bunReport.codeDirectories[0]!.badPages[0]).toBe(0);

    const signed = adhocSign(out.x64);
    const report = verifyCodeSignature(signed);
    expect(report.problems).toEqual([]);
    expect(structure(report)).toEqual(structure(verifyCodeSignature(out.arm64)));
    // Everything before the signature is Bun's output but for the two sizes in the load commands.
    const after = parseMachO(signed);
    expect(after.codeSignature!.offset).toBe(macho.codeSignature!.offset);
    expect(after.codeSignature!.size).toBe(signed.length - after.codeSignature!.offset);
    expect(after.linkedit!.fileoff + after.linkedit!.filesize).toBe(signed.length);
    expect(after.linkedit!.vmsize).toBe(Math.ceil(after.linkedit!.filesize / 4096) * 4096);
    const commandsEnd = 32 + macho.sizeofcmds;
    expect(same(signed.subarray(commandsEnd, macho.codeSignature!.offset), out.x64.subarray(commandsEnd, macho.codeSignature!.offset))).toBe(true);
    const differing = [];
    for (let i = 0; i < commandsEnd; i++) if (signed[i] !== out.x64[i]) differing.push(i);
    expect(differing.length).toBeLessThanOrEqual(16);
    // Signing is idempotent and does not depend on the signature it replaces.
    expect(same(adhocSign(signed), signed)).toBe(true);
    expect(same(adhocSign(stripCodeSignature(out.x64)), signed)).toBe(true);
  });

  test("the x64 runtime as shipped verifies, special slots included, with a note that its CMS chain is not checked", () => {
    const report = verifyCodeSignature(new Uint8Array(readFileSync(runtimeOf(X64))));
    expect(report.problems).toEqual([]);
    expect(report.codeDirectories[0]!.nSpecialSlots).toBe(7);
    expect(report.notes.join("\n")).toContain("CMS signature");
  });

  test("malformed files give clear errors or problems, never a crash", () => {
    expect(() => verifyCodeSignature(out.arm64.subarray(0, 20))).toThrow("truncated Mach-O: 20 bytes");
    expect(() => verifyCodeSignature(out.arm64.subarray(0, 100_000))).toThrow(/segment __TEXT .* runs past the end of the file \(100000 bytes\)/);
    const sig = parseMachO(out.arm64).codeSignature!;

    const pastEnd = out.arm64.slice();
    new DataView(pastEnd.buffer).setUint32(sig.commandOffset + 8, pastEnd.length - 100, true);
    expect(() => verifyCodeSignature(pastEnd)).toThrow(/LC_CODE_SIGNATURE \(offset \d+, size \d+\) runs past the end of the file/);
    expect(() => adhocSign(pastEnd)).toThrow(/LC_CODE_SIGNATURE .* runs past the end/);

    const badMagic = out.arm64.slice();
    badMagic[sig.offset] = 0;
    const r1 = verifyCodeSignature(badMagic);
    expect(r1.ok).toBe(false);
    expect(r1.problems[0]).toContain("does not start with an embedded-signature SuperBlob");

    const tooManySlots = out.arm64.slice();
    const cd = sig.offset + 20;
    new DataView(tooManySlots.buffer).setUint32(cd + 28, 0x10000000, false);
    expect(verifyCodeSignature(tooManySlots).problems[0]).toMatch(/code slots at offset 94 do not fit/);

    const truncatedSig = out.arm64.slice(0, out.arm64.length - 1000);
    expect(() => verifyCodeSignature(truncatedSig)).toThrow(/runs past the end of the file/);
  });
});

describe("files that are not thin 64-bit little-endian Mach-O", () => {
  const header = (magic: number, bigEndian = false) => {
    const b = new Uint8Array(64);
    new DataView(b.buffer).setUint32(0, magic, !bigEndian);
    return b;
  };
  test.each([
    ["empty", new Uint8Array(0), "not a Mach-O file: only 0 bytes"],
    ["a script", new TextEncoder().encode("#!/bin/sh\necho hi\n"), "not a Mach-O file (magic 0x622f2123)"],
    ["ELF", new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), "not a Mach-O file (magic 0x464c457f)"],
    ["universal", header(0xcafebabe, true), "universal (fat) Mach-O"],
    ["32-bit", header(0xfeedface), "32-bit Mach-O"],
    ["big-endian", header(0xfeedfacf, true), "big-endian Mach-O"],
  ])("%s", (_name, bytes, message) => {
    expect(() => parseMachO(bytes)).toThrow(message);
    expect(() => verifyCodeSignature(bytes)).toThrow(message);
    expect(() => adhocSign(bytes)).toThrow(message);
  });

  test("an unknown CPU", () => {
    const b = header(0xfeedfacf);
    new DataView(b.buffer).setUint32(4, 12, true); // CPU_TYPE_ARM (32-bit)
    expect(() => parseMachO(b)).toThrow("unsupported CPU type 0xc");
  });
});

describe.skipIf(!llvmMc || !ld64)("cross-check with LLVM's linker, an independent ad hoc signer", () => {
  const built: Record<string, Uint8Array> = {};

  beforeAll(() => {
    // A few pages of data and a last page that is only partly used, so partial-page hashing is compared too.
    const asm = {
      arm64: ".globl _main\n.p2align 2\n_main:\n  mov x0, #0\n  ret\n.data\n.fill 9000, 1, 0x5a\n",
      x86_64: ".globl _main\n_main:\n  xorl %eax, %eax\n  retq\n.data\n.fill 9000, 1, 0x5a\n",
    };
    for (const [arch, source] of Object.entries(asm)) {
      const s = join(dir, `lld-${arch}.s`);
      writeFileSync(s, source);
      const run = (cmd: string, args: string[]) => {
        const r = spawnSync(cmd, args, { encoding: "utf8" });
        if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed:\n${r.stderr}`);
      };
      run(llvmMc!, ["-triple", `${arch}-apple-macos11`, "-filetype=obj", s, "-o", `${s}.o`]);
      // lld signs arm64 output by itself; x86_64 only when asked.
      run(ld64!, ["-arch", arch, "-platform_version", "macos", "11.0", "11.0", "-adhoc_codesign", "-e", "_main", "-o", join(dir, `lld-${arch}`), `${s}.o`]);
      built[arch] = new Uint8Array(readFileSync(join(dir, `lld-${arch}`)));
    }
  });

  for (const arch of ["arm64", "x86_64"]) {
    test(`${arch}: lld's signature verifies, a spoiled page is named, and adhocSign's page hashes equal lld's`, () => {
      const bytes = built[arch]!;
      const report = verifyCodeSignature(bytes);
      expect(report.problems).toEqual([]);
      const sig = parseMachO(bytes).codeSignature!;
      expect(sig.offset % 4096).not.toBe(0);
      expect(report.pages).toBe(Math.ceil(sig.offset / 4096));

      const spoiled = bytes.slice();
      spoiled[4096 * 2 + 7]! ^= 1;
      expect(verifyCodeSignature(spoiled).codeDirectories[0]!.badPages).toEqual([2]);

      const ours = adhocSign(bytes, { identifier: report.codeDirectories[0]!.identifier });
      expect(verifyCodeSignature(ours).problems).toEqual([]);
      const theirs = parseCodeDirectory(bytes, parseSuperBlob(bytes, sig.offset, sig.size).blobs[0]!);
      const oursSig = parseMachO(ours).codeSignature!;
      const mine = parseCodeDirectory(ours, parseSuperBlob(ours, oursSig.offset, oursSig.size).blobs[0]!);
      expect(mine.codeLimit).toBe(theirs.codeLimit);
      expect(mine.nCodeSlots).toBe(theirs.nCodeSlots);
      expect(mine.execSegLimit).toBe(theirs.execSegLimit);
      // Page 0 holds the load commands, where the two signatures' sizes differ; every other page is the same bytes.
      for (let page = 1; page < theirs.nCodeSlots; page++) expect(same(slotHash(ours, mine, page), slotHash(bytes, theirs, page))).toBe(true);
    });
  }
});
