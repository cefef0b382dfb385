import { constants, inflateRawSync } from 'node:zlib';
import { corrupt } from '../errors.js';

/** Where a compressed cluster's deflate stream lies in the file. */
export interface CompressedExtent {
  offset: number;
  length: number;
}

/**
 * Decodes a compressed L2 entry: with x = 62 - (cluster_bits - 8), bits 0..x-1 hold the host
 * byte offset and bits x..61 the number of additional 512-byte sectors the stream spans.
 */
export function compressedExtent(hi: number, lo: number, clusterBits: number): CompressedExtent {
  const entry = (BigInt(hi) << 32n) | BigInt(lo);
  const x = BigInt(62 - (clusterBits - 8));
  const offset = Number(entry & ((1n << x) - 1n));
  const sectors = Number((entry >> x) & ((1n << (62n - x)) - 1n)) + 1;
  return { offset, length: sectors * 512 - (offset & 511) };
}

/** Inflates one cluster; the stream may be followed by padding, which is ignored. */
export function inflateCluster(path: string, stream: Uint8Array, clusterSize: number): Uint8Array {
  let out: Buffer;
  try {
    out = inflateRawSync(stream, { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: clusterSize * 2 });
  } catch (e) {
    throw corrupt(path, `compressed cluster does not inflate: ${(e as Error).message}`);
  }
  if (out.length < clusterSize) {
    throw corrupt(path, `compressed cluster inflates to ${out.length} bytes, expected ${clusterSize}`);
  }
  return new Uint8Array(out.buffer, out.byteOffset, clusterSize);
}
