/**
 * The qcow2 on-disk format (QEMU docs/interop/qcow2.txt), versions 2 and 3. All integers are
 * big-endian. Offsets in the file stay below 2^53, so they are plain numbers here.
 */
import { corrupt, unsupported } from '../errors.js';

export const QCOW2_MAGIC = 0x514649fb; // "QFI\xfb"
export const V2_HEADER_LENGTH = 72;
/** The v3 header as QEMU writes it: 104 bytes of fields, the compression type byte, padding to 8. */
export const V3_HEADER_LENGTH = 112;
export const MIN_CLUSTER_BITS = 9;
export const MAX_CLUSTER_BITS = 21;
export const DEFAULT_CLUSTER_BITS = 16;
export const MAX_BACKING_NAME = 1023;
/** QEMU's limits on table sizes; larger values in a header are treated as corruption. */
export const MAX_L1_BYTES = 32 << 20;
export const MAX_REFTABLE_BYTES = 8 << 20;

/** Header field offsets that are rewritten in place. */
export const HEADER_REFTABLE_OFFSET = 48;
export const HEADER_INCOMPATIBLE = 72;
export const HEADER_AUTOCLEAR = 88;

export const INCOMPAT_DIRTY = 1n << 0n;
export const INCOMPAT_CORRUPT = 1n << 1n;
export const INCOMPAT_DATA_FILE = 1n << 2n;
export const INCOMPAT_COMPRESSION = 1n << 3n;
export const INCOMPAT_EXTL2 = 1n << 4n;
export const AUTOCLEAR_BITMAPS = 1n << 0n;

export const EXT_END = 0;
export const EXT_BACKING_FORMAT = 0xe2792aca;
export const EXT_FEATURE_NAMES = 0x6803f857;
export const EXT_BITMAPS = 0x23852875;

/** L1/L2 entry bits, in the high and low 32-bit halves of the 64-bit entry. */
export const HI_COPIED = 0x80000000;
export const HI_COMPRESSED = 0x40000000;
export const HI_OFFSET_MASK = 0x00ffffff;
export const LO_OFFSET_MASK = 0xfffffe00;
export const LO_ZERO = 1;
/** Bits that must be clear in a standard L2 entry: 1-8 and 56-61. */
export const L2_LO_RESERVED = 0x1fe;
export const L2_HI_RESERVED = 0x3f000000;
/** Bits that must be clear in an L1 entry: 0-8 and 56-62. */
export const L1_LO_RESERVED = 0x1ff;
export const L1_HI_RESERVED = 0x7f000000;
const TWO_32 = 0x100000000;

export interface HeaderExtension {
  readonly type: number;
  readonly data: Uint8Array;
}

export interface Qcow2Header {
  version: 2 | 3;
  backingFileOffset: number;
  backingFileSize: number;
  clusterBits: number;
  size: number;
  cryptMethod: number;
  l1Size: number;
  l1TableOffset: number;
  refcountTableOffset: number;
  refcountTableClusters: number;
  nbSnapshots: number;
  snapshotsOffset: number;
  incompatibleFeatures: bigint;
  compatibleFeatures: bigint;
  autoclearFeatures: bigint;
  refcountOrder: number;
  headerLength: number;
  compressionType: number;
  extensions: HeaderExtension[];
  backingFile: string | null;
  backingFormat: string | null;
}

export function hostOffset(hi: number, lo: number): number {
  return (hi & HI_OFFSET_MASK) * TWO_32 + ((lo & LO_OFFSET_MASK) >>> 0);
}

export function entryHi(offset: number, flags: number): number {
  return (Math.floor(offset / TWO_32) | flags) >>> 0;
}

export function entryLo(offset: number, flags: number): number {
  return ((offset % TWO_32) | flags) >>> 0;
}

/** Entries per L2 table: a cluster of 8-byte entries. */
export function l2Entries(clusterBits: number): number {
  return 1 << (clusterBits - 3);
}

/** The L1 size a disk of `size` bytes needs. */
export function l1SizeFor(size: number, clusterBits: number): number {
  const bytesPerL2 = 2 ** (clusterBits * 2 - 3);
  return Math.ceil(size / bytesPerL2);
}

