/** Reading format, CPU and C library from ELF and PE headers: real files from node_modules, and broken ones. */
import { describe, expect, it } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { readElf, readPe } from "../../../../scripts/release/headers.ts";

const ROOT = join(import.meta.dir, "../../../..");
const addon = (pkg: string) => join(ROOT, "node_modules/@node-datachannel", pkg, "node_datachannel.node");
const ALL_PLATFORMS = ["linux-arm64-gnu", "win32-x64-msvc", "win32-arm64-msvc"].every((p) => existsSync(addon(p)));
if (!ALL_PLATFORMS) console.log("headers: skipping the other platforms' addons: run bun install --os='*' --cpu='*' --libc='*'");

describe("ELF headers", () => {
  it("read the running Bun: this machine's CPU and its C library's interpreter", () => {
    const info = readElf(readFileSync(process.execPath));
    expect(info.format).toBe("elf");
    expect(info.cpu).toBe(process.arch as "x64" | "arm64");
    expect(info.libc).toBe("glibc");
    expect(info.interpreter).toMatch(/^\/lib(64)?\/ld-linux-/);
  });

  it.skipIf(!ALL_PLATFORMS)("tell an arm64 library from an x64 one; a library has no interpreter", () => {
    expect(readElf(readFileSync(addon("linux-arm64-gnu")))).toMatchObject({ cpu: "arm64", interpreter: null, libc: "none" });
    expect(readElf(readFileSync(addon("linux-x64-gnu")))).toMatchObject({ cpu: "x64", interpreter: null });
  });

  it("refuse what is not a whole 64-bit little-endian ELF file", () => {
    const bun = readFileSync(process.execPath);
    expect(() => readElf(new Uint8Array(10))).toThrow(/truncated/);
    expect(() => readElf(new Uint8Array(64))).toThrow(/not an ELF file/);
    const elf32 = Uint8Array.from(bun.subarray(0, 64));
    elf32[4] = 1;
    expect(() => readElf(elf32)).toThrow(/64-bit little-endian/);
    // The program headers point past the end of a file cut after the ELF header.
    expect(() => readElf(bun.subarray(0, 64))).toThrow(/truncated: the program headers/);
  });
});

describe("PE headers", () => {
  it.skipIf(!ALL_PLATFORMS)("read the CPU of Windows x64 and arm64 images", () => {
    expect(readPe(readFileSync(addon("win32-x64-msvc")))).toMatchObject({ format: "pe", cpu: "x64" });
    expect(readPe(readFileSync(addon("win32-arm64-msvc")))).toMatchObject({ format: "pe", cpu: "arm64" });
  });

  it("refuse what is not a PE32+ image", () => {
    expect(() => readPe(new Uint8Array(8))).toThrow(/truncated/);
    expect(() => readPe(new Uint8Array(512))).toThrow(/no MZ/);
    const noPe = new Uint8Array(512);
    noPe.set([0x4d, 0x5a]);
    noPe[0x3c] = 0x80;
    expect(() => readPe(noPe)).toThrow(/no PE signature/);
    const farPe = Uint8Array.from(noPe);
    new DataView(farPe.buffer).setUint32(0x3c, 0xffff_fff0, true);
    expect(() => readPe(farPe)).toThrow(/truncated/);
  });
});
