/**
 * Mach-O code signatures on any OS: `verifyCodeSignature` checks every page hash of an embedded signature as the
 * macOS kernel would before running the binary, and `adhocSign` writes a fresh ad hoc signature.
 *
 * Why: Bun cross-compiling for darwin-x64 writes the app into the runtime's __BUN segment but keeps the runtime's
 * original (Developer ID) signature, now stale, and macOS kills a binary whose page hashes do not match. For
 * darwin-arm64 Bun re-signs ad hoc; `adhocSign` writes exactly that signature (same blob, flags, identifier and
 * layout), so it can fix the x64 binary and re-creates Bun's own arm64 output byte for byte.
 */
import { createHash } from "node:crypto";
import {
  CodeSignatureError,
  CS_ADHOC,
  CS_EXECSEG_MAIN_BINARY,
  CS_HASHTYPE_SHA256,
  CS_LINKER_SIGNED,
  CSMAGIC_BLOBWRAPPER,
  CSMAGIC_CODEDIRECTORY,
  CSMAGIC_EMBEDDED_SIGNATURE,
  CSSLOT_ALTERNATE_CODEDIRECTORIES,
  CSSLOT_ALTERNATE_CODEDIRECTORY_MAX,
  CSSLOT_CODEDIRECTORY,
  CSSLOT_INFOSLOT,
  CSSLOT_RESOURCEDIR,
  CSSLOT_SIGNATURESLOT,
  flagNames,
  HASH_TYPES,
  parseCodeDirectory,
  parseSuperBlob,
  slotHash,
  type CodeDirectory,
} from "./codesign-blobs.ts";
import { LC_CODE_SIGNATURE, MACH_HEADER_64_SIZE, MachOError, MH_EXECUTE, parseMachO, type MachO, type MachOCpu } from "./macho.ts";

export { CodeSignatureError } from "./codesign-blobs.ts";
export { MachOError } from "./macho.ts";

/** How many mismatching page indexes a report lists (the count is always complete). */
const LISTED_BAD_PAGES = 8;
/** __LINKEDIT's vmsize is its filesize rounded up to 4 KiB, as Bun 1.4.5 writes it (Apple's codesign rounds to 16 KiB). */
const LINKEDIT_VM_ALIGN = 0x1000;

export interface CodeDirectoryReport {
  slot: number;
  version: number;
  flags: number;
  /** e.g. "adhoc,linker-signed". */
  flagNames: string;
  identifier: string;
  teamId?: string;
  hashType: string;
  pageSize: number;
  nSpecialSlots: number;
  nCodeSlots: number;
  codeLimit: number;
  execSegBase?: number;
  execSegLimit?: number;
  execSegFlags?: number;
  /** Page hashes checked. */
  pages: number;
  badPageCount: number;
  /** The first few mismatching page indexes. */
  badPages: number[];
}

export interface SignatureReport {
  ok: boolean;
  cpu: MachOCpu;
  fileSize: number;
  signatureOffset?: number;
  signatureSize?: number;
  /** Every blob in the SuperBlob's index, in order. */
  blobs: { slot: number; magic: number; length: number }[];
  codeDirectories: CodeDirectoryReport[];
  /** Page hashes checked over all CodeDirectories. */
  pages: number;
  /** Each reason the signature is not valid (for the kernel, or for `codesign --verify --strict`); empty when ok. */
  problems: string[];
  /** What was not checked and why (e.g. the CMS signature of a Developer ID build). */
  notes: string[];
}

function hashOf(algorithm: string, size: number, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash(algorithm).update(data).digest().subarray(0, size));
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const isZero = (a: Uint8Array) => a.every((b) => b === 0);
const roundUp = (n: number, to: number) => Math.ceil(n / to) * to;
const slotName = (slot: number) => `0x${slot.toString(16)}`;