function u64(view: DataView, at: number, path: string, field: string): number {
  const v = view.getBigUint64(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt(path, `${field} ${v} is out of range`);
  return Number(v);
}

/** Parses and validates the header in the first cluster of a file (`bytes` holds at least 4 KiB or the whole file). */
export function parseHeader(path: string, bytes: Uint8Array, fileSize: number): Qcow2Header {
  if (bytes.length < V2_HEADER_LENGTH || fileSize < V2_HEADER_LENGTH) {
    throw corrupt(path, `file is too short (${fileSize} bytes) for a qcow2 header`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0) !== QCOW2_MAGIC) throw corrupt(path, 'not a qcow2 image (bad magic)');
  const version = view.getUint32(4);
  if (version !== 2 && version !== 3) throw unsupported(path, `qcow2 version ${version} is not supported`);
  const clusterBits = view.getUint32(20);
  if (clusterBits < MIN_CLUSTER_BITS || clusterBits > MAX_CLUSTER_BITS) {
    throw corrupt(path, `cluster_bits ${clusterBits} is outside ${MIN_CLUSTER_BITS}..${MAX_CLUSTER_BITS}`);
  }
  const clusterSize = 1 << clusterBits;
  const h: Qcow2Header = {
    version,
    backingFileOffset: u64(view, 8, path, 'backing_file_offset'),
    backingFileSize: view.getUint32(16),
    clusterBits,
    size: u64(view, 24, path, 'size'),
    cryptMethod: view.getUint32(32),
    l1Size: view.getUint32(36),
    l1TableOffset: u64(view, 40, path, 'l1_table_offset'),
    refcountTableOffset: u64(view, 48, path, 'refcount_table_offset'),
    refcountTableClusters: view.getUint32(56),
    nbSnapshots: view.getUint32(60),
    snapshotsOffset: u64(view, 64, path, 'snapshots_offset'),
    incompatibleFeatures: 0n,
    compatibleFeatures: 0n,
    autoclearFeatures: 0n,
    refcountOrder: 4,
    headerLength: V2_HEADER_LENGTH,
    compressionType: 0,
    extensions: [],
    backingFile: null,
    backingFormat: null,
  };
  if (version === 3) {
    if (bytes.length < 104) throw corrupt(path, 'file is too short for a version 3 header');
    h.incompatibleFeatures = view.getBigUint64(72);
    h.compatibleFeatures = view.getBigUint64(80);
    h.autoclearFeatures = view.getBigUint64(88);
    h.refcountOrder = view.getUint32(96);
    h.headerLength = view.getUint32(100);
    if (h.headerLength < 104) throw corrupt(path, `header_length ${h.headerLength} is below 104`);
    if (h.headerLength > 104) h.compressionType = view.getUint8(104);
  }
  if (h.headerLength > clusterSize || h.headerLength > bytes.length) {
    throw corrupt(path, `header_length ${h.headerLength} does not fit in the first cluster`);
  }
  if (h.refcountOrder > 6) throw corrupt(path, `refcount_order ${h.refcountOrder} is above 6`);
  if (h.cryptMethod !== 0) throw unsupported(path, 'encrypted qcow2 images are not supported');

  const known = INCOMPAT_DIRTY | INCOMPAT_CORRUPT | INCOMPAT_DATA_FILE | INCOMPAT_COMPRESSION | INCOMPAT_EXTL2;
  if (h.incompatibleFeatures & ~known) {
    throw unsupported(path, `unknown incompatible features 0x${h.incompatibleFeatures.toString(16)}`);
  }
  if (h.incompatibleFeatures & INCOMPAT_DATA_FILE) throw unsupported(path, 'external data files are not supported');
  if (h.incompatibleFeatures & INCOMPAT_EXTL2) throw unsupported(path, 'extended L2 entries are not supported');
  if (h.incompatibleFeatures & INCOMPAT_COMPRESSION || h.compressionType !== 0) {
    throw unsupported(path, `compression type ${h.compressionType} is not supported (only zlib)`);
  }

  const aligned = (v: number): boolean => v % clusterSize === 0;
  if (h.size % 512 !== 0) throw corrupt(path, `virtual size ${h.size} is not a multiple of 512`);
  if (h.l1Size * 8 > MAX_L1_BYTES) throw corrupt(path, `L1 table of ${h.l1Size} entries is too large`);
  if (h.l1Size < l1SizeFor(h.size, clusterBits)) {
    throw corrupt(path, `L1 table of ${h.l1Size} entries is too small for ${h.size} bytes`);
  }
  if (h.l1Size > 0 && (!aligned(h.l1TableOffset) || h.l1TableOffset === 0)) {
    throw corrupt(path, `L1 table offset ${h.l1TableOffset} is not cluster aligned`);
  }
  if (!aligned(h.refcountTableOffset) || h.refcountTableOffset === 0) {
    throw corrupt(path, `refcount table offset ${h.refcountTableOffset} is not cluster aligned`);
  }
  if (h.refcountTableClusters === 0 || h.refcountTableClusters * clusterSize > MAX_REFTABLE_BYTES) {
    throw corrupt(path, `refcount table of ${h.refcountTableClusters} clusters is invalid`);
  }
  if (h.nbSnapshots > 0 && !aligned(h.snapshotsOffset)) {
    throw corrupt(path, `snapshot table offset ${h.snapshotsOffset} is not cluster aligned`);
  }
  if (h.l1TableOffset + h.l1Size * 8 > fileSize) {
    throw corrupt(path, `truncated: the L1 table ends past the end of the file (${fileSize} bytes)`);
  }
  if (h.refcountTableOffset + h.refcountTableClusters * clusterSize > fileSize) {
    throw corrupt(path, `truncated: the refcount table ends past the end of the file (${fileSize} bytes)`);
  }

  const extEnd = h.backingFileOffset > 0 ? Math.min(h.backingFileOffset, clusterSize) : clusterSize;
  const extLimit = Math.min(extEnd, bytes.length);
  let at = h.headerLength;
  while (at + 8 <= extLimit) {
    const type = view.getUint32(at);
    const length = view.getUint32(at + 4);
    if (type === EXT_END) break;
    if (at + 8 + length > extLimit) {
      throw corrupt(path, `header extension 0x${type.toString(16)} runs past the first cluster`);
    }
    const data = bytes.slice(at + 8, at + 8 + length);
    h.extensions.push({ type, data });
    if (type === EXT_BACKING_FORMAT) h.backingFormat = new TextDecoder().decode(data);
    at += 8 + Math.ceil(length / 8) * 8;
  }
  if (h.backingFileOffset > 0) {
    if (h.backingFileSize === 0 || h.backingFileSize > MAX_BACKING_NAME) {
      throw corrupt(path, `backing file name length ${h.backingFileSize} is outside 1..${MAX_BACKING_NAME}`);
    }
    const end = h.backingFileOffset + h.backingFileSize;
    if (end > clusterSize || end > bytes.length)
      throw corrupt(path, 'backing file name lies outside the first cluster');
    h.backingFile = new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(h.backingFileOffset, end));
  }
  return h;
}

