import { SECTOR_SIZE, type ImageFormat } from '../block-image.js';
import { badRequest } from '../errors.js';
import type { ImageFile } from '../file.js';
import {
  DEFAULT_CLUSTER_BITS,
  MAX_BACKING_NAME,
  MAX_CLUSTER_BITS,
  MIN_CLUSTER_BITS,
  V3_HEADER_LENGTH,
  l1SizeFor,
  writeHeader,
  type Qcow2Header,
} from './format.js';

export interface Qcow2CreateOptions {
  /** Virtual disk size in bytes, a multiple of 512. */
  size: number;
  clusterBits?: number;
  /** log2 of the refcount width in bits (4 = 16-bit refcounts, QEMU's default). */
  refcountOrder?: number;
  /** Backing file name as stored in the image (relative names resolve against the image's directory). */
  backingFile?: string;
  /** Format of the backing file, recorded in a header extension; null or absent records none. */
  backingFormat?: ImageFormat | string | null;
}

/**
 * Writes an empty qcow2 v3 image into `file`: header, refcount table, refcount blocks, an L1
 * table of zeros; every one of those clusters counted once. The file is synced.
 */
export async function writeEmptyQcow2(file: ImageFile, options: Qcow2CreateOptions): Promise<void> {
  const clusterBits = options.clusterBits ?? DEFAULT_CLUSTER_BITS;
  const refcountOrder = options.refcountOrder ?? 4;
  const { size } = options;
  if (!Number.isInteger(clusterBits) || clusterBits < MIN_CLUSTER_BITS || clusterBits > MAX_CLUSTER_BITS) {
    throw badRequest(`cluster size must be a power of two from 512 bytes to 2 MiB`);
  }
  if (!Number.isInteger(refcountOrder) || refcountOrder < 0 || refcountOrder > 6) {
    throw badRequest(`refcount order must be 0..6`);
  }
  if (!Number.isSafeInteger(size) || size <= 0 || size % SECTOR_SIZE !== 0) {
    throw badRequest(`image size must be a positive multiple of ${SECTOR_SIZE} bytes, got ${size}`);
  }
  const cs = 2 ** clusterBits;
  const l1Size = l1SizeFor(size, clusterBits);
  if (l1Size * 8 > 32 << 20) throw badRequest(`image size ${size} is too large for ${cs}-byte clusters`);
  const name = options.backingFile === undefined ? null : new TextEncoder().encode(options.backingFile);
  if (name !== null) {
    if (name.length === 0 || name.length > MAX_BACKING_NAME) {
      throw badRequest(`backing file name must be 1..${MAX_BACKING_NAME} bytes`);
    }
    const fmt = options.backingFormat ?? '';
    const needed = V3_HEADER_LENGTH + (fmt ? 8 + Math.ceil(fmt.length / 8) * 8 : 0) + 8 + name.length;
    if (needed > cs) throw badRequest(`backing file name does not fit in a ${cs}-byte header cluster`);
  }

  const perBlock = (cs * 8) / 2 ** refcountOrder;
  const l1Clusters = Math.ceil((l1Size * 8) / cs);
  let tableClusters = 1;
  let blocks = 1;
  for (;;) {
    const total = 1 + tableClusters + blocks + l1Clusters;
    const b = Math.ceil(total / perBlock);
    const t = Math.ceil((b * 8) / cs);
    if (b === blocks && t === tableClusters) break;
    blocks = b;
    tableClusters = t;
  }
  const total = 1 + tableClusters + blocks + l1Clusters;
  const image = new Uint8Array(total * cs);
  const view = new DataView(image.buffer);
  const tableAt = 1;
  const blocksAt = tableAt + tableClusters;
  const l1At = blocksAt + blocks;
  const header: Qcow2Header = {
    version: 3,
    backingFileOffset: 0,
    backingFileSize: 0,
    clusterBits,
    size,
    cryptMethod: 0,
    l1Size,
    l1TableOffset: l1At * cs,
    refcountTableOffset: tableAt * cs,
    refcountTableClusters: tableClusters,
    nbSnapshots: 0,
    snapshotsOffset: 0,
    incompatibleFeatures: 0n,
    compatibleFeatures: 0n,
    autoclearFeatures: 0n,
    refcountOrder,
    headerLength: V3_HEADER_LENGTH,
    compressionType: 0,
    extensions: [],
    backingFile: options.backingFile ?? null,
    backingFormat: options.backingFile === undefined ? null : (options.backingFormat ?? null),
  };
  writeHeader(header, image.subarray(0, cs));
  for (let b = 0; b < blocks; b++) view.setBigUint64(tableAt * cs + b * 8, BigInt((blocksAt + b) * cs));
  const bits = 2 ** refcountOrder;
  for (let c = 0; c < total; c++) {
    // Refcount 1 in a big-endian field of `bits` bits (sub-byte widths fill from bit 0 up).
    const bit = c * bits;
    const at = blocksAt * cs + Math.floor(bit / 8);
    if (bits >= 8) image[at + bits / 8 - 1] = 1;
    else image[at] |= 1 << (bit % 8);
  }
  await file.write(0, image);
  await file.datasync();
}
