/**
 * The embedded code signature's structures (Apple's cs_blobs.h layout, all big-endian): the SuperBlob that
 * LC_CODE_SIGNATURE points at, its index of blobs, and the CodeDirectory blobs that hold one hash per code page.
 * Reading only: every offset is checked against the blob it lives in and a bad one is a CodeSignatureError.
 */

export class CodeSignatureError extends Error {
  override name = "CodeSignatureError";
}

export const CSMAGIC_EMBEDDED_SIGNATURE = 0xfade0cc0;
export const CSMAGIC_CODEDIRECTORY = 0xfade0c02;
export const CSMAGIC_REQUIREMENTS = 0xfade0c01;
export const CSMAGIC_EMBEDDED_ENTITLEMENTS = 0xfade7171;
export const CSMAGIC_EMBEDDED_DER_ENTITLEMENTS = 0xfade7172;
export const CSMAGIC_BLOBWRAPPER = 0xfade0b01;

export const CSSLOT_CODEDIRECTORY = 0;
export const CSSLOT_INFOSLOT = 1;
export const CSSLOT_RESOURCEDIR = 3;
export const CSSLOT_ALTERNATE_CODEDIRECTORIES = 0x1000;
export const CSSLOT_ALTERNATE_CODEDIRECTORY_MAX = 5;
export const CSSLOT_SIGNATURESLOT = 0x10000;

export const CS_ADHOC = 0x2;
export const CS_RUNTIME = 0x10000;
export const CS_LINKER_SIGNED = 0x20000;
export const CS_EXECSEG_MAIN_BINARY = 0x1;

export const CS_HASHTYPE_SHA1 = 1;
export const CS_HASHTYPE_SHA256 = 2;

/** CodeDirectory hash types: node:crypto's name for each and the length of a slot. */
export const HASH_TYPES: Record<number, { name: string; algorithm: string; size: number }> = {
  1: { name: "SHA-1", algorithm: "sha1", size: 20 },
  2: { name: "SHA-256", algorithm: "sha256", size: 32 },
  3: { name: "SHA-256/160", algorithm: "sha256", size: 20 },
  4: { name: "SHA-384", algorithm: "sha384", size: 48 },
};

/** The CodeDirectory header's size for each version that added fields (scatter, team, codeLimit64, execSeg, runtime, linkage). */
const CD_HEADER_SIZES: [version: number, size: number][] = [
  [0x20600, 108],
  [0x20500, 96],
  [0x20400, 88],
  [0x20300, 64],
  [0x20200, 52],
  [0x20100, 48],
  [0x20001, 44],
];

export function codeDirectoryHeaderSize(version: number): number {
  const found = CD_HEADER_SIZES.find(([v]) => version >= v);
  if (!found) throw new CodeSignatureError(`CodeDirectory version 0x${version.toString(16)} is older than any known`);
  return found[1];
}

export const FLAG_NAMES: [number, string][] = [
  [0x1, "valid"],
  [CS_ADHOC, "adhoc"],
  [0x100, "hard"],
  [0x200, "kill"],
  [0x800, "restrict"],
  [0x1000, "enforcement"],
  [0x2000, "library-validation"],
  [CS_RUNTIME, "runtime"],
  [CS_LINKER_SIGNED, "linker-signed"],
];

export function flagNames(flags: number): string {
  const names = FLAG_NAMES.filter(([bit]) => (flags & bit) !== 0).map(([, name]) => name);
  const known = FLAG_NAMES.reduce((all, [bit]) => all | bit, 0);
  if (flags & ~known) names.push(`0x${(flags & ~known).toString(16)}`);
  return names.length ? names.join(",") : "none";
}

export interface BlobEntry {
  /** Slot type from the index: 0 CodeDirectory, 2 requirements, 5 entitlements, 0x1000+ alternate CDs, ... */
  slot: number;
  /** File offset of the blob. */
  offset: number;
  magic: number;
  length: number;
}

export interface SuperBlob {
  offset: number;
  length: number;
  blobs: BlobEntry[];
}