/** Checks one CodeDirectory: its limits against the file, every code page hash, and the special slots it binds. */
function checkCodeDirectory(bytes: Uint8Array, cd: CodeDirectory, blobs: Map<number, Uint8Array>, sigOffset: number, problems: string[], notes: string[]): CodeDirectoryReport {
  const hashType = HASH_TYPES[cd.hashType]!;
  const name = cd.slot === CSSLOT_CODEDIRECTORY ? "CodeDirectory" : `alternate CodeDirectory ${slotName(cd.slot)}`;
  const pageSize = cd.pageSizeLog2 === 0 ? Math.max(cd.codeLimit, 1) : 2 ** cd.pageSizeLog2;
  const report: CodeDirectoryReport = {
    slot: cd.slot,
    version: cd.version,
    flags: cd.flags,
    flagNames: flagNames(cd.flags),
    identifier: cd.identifier,
    teamId: cd.teamId,
    hashType: hashType.name,
    pageSize,
    nSpecialSlots: cd.nSpecialSlots,
    nCodeSlots: cd.nCodeSlots,
    codeLimit: cd.codeLimit,
    execSegBase: cd.execSegBase,
    execSegLimit: cd.execSegLimit,
    execSegFlags: cd.execSegFlags,
    pages: 0,
    badPageCount: 0,
    badPages: [],
  };

  if (cd.codeLimit !== sigOffset) {
    problems.push(
      `${name} covers ${cd.codeLimit} bytes but the signature starts at ${sigOffset}` +
        (cd.codeLimit < sigOffset ? ` (${sigOffset - cd.codeLimit} bytes unhashed: the signature is stale)` : ""),
    );
  }
  const wantSlots = Math.ceil(cd.codeLimit / pageSize);
  if (cd.nCodeSlots !== wantSlots) problems.push(`${name} has ${cd.nCodeSlots} page hashes but ${cd.codeLimit} bytes in ${pageSize}-byte pages need ${wantSlots}`);

  const limit = Math.min(cd.codeLimit, bytes.length);
  const pages = Math.min(cd.nCodeSlots, Math.ceil(limit / pageSize));
  for (let page = 0; page < pages; page++) {
    const start = page * pageSize;
    const actual = hashOf(hashType.algorithm, cd.hashSize, bytes.subarray(start, Math.min(start + pageSize, limit)));
    if (!equalBytes(actual, slotHash(bytes, cd, page))) {
      if (report.badPages.length < LISTED_BAD_PAGES) report.badPages.push(page);
      report.badPageCount++;
    }
  }
  report.pages = pages;
  if (report.badPageCount > 0) {
    const more = report.badPageCount > report.badPages.length ? ", ..." : "";
    problems.push(`${name}: ${report.badPageCount} of ${pages} page hashes do not match (page ${report.badPages.join(", ")}${more}; ${pageSize}-byte pages)`);
  }

  for (let k = 1; k <= cd.nSpecialSlots; k++) {
    const stored = slotHash(bytes, cd, -k);
    if (isZero(stored)) continue;
    const blob = blobs.get(k);
    if (blob) {
      if (!equalBytes(hashOf(hashType.algorithm, cd.hashSize, blob), stored)) problems.push(`${name}: special slot -${k} does not match blob ${slotName(k)}`);
    } else if (k === CSSLOT_INFOSLOT || k === CSSLOT_RESOURCEDIR) {
      notes.push(`${name}: special slot -${k} names a file outside the binary (Info.plist or resources); not checked`);
    } else {
      problems.push(`${name}: special slot -${k} holds a hash but the signature has no blob ${slotName(k)}`);
    }
  }
  for (const k of blobs.keys()) {
    if (k > cd.nSpecialSlots || isZero(slotHash(bytes, cd, -k))) problems.push(`${name} does not bind blob ${slotName(k)} (no special slot -${k})`);
  }

  if (cd.execSegBase !== undefined && cd.execSegLimit !== undefined && cd.execSegBase + cd.execSegLimit > cd.codeLimit) {
    problems.push(`${name}: executable segment ${cd.execSegBase}+${cd.execSegLimit} runs past codeLimit ${cd.codeLimit}`);
  }
  return report;
}

/** Checks the layout around the signature: nothing after it unhashed, __LINKEDIT big enough to map it. */
function checkLayout(macho: MachO, bytes: Uint8Array, problems: string[]): void {
  const sig = macho.codeSignature!;
  const linkedit = macho.linkedit!;
  for (const r of macho.linkeditRanges) {
    if (r !== sig && r.size > 0 && r.offset + r.size > sig.offset) problems.push(`${r.what} lies after the signature's start, so no page hash covers it`);
  }
  if (linkedit.vmsize < linkedit.filesize) problems.push(`__LINKEDIT maps ${linkedit.vmsize} bytes but holds ${linkedit.filesize}`);
  const end = linkedit.fileoff + linkedit.filesize;
  if (bytes.length > end) problems.push(`${bytes.length - end} bytes after __LINKEDIT are outside every segment and unsigned`);
}

