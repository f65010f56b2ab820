/**
 * A reader for the Mach-O files Bun's darwin runtimes are: thin, 64-bit, little-endian. It reads the header, the
 * segments with their sections, and the load commands that point into __LINKEDIT (the code signature among them),
 * and checks that every offset it returns lies inside the file, so callers can index `bytes` without more checks.
 */

export class MachOError extends Error {
  override name = "MachOError";
}

export type MachOCpu = "x64" | "arm64";

export const MH_MAGIC_64 = 0xfeedfacf;
export const MH_EXECUTE = 2;
export const CPU_TYPE_X86_64 = 0x01000007;
export const CPU_TYPE_ARM64 = 0x0100000c;

export const LC_SEGMENT_64 = 0x19;
export const LC_SYMTAB = 0x02;
export const LC_DYSYMTAB = 0x0b;
export const LC_CODE_SIGNATURE = 0x1d;
/** mach_header_64 is 32 bytes; the load commands follow it. */
export const MACH_HEADER_64_SIZE = 32;
const SEGMENT_64_SIZE = 72;
const SECTION_64_SIZE = 80;
/** Section types whose contents take no room in the file (S_ZEROFILL, S_GB_ZEROFILL, S_THREAD_LOCAL_ZEROFILL). */
const ZEROFILL_TYPES = new Set([0x1, 0xc, 0x12]);

/** linkedit_data_command kinds: each is {cmd, cmdsize, dataoff, datasize} pointing into __LINKEDIT. */
const LINKEDIT_DATA_COMMANDS: Record<number, string> = {
  0x1d: "LC_CODE_SIGNATURE",
  0x1e: "LC_SEGMENT_SPLIT_INFO",
  0x26: "LC_FUNCTION_STARTS",
  0x29: "LC_DATA_IN_CODE",
  0x2b: "LC_DYLIB_CODE_SIGN_DRS",
  0x2e: "LC_LINKER_OPTIMIZATION_HINT",
  0x80000033: "LC_DYLD_EXPORTS_TRIE",
  0x80000034: "LC_DYLD_CHAINED_FIXUPS",
};

export interface Section {
  name: string;
  segment: string;
  addr: number;
  size: number;
  /** File offset of the contents; 0 for zero-fill sections. */
  offset: number;
  align: number;
  flags: number;
}

export interface Segment {
  name: string;
  /** File offset of this segment's load command (to patch it). */
  commandOffset: number;
  vmaddr: number;
  vmsize: number;
  fileoff: number;
  filesize: number;
  maxprot: number;
  initprot: number;
  flags: number;
  sections: Section[];
}

export interface LoadCommand {
  cmd: number;
  cmdsize: number;
  /** File offset of the command. */
  offset: number;
}

/** A range of the file that a load command points at (LINKEDIT data, symbol table, ...). */
export interface FileRange {
  what: string;
  /** File offset of the load command that names the range. */
  commandOffset: number;
  offset: number;
  size: number;
}

export interface MachO {
  cpu: MachOCpu;
  cputype: number;
  cpusubtype: number;
  filetype: number;
  flags: number;
  ncmds: number;
  sizeofcmds: number;
  loadCommands: LoadCommand[];
  segments: Segment[];
  text?: Segment;
  linkedit?: Segment;
  /** LC_CODE_SIGNATURE: where the embedded signature is (`offset`, `size`). */
  codeSignature?: FileRange;
  /** Every range inside __LINKEDIT that a load command names, the code signature included. */
  linkeditRanges: FileRange[];
  /** Lowest file offset of any section's contents: load commands must end before it. */
  firstSectionOffset: number;
}

const CPUS: Record<number, MachOCpu> = { [CPU_TYPE_X86_64]: "x64", [CPU_TYPE_ARM64]: "arm64" };

const hex = (n: number) => `0x${n.toString(16)}`;