/** Serialises a new header (with backing format extension and backing name) into `cluster`. */
export function writeHeader(h: Qcow2Header, cluster: Uint8Array): void {
  const view = new DataView(cluster.buffer, cluster.byteOffset, cluster.byteLength);
  cluster.fill(0);
  view.setUint32(0, QCOW2_MAGIC);
  view.setUint32(4, h.version);
  view.setUint32(16, h.backingFileSize);
  view.setUint32(20, h.clusterBits);
  view.setBigUint64(24, BigInt(h.size));
  view.setUint32(32, h.cryptMethod);
  view.setUint32(36, h.l1Size);
  view.setBigUint64(40, BigInt(h.l1TableOffset));
  view.setBigUint64(48, BigInt(h.refcountTableOffset));
  view.setUint32(56, h.refcountTableClusters);
  view.setUint32(60, h.nbSnapshots);
  view.setBigUint64(64, BigInt(h.snapshotsOffset));
  view.setBigUint64(72, h.incompatibleFeatures);
  view.setBigUint64(80, h.compatibleFeatures);
  view.setBigUint64(88, h.autoclearFeatures);
  view.setUint32(96, h.refcountOrder);
  view.setUint32(100, h.headerLength);
  view.setUint8(104, h.compressionType);
  let at = h.headerLength;
  const exts = h.extensions.filter((e) => e.type !== EXT_BACKING_FORMAT);
  if (h.backingFormat !== null) {
    exts.unshift({ type: EXT_BACKING_FORMAT, data: new TextEncoder().encode(h.backingFormat) });
  }
  for (const e of exts) {
    view.setUint32(at, e.type);
    view.setUint32(at + 4, e.data.length);
    cluster.set(e.data, at + 8);
    at += 8 + Math.ceil(e.data.length / 8) * 8;
  }
  view.setUint32(at, EXT_END);
  view.setUint32(at + 4, 0);
  at += 8;
  if (h.backingFile !== null) {
    const name = new TextEncoder().encode(h.backingFile);
    cluster.set(name, at);
    view.setBigUint64(8, BigInt(at));
    view.setUint32(16, name.length);
  } else {
    view.setBigUint64(8, 0n);
    view.setUint32(16, 0);
  }
}