/**
 * Verifies the embedded code signature of a thin 64-bit Mach-O: every page hash of every CodeDirectory, the special
 * slots, and that the hashes cover the whole file up to the signature. Throws MachOError only when the file is not a
 * readable Mach-O; anything wrong with the signature is a problem in the report.
 */
export function verifyCodeSignature(bytes: Uint8Array): SignatureReport {
  const macho = parseMachO(bytes);
  const report: SignatureReport = { ok: false, cpu: macho.cpu, fileSize: bytes.length, blobs: [], codeDirectories: [], pages: 0, problems: [], notes: [] };
  const sig = macho.codeSignature;
  if (!sig) {
    report.problems.push("no LC_CODE_SIGNATURE: the binary is unsigned");
    return report;
  }
  report.signatureOffset = sig.offset;
  report.signatureSize = sig.size;
  try {
    checkLayout(macho, bytes, report.problems);
    const superBlob = parseSuperBlob(bytes, sig.offset, sig.size);
    report.blobs = superBlob.blobs.map(({ slot, magic, length }) => ({ slot, magic, length }));
    const directories: CodeDirectory[] = [];
    // Blobs a CodeDirectory binds through its special slots, by slot number (requirements 2, entitlements 5, ...).
    const bound = new Map<number, Uint8Array>();
    for (const blob of superBlob.blobs) {
      const isAlternate = blob.slot >= CSSLOT_ALTERNATE_CODEDIRECTORIES && blob.slot < CSSLOT_ALTERNATE_CODEDIRECTORIES + CSSLOT_ALTERNATE_CODEDIRECTORY_MAX;
      if (blob.slot === CSSLOT_CODEDIRECTORY || isAlternate) directories.push(parseCodeDirectory(bytes, blob));
      else if (blob.slot === CSSLOT_SIGNATURESLOT) {
        if (blob.magic !== CSMAGIC_BLOBWRAPPER) report.problems.push(`signature slot holds magic 0x${blob.magic.toString(16)}, not a blob wrapper`);
        // An ad hoc `codesign -s -` leaves an empty wrapper; a filled one is a CMS signature over the CodeDirectory.
        else if (blob.length > 8) report.notes.push(`CMS signature (${blob.length} bytes) present: its certificate chain is not checked here`);
      } else if (blob.slot > CSSLOT_SIGNATURESLOT) {
        // Outside the CodeDirectory's reach by design, e.g. a notarization ticket (0x10002).
        report.notes.push(`blob ${slotName(blob.slot)} (${blob.length} bytes) is not covered by the CodeDirectory; not checked`);
      } else bound.set(blob.slot, bytes.subarray(blob.offset, blob.offset + blob.length));
    }
    if (!directories.some((cd) => cd.slot === CSSLOT_CODEDIRECTORY)) report.problems.push("the signature has no CodeDirectory");
    for (const cd of directories) {
      const cdReport = checkCodeDirectory(bytes, cd, bound, sig.offset, report.problems, report.notes);
      report.codeDirectories.push(cdReport);
      report.pages += cdReport.pages;
    }
  } catch (err) {
    if (!(err instanceof CodeSignatureError)) throw err;
    report.problems.push(err.message);
  }
  report.ok = report.problems.length === 0;
  return report;
}

/** One line for a check script: what was checked and, if it failed, why. */
export function describeSignature(report: SignatureReport): string {
  if (!report.ok) return `code signature INVALID: ${report.problems.join("; ")}`;
  const cds = report.codeDirectories.map((cd) => `${cd.hashType} ${cd.pageSize}-byte pages, flags ${cd.flagNames}, identifier "${cd.identifier}"`);
  return `code signature valid: ${report.pages} page hashes match (${cds.join(" + ")})`;
}

export interface AdhocSignOptions {
  /** The CodeDirectory's identifier; Bun writes "a.out" (what `codesign -s -` writes is the file name). */
  identifier?: string;
}

/** The parts of the file the new signature will sit among. */
interface SignPlan {
  macho: MachO;
  /** Where the signature goes: it covers [0, sigOffset). */
  sigOffset: number;
  /** Bytes of the input to keep (the rest up to sigOffset is zero padding). */
  keep: number;
  addCommand: boolean;
}