/** Reads a u64 as a number; offsets and sizes past 2^53 cannot be right for a file held in memory. */
function u64(view: DataView, at: number, what: string): number {
  const v = view.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new MachOError(`${what} is ${hex(Number(v))}, too large`);
  return Number(v);
}

function cString(bytes: Uint8Array, at: number, max: number): string {
  let end = at;
  while (end < at + max && bytes[end] !== 0) end++;
  return new TextDecoder().decode(bytes.subarray(at, end));
}

function checkMagic(bytes: Uint8Array): void {
  if (bytes.length < 4) throw new MachOError(`not a Mach-O file: only ${bytes.length} bytes`);
  const le = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);
  const be = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, false);
  if (le === MH_MAGIC_64) return;
  if (be === 0xcafebabe || be === 0xcafebabf) throw new MachOError("universal (fat) Mach-O: only thin 64-bit files are handled");
  if (le === 0xfeedface) throw new MachOError("32-bit Mach-O: only 64-bit files are handled");
  if (be === MH_MAGIC_64 || be === 0xfeedface) throw new MachOError("big-endian Mach-O: only little-endian files are handled");
  throw new MachOError(`not a Mach-O file (magic ${hex(le)})`);
}

/** Parses a thin 64-bit little-endian Mach-O; throws MachOError for anything else or anything out of range. */
export function parseMachO(bytes: Uint8Array): MachO {
  checkMagic(bytes);
  if (bytes.length < MACH_HEADER_64_SIZE) throw new MachOError(`truncated Mach-O: ${bytes.length} bytes, the header alone is 32`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const cputype = view.getUint32(4, true);
  const cpu = CPUS[cputype];
  if (!cpu) throw new MachOError(`unsupported CPU type ${hex(cputype)} (only x86_64 and arm64)`);
  const ncmds = view.getUint32(16, true);
  const sizeofcmds = view.getUint32(20, true);
  const commandsEnd = MACH_HEADER_64_SIZE + sizeofcmds;
  if (commandsEnd > bytes.length) {
    throw new MachOError(`truncated Mach-O: load commands end at ${commandsEnd} but the file has ${bytes.length} bytes`);
  }
  const macho: MachO = {
    cpu,
    cputype,
    cpusubtype: view.getUint32(8, true),
    filetype: view.getUint32(12, true),
    ncmds,
    sizeofcmds,
    flags: view.getUint32(24, true),
    loadCommands: [],
    segments: [],
    linkeditRanges: [],
    firstSectionOffset: bytes.length,
  };
  const ranges: FileRange[] = [];
  const inFile = (what: string, offset: number, size: number) => {
    if (offset + size > bytes.length) {
      throw new MachOError(`${what} (offset ${offset}, size ${size}) runs past the end of the file (${bytes.length} bytes)`);
    }
  };

  let at = MACH_HEADER_64_SIZE;
  for (let i = 0; i < ncmds; i++) {
    if (at + 8 > commandsEnd) throw new MachOError(`load command ${i} starts past sizeofcmds (${sizeofcmds})`);
    const cmd = view.getUint32(at, true);
    const cmdsize = view.getUint32(at + 4, true);
    if (cmdsize < 8 || cmdsize % 8 !== 0 || at + cmdsize > commandsEnd) {
      throw new MachOError(`load command ${i} (${hex(cmd)}) has a bad size ${cmdsize}`);
    }
    macho.loadCommands.push({ cmd, cmdsize, offset: at });

    if (cmd === LC_SEGMENT_64) {
      if (cmdsize < SEGMENT_64_SIZE) throw new MachOError(`segment command ${i} is too short (${cmdsize} bytes)`);
      const nsects = view.getUint32(at + 64, true);
      if (cmdsize !== SEGMENT_64_SIZE + nsects * SECTION_64_SIZE) {
        throw new MachOError(`segment command ${i} has ${nsects} sections but ${cmdsize} bytes`);
      }
      const name = cString(bytes, at + 8, 16);
      const seg: Segment = {
        name,
        commandOffset: at,
        vmaddr: u64(view, at + 24, `${name} vmaddr`),
        vmsize: u64(view, at + 32, `${name} vmsize`),
        fileoff: u64(view, at + 40, `${name} fileoff`),
        filesize: u64(view, at + 48, `${name} filesize`),
        maxprot: view.getUint32(at + 56, true),
        initprot: view.getUint32(at + 60, true),
        flags: view.getUint32(at + 68, true),
        sections: [],
      };
      inFile(`segment ${name}`, seg.fileoff, seg.filesize);
      for (let s = 0; s < nsects; s++) {
        const sa = at + SEGMENT_64_SIZE + s * SECTION_64_SIZE;
        const section: Section = {
          name: cString(bytes, sa, 16),
          segment: cString(bytes, sa + 16, 16),
          addr: u64(view, sa + 32, "section addr"),
          size: u64(view, sa + 40, "section size"),
          offset: view.getUint32(sa + 48, true),
          align: view.getUint32(sa + 52, true),
          flags: view.getUint32(sa + 64, true),
        };
        if (!ZEROFILL_TYPES.has(section.flags & 0xff) && section.offset !== 0) {
          inFile(`section ${section.segment},${section.name}`, section.offset, section.size);
          macho.firstSectionOffset = Math.min(macho.firstSectionOffset, section.offset);
        }
        seg.sections.push(section);
      }
      macho.segments.push(seg);
      if (name === "__TEXT") macho.text = seg;
      if (name === "__LINKEDIT") macho.linkedit = seg;
    } else if (LINKEDIT_DATA_COMMANDS[cmd]) {
      if (cmdsize !== 16) throw new MachOError(`${LINKEDIT_DATA_COMMANDS[cmd]} has size ${cmdsize}, not 16`);
      const range = { what: LINKEDIT_DATA_COMMANDS[cmd]!, commandOffset: at, offset: view.getUint32(at + 8, true), size: view.getUint32(at + 12, true) };
      inFile(range.what, range.offset, range.size);
      ranges.push(range);
      if (cmd === LC_CODE_SIGNATURE) {
        if (macho.codeSignature) throw new MachOError("more than one LC_CODE_SIGNATURE");
        macho.codeSignature = range;
      }
    } else if (cmd === LC_SYMTAB) {
      const [symoff, nsyms, stroff, strsize] = [8, 12, 16, 20].map((o) => view.getUint32(at + o, true)) as [number, number, number, number];
      for (const r of [
        { what: "symbol table", commandOffset: at, offset: symoff, size: nsyms * 16 },
        { what: "string table", commandOffset: at, offset: stroff, size: strsize },
      ]) {
        inFile(r.what, r.offset, r.size);
        if (r.size > 0) ranges.push(r);
      }
    } else if (cmd === LC_DYSYMTAB) {
      const indirectsymoff = view.getUint32(at + 56, true);
      const nindirectsyms = view.getUint32(at + 60, true);
      inFile("indirect symbol table", indirectsymoff, nindirectsyms * 4);
      if (nindirectsyms > 0) ranges.push({ what: "indirect symbol table", commandOffset: at, offset: indirectsymoff, size: nindirectsyms * 4 });
    }
    at += cmdsize;
  }

  const linkedit = macho.linkedit;
  for (const r of ranges) {
    if (r.size === 0) continue;
    if (!linkedit || r.offset < linkedit.fileoff || r.offset + r.size > linkedit.fileoff + linkedit.filesize) {
      throw new MachOError(`${r.what} (offset ${r.offset}, size ${r.size}) lies outside __LINKEDIT`);
    }
  }
  macho.linkeditRanges = ranges;
  if (commandsEnd > macho.firstSectionOffset) {
    throw new MachOError(`load commands (ending at ${commandsEnd}) overlap the first section (at ${macho.firstSectionOffset})`);
  }
  return macho;
}
