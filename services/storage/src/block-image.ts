import { badRequest } from './errors.js';

/** Block requests address the disk in units of 512-byte sectors. */
export const SECTOR_SIZE = 512;

export type ImageFormat = 'raw' | 'qcow2';

/**
 * A disk image as the block layer sees it. Offsets and lengths are in bytes and must be multiples
 * of SECTOR_SIZE; a request must lie inside the virtual size.
 *
 * A write, discard or zero-write resolves only once the data and the metadata that points to it
 * are durable in the image file (fdatasync), so an acknowledged write survives a crash.
 */
export interface BlockImage {
  readonly path: string;
  readonly format: ImageFormat;
  /** Size of the virtual disk in bytes. */
  readonly virtualSize: number;
  readonly readOnly: boolean;
  /** The image reads fall through to where this one has no data, or null. */
  readonly backing: BlockImage | null;
  /** Fills `into` with the disk contents at `offset`. */
  read(offset: number, into: Uint8Array): Promise<void>;
  write(offset: number, data: Uint8Array): Promise<void>;
  /** Makes the range read as zeros. */
  writeZeroes(offset: number, length: number): Promise<void>;
  /** Tells the image the range is unused; its contents become unspecified (zero or older data). */
  discard(offset: number, length: number): Promise<void>;
  /** Makes every completed write durable. */
  flush(): Promise<void>;
  /** Closes this image and its backing chain. */
  close(): Promise<void>;
}

/** Throws a bad-request error unless [offset, offset+length) is sector aligned and inside size. */
export function checkRange(offset: number, length: number, size: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw badRequest(`offset ${offset} and length ${length} must be non-negative integers`);
  }
  if (offset % SECTOR_SIZE !== 0 || length % SECTOR_SIZE !== 0) {
    throw badRequest(`offset ${offset} and length ${length} must be multiples of ${SECTOR_SIZE}`);
  }
  if (offset + length > size) {
    throw badRequest(`range ${offset}+${length} ends past the end of the disk (${size} bytes)`);
  }
}