function planSignature(bytes: Uint8Array): SignPlan {
  const macho = parseMachO(bytes);
  const { linkedit, text, codeSignature } = macho;
  if (!linkedit) throw new MachOError("no __LINKEDIT segment to hold a signature");
  if (!text) throw new MachOError("no __TEXT segment");
  const linkeditEnd = linkedit.fileoff + linkedit.filesize;
  for (const seg of macho.segments) {
    if (seg !== linkedit && seg.filesize > 0 && seg.fileoff + seg.filesize > linkedit.fileoff) {
      throw new MachOError(`segment ${seg.name} lies after __LINKEDIT's start; the signature must be the file's last part`);
    }
  }
  if (bytes.length > linkeditEnd) throw new MachOError(`${bytes.length - linkeditEnd} bytes after __LINKEDIT (appended data?) would be lost`);

  // A signature that is already there keeps its place (Bun's and the linker's choice); a new one goes after the
  // rest of __LINKEDIT, 16-byte aligned as ld does.
  const sigOffset = codeSignature ? codeSignature.offset : roundUp(linkeditEnd, 16);
  const keep = codeSignature ? codeSignature.offset : linkeditEnd;
  for (const r of macho.linkeditRanges) {
    if (r !== codeSignature && r.size > 0 && r.offset + r.size > keep) throw new MachOError(`${r.what} lies after the code signature's start`);
  }
  if (codeSignature && codeSignature.offset + codeSignature.size !== linkeditEnd) {
    throw new MachOError(`the code signature ends at ${codeSignature.offset + codeSignature.size}, not at the end of __LINKEDIT (${linkeditEnd})`);
  }
  if (!codeSignature) {
    const commandsEnd = MACH_HEADER_64_SIZE + macho.sizeofcmds;
    if (commandsEnd + 16 > macho.firstSectionOffset || !bytes.subarray(commandsEnd, commandsEnd + 16).every((b) => b === 0)) {
      throw new MachOError("no free room after the load commands for an LC_CODE_SIGNATURE");
    }
  }
  return { macho, sigOffset, keep, addCommand: !codeSignature };
}

/**
 * Signs a thin 64-bit Mach-O ad hoc, replacing any signature it has: one SHA-256 CodeDirectory (version 0x20400,
 * flags adhoc|linker-signed, 4 KiB pages, no special slots) in a SuperBlob of exactly its size, as Bun 1.4.5 signs
 * darwin-arm64 binaries. LC_CODE_SIGNATURE and __LINKEDIT are resized to fit; an unsigned file gets the command.
 */