export interface CodeDirectory {
  slot: number;
  /** File offset of the blob. */
  offset: number;
  length: number;
  version: number;
  flags: number;
  /** Offset of hash slot 0 from the blob's start; special slot -k is k slots before it. */
  hashOffset: number;
  nSpecialSlots: number;
  nCodeSlots: number;
  /** Bytes of the file the code slots cover; codeLimit64 where the version has it and it is set. */
  codeLimit: number;
  hashSize: number;
  hashType: number;
  platform: number;
  /** log2 of the page size; 0 means one page for everything up to codeLimit. */
  pageSizeLog2: number;
  identifier: string;
  teamId?: string;
  execSegBase?: number;
  execSegLimit?: number;
  execSegFlags?: number;
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function cStringWithin(bytes: Uint8Array, at: number, end: number, what: string): string {
  let i = at;
  while (i < end && bytes[i] !== 0) i++;
  if (i >= end) throw new CodeSignatureError(`${what} is not NUL-terminated inside its CodeDirectory`);
  return new TextDecoder().decode(bytes.subarray(at, i));
}

/** Reads the SuperBlob at `offset` (LC_CODE_SIGNATURE's range) and the header of every blob it indexes. */
export function parseSuperBlob(bytes: Uint8Array, offset: number, size: number): SuperBlob {
  const v = view(bytes);
  if (size < 12) throw new CodeSignatureError(`signature area is only ${size} bytes`);
  const magic = v.getUint32(offset, false);
  if (magic !== CSMAGIC_EMBEDDED_SIGNATURE) {
    throw new CodeSignatureError(`signature area does not start with an embedded-signature SuperBlob (magic 0x${magic.toString(16)})`);
  }
  const length = v.getUint32(offset + 4, false);
  const count = v.getUint32(offset + 8, false);
  if (length > size) throw new CodeSignatureError(`SuperBlob claims ${length} bytes but LC_CODE_SIGNATURE gives ${size}`);
  if (12 + count * 8 > length) throw new CodeSignatureError(`SuperBlob index of ${count} entries does not fit its ${length} bytes`);
  const blobs: BlobEntry[] = [];
  for (let i = 0; i < count; i++) {
    const slot = v.getUint32(offset + 12 + i * 8, false);
    const rel = v.getUint32(offset + 16 + i * 8, false);
    if (rel < 12 + count * 8 || rel + 8 > length) throw new CodeSignatureError(`blob ${i} (slot 0x${slot.toString(16)}) starts outside the SuperBlob`);
    const blobLength = v.getUint32(offset + rel + 4, false);
    if (blobLength < 8 || rel + blobLength > length) {
      throw new CodeSignatureError(`blob ${i} (slot 0x${slot.toString(16)}) of ${blobLength} bytes runs past the SuperBlob`);
    }
    blobs.push({ slot, offset: offset + rel, magic: v.getUint32(offset + rel, false), length: blobLength });
  }
  return { offset, length, blobs };
}

/** Reads a CodeDirectory blob's header and checks that its identifier and hash slots lie inside it. */
export function parseCodeDirectory(bytes: Uint8Array, blob: BlobEntry): CodeDirectory {
  const v = view(bytes);
  const at = blob.offset;
  const name = `CodeDirectory (slot 0x${blob.slot.toString(16)})`;
  if (blob.magic !== CSMAGIC_CODEDIRECTORY) throw new CodeSignatureError(`${name} has magic 0x${blob.magic.toString(16)}`);
  if (blob.length < 44) throw new CodeSignatureError(`${name} is only ${blob.length} bytes`);
  const version = v.getUint32(at + 8, false);
  const headerSize = codeDirectoryHeaderSize(version);
  if (blob.length < headerSize) throw new CodeSignatureError(`${name} version 0x${version.toString(16)} needs ${headerSize} bytes, has ${blob.length}`);
  const end = at + blob.length;
  const cd: CodeDirectory = {
    slot: blob.slot,
    offset: at,
    length: blob.length,
    version,
    flags: v.getUint32(at + 12, false),
    hashOffset: v.getUint32(at + 16, false),
    nSpecialSlots: v.getUint32(at + 24, false),
    nCodeSlots: v.getUint32(at + 28, false),
    codeLimit: v.getUint32(at + 32, false),
    hashSize: v.getUint8(at + 36),
    hashType: v.getUint8(at + 37),
    platform: v.getUint8(at + 38),
    pageSizeLog2: v.getUint8(at + 39),
    identifier: "",
  };
  const identOffset = v.getUint32(at + 20, false);
  if (identOffset < headerSize || identOffset >= blob.length) throw new CodeSignatureError(`${name} identifier offset ${identOffset} is outside it`);
  cd.identifier = cStringWithin(bytes, at + identOffset, end, `${name} identifier`);
  if (version >= 0x20200) {
    const teamOffset = v.getUint32(at + 48, false);
    if (teamOffset !== 0) {
      if (teamOffset < headerSize || teamOffset >= blob.length) throw new CodeSignatureError(`${name} team offset ${teamOffset} is outside it`);
      cd.teamId = cStringWithin(bytes, at + teamOffset, end, `${name} team id`);
    }
  }
  if (version >= 0x20300) {
    const codeLimit64 = v.getBigUint64(at + 56, false);
    if (codeLimit64 > BigInt(Number.MAX_SAFE_INTEGER)) throw new CodeSignatureError(`${name} codeLimit64 is too large`);
    if (codeLimit64 !== 0n) cd.codeLimit = Number(codeLimit64);
  }
  if (version >= 0x20400) {
    cd.execSegBase = Number(v.getBigUint64(at + 64, false));
    cd.execSegLimit = Number(v.getBigUint64(at + 72, false));
    cd.execSegFlags = Number(v.getBigUint64(at + 80, false));
  }
  const hashType = HASH_TYPES[cd.hashType];
  if (!hashType) throw new CodeSignatureError(`${name} uses unknown hash type ${cd.hashType}`);
  if (cd.hashSize !== hashType.size) throw new CodeSignatureError(`${name}: hash size ${cd.hashSize} does not match ${hashType.name} (${hashType.size})`);
  const firstSlot = cd.hashOffset - cd.nSpecialSlots * cd.hashSize;
  const slotsEnd = cd.hashOffset + cd.nCodeSlots * cd.hashSize;
  if (firstSlot < headerSize || slotsEnd > blob.length) {
    throw new CodeSignatureError(
      `${name}: ${cd.nSpecialSlots} special + ${cd.nCodeSlots} code slots at offset ${cd.hashOffset} do not fit its ${blob.length} bytes`,
    );
  }
  return cd;
}

/** The stored hash of code slot `index` (negative for special slots) as a view into `bytes`. */
export function slotHash(bytes: Uint8Array, cd: CodeDirectory, index: number): Uint8Array {
  const at = cd.offset + cd.hashOffset + index * cd.hashSize;
  return bytes.subarray(at, at + cd.hashSize);
}
