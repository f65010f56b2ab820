/**
 * What an executable's own headers say it is: ELF (Linux) and PE (Windows) here; Mach-O in macho.ts.
 * Only the fields a release check needs, each read with bounds checks.
 */

export interface ElfInfo {
  format: "elf";
  cpu: "x64" | "arm64" | `machine ${number}`;
  /** The program interpreter, which names the C library (/lib64/ld-linux-x86-64.so.2, /lib/ld-musl-x86_64.so.1...); none in a library. */
  interpreter: string | null;
  libc: "glibc" | "musl" | "none" | "unknown";
}

export interface PeInfo {
  format: "pe";
  cpu: "x64" | "arm64" | `machine 0x${string}`;
  /** Windows subsystem: "console" for a command-line program. */
  subsystem: "console" | "gui" | `subsystem ${number}`;
}

class HeaderError extends Error {}

function need(bytes: Uint8Array, end: number | bigint, what: string): void {
  if (BigInt(end) > BigInt(bytes.length)) throw new HeaderError(`truncated: ${what} ends past the file's ${bytes.length} bytes`);
}

const ELF_MACHINES: Record<number, "x64" | "arm64"> = { 62: "x64", 183: "arm64" };
const PT_INTERP = 3;

export function readElf(bytes: Uint8Array): ElfInfo {
  need(bytes, 64, "the ELF header");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0) !== 0x7f454c46) throw new HeaderError("not an ELF file");
  if (bytes[4] !== 2 || bytes[5] !== 1) throw new HeaderError("not a 64-bit little-endian ELF file");
  const machine = view.getUint16(0x12, true);
  const phoff = view.getBigUint64(0x20, true);
  const phentsize = view.getUint16(0x36, true);
  const phnum = view.getUint16(0x38, true);
  need(bytes, phoff + BigInt(phentsize * phnum), "the program headers");
  let interpreter: string | null = null;
  for (let i = 0; i < phnum; i++) {
    const at = Number(phoff) + i * phentsize;
    if (view.getUint32(at, true) !== PT_INTERP) continue;
    const offset = view.getBigUint64(at + 8, true);
    const size = view.getBigUint64(at + 32, true);
    need(bytes, offset + size, "the interpreter path");
    interpreter = new TextDecoder().decode(bytes.subarray(Number(offset), Number(offset + size))).replace(/\0+$/, "");
  }
  const libc = interpreter === null ? "none" : /ld-musl-/.test(interpreter) ? "musl" : /ld-linux-/.test(interpreter) ? "glibc" : "unknown";
  return { format: "elf", cpu: ELF_MACHINES[machine] ?? `machine ${machine}`, interpreter, libc };
}

const PE_MACHINES: Record<number, "x64" | "arm64"> = { 0x8664: "x64", 0xaa64: "arm64" };
const PE32_PLUS = 0x20b;

export function readPe(bytes: Uint8Array): PeInfo {
  need(bytes, 0x40, "the DOS header");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint16(0) !== 0x4d5a) throw new HeaderError("not a PE file (no MZ)");
  const pe = view.getUint32(0x3c, true);
  need(bytes, pe + 24 + 70, "the PE headers");
  if (view.getUint32(pe) !== 0x50450000) throw new HeaderError("not a PE file (no PE signature)");
  const machine = view.getUint16(pe + 4, true);
  const optional = pe + 24;
  if (view.getUint16(optional, true) !== PE32_PLUS) throw new HeaderError("not a 64-bit (PE32+) image");
  const subsystem = view.getUint16(optional + 68, true);
  return {
    format: "pe",
    cpu: PE_MACHINES[machine] ?? `machine 0x${machine.toString(16)}`,
    subsystem: subsystem === 3 ? "console" : subsystem === 2 ? "gui" : `subsystem ${subsystem}`,
  };
}