export function adhocSign(bytes: Uint8Array, options: AdhocSignOptions = {}): Uint8Array {
  const { macho, sigOffset, keep, addCommand } = planSignature(bytes);
  const identifier = new TextEncoder().encode(`${options.identifier ?? "a.out"}\0`);
  if (identifier.length === 1 || identifier.indexOf(0) !== identifier.length - 1) throw new CodeSignatureError("identifier must be non-empty and contain no NUL");
  if (sigOffset > 0xffffffff) throw new CodeSignatureError(`the file is too large (${sigOffset} bytes) for a 32-bit codeLimit`);

  const pageSize = 4096;
  const hashSize = 32;
  const nCodeSlots = Math.ceil(sigOffset / pageSize);
  const cdHeader = 88; // CodeDirectory version 0x20400: up to execSegFlags
  const hashOffset = cdHeader + identifier.length;
  const cdLength = hashOffset + nCodeSlots * hashSize;
  const sigSize = 12 + 8 + cdLength; // SuperBlob header, one index entry, the CodeDirectory

  const out = new Uint8Array(sigOffset + sigSize);
  out.set(bytes.subarray(0, keep));
  const le = new DataView(out.buffer);

  // Load commands first: page 0 holds them, so they must be final before it is hashed.
  const linkedit = macho.linkedit!;
  const linkeditFilesize = sigOffset + sigSize - linkedit.fileoff;
  const linkeditVmsize = roundUp(linkeditFilesize, LINKEDIT_VM_ALIGN);
  for (const seg of macho.segments) {
    if (seg !== linkedit && seg.vmaddr > linkedit.vmaddr && linkedit.vmaddr + linkeditVmsize > seg.vmaddr) {
      throw new MachOError(`__LINKEDIT grown to ${linkeditVmsize} bytes would overlap segment ${seg.name} in memory`);
    }
  }
  le.setBigUint64(linkedit.commandOffset + 32, BigInt(linkeditVmsize), true);
  le.setBigUint64(linkedit.commandOffset + 48, BigInt(linkeditFilesize), true);
  let csCommand = macho.codeSignature?.commandOffset;
  if (addCommand) {
    csCommand = MACH_HEADER_64_SIZE + macho.sizeofcmds;
    le.setUint32(csCommand, LC_CODE_SIGNATURE, true);
    le.setUint32(csCommand + 4, 16, true);
    le.setUint32(16, macho.ncmds + 1, true);
    le.setUint32(20, macho.sizeofcmds + 16, true);
  }
  le.setUint32(csCommand! + 8, sigOffset, true);
  le.setUint32(csCommand! + 12, sigSize, true);

  const be = new DataView(out.buffer, sigOffset);
  be.setUint32(0, CSMAGIC_EMBEDDED_SIGNATURE);
  be.setUint32(4, sigSize);
  be.setUint32(8, 1);
  be.setUint32(12, CSSLOT_CODEDIRECTORY);
  be.setUint32(16, 20);
  const cd = 20;
  be.setUint32(cd, CSMAGIC_CODEDIRECTORY);
  be.setUint32(cd + 4, cdLength);
  be.setUint32(cd + 8, 0x20400);
  be.setUint32(cd + 12, CS_ADHOC | CS_LINKER_SIGNED);
  be.setUint32(cd + 16, hashOffset);
  be.setUint32(cd + 20, cdHeader); // identifier right after the header
  be.setUint32(cd + 24, 0); // no special slots: no requirements, entitlements or Info.plist
  be.setUint32(cd + 28, nCodeSlots);
  be.setUint32(cd + 32, sigOffset);
  be.setUint8(cd + 36, hashSize);
  be.setUint8(cd + 37, CS_HASHTYPE_SHA256);
  be.setUint8(cd + 38, 0); // platform
  be.setUint8(cd + 39, Math.log2(pageSize));
  // spare2, scatterOffset, teamOffset, spare3 and codeLimit64 stay zero.
  const text = macho.text!;
  be.setBigUint64(cd + 64, BigInt(text.fileoff));
  be.setBigUint64(cd + 72, BigInt(roundUp(text.filesize, pageSize)));
  be.setBigUint64(cd + 80, BigInt(macho.filetype === MH_EXECUTE ? CS_EXECSEG_MAIN_BINARY : 0));
  out.set(identifier, sigOffset + cd + cdHeader);

  const hashes = sigOffset + cd + hashOffset;
  for (let page = 0; page < nCodeSlots; page++) {
    const start = page * pageSize;
    out.set(hashOf("sha256", hashSize, out.subarray(start, Math.min(start + pageSize, sigOffset))), hashes + page * hashSize);
  }
  return out;
}

/**
 * Removes the embedded signature (like `codesign --remove-signature`): drops LC_CODE_SIGNATURE, cuts the file at the
 * signature and shrinks __LINKEDIT to match. Only for a signature that is the file's last part.
 */
export function stripCodeSignature(bytes: Uint8Array): Uint8Array {
  const macho = parseMachO(bytes);
  const sig = macho.codeSignature;
  if (!sig) throw new MachOError("no LC_CODE_SIGNATURE to remove");
  const linkedit = macho.linkedit!;
  if (sig.offset + sig.size !== linkedit.fileoff + linkedit.filesize || bytes.length !== sig.offset + sig.size) {
    throw new MachOError("the code signature is not the last part of the file");
  }
  // A copy, not a view: Buffer's slice() would share memory with the caller's bytes.
  const out = new Uint8Array(sig.offset);
  out.set(bytes.subarray(0, sig.offset));
  const le = new DataView(out.buffer);
  const commandsEnd = MACH_HEADER_64_SIZE + macho.sizeofcmds;
  // Later commands move up over the removed one; the freed 16 bytes become padding again.
  out.copyWithin(sig.commandOffset, sig.commandOffset + 16, commandsEnd);
  out.fill(0, commandsEnd - 16, commandsEnd);
  le.setUint32(16, macho.ncmds - 1, true);
  le.setUint32(20, macho.sizeofcmds - 16, true);
  // Segment commands before the removed one keep their offsets; those after it moved up 16 bytes.
  const linkeditCommand = linkedit.commandOffset > sig.commandOffset ? linkedit.commandOffset - 16 : linkedit.commandOffset;
  le.setBigUint64(linkeditCommand + 48, BigInt(sig.offset - linkedit.fileoff), true);
  return out;
}
