import { CHUNK_SHIFT, PAGE_SHIFT, PAGE_SIZE } from './constants.js';

/**
 * Mask of the 128-byte chunks that page offsets `lo .. hi-1` touch (0 <= lo < hi <= 4096).
 */
export function chunkMask(lo: number, hi: number): number {
  const first = lo >>> CHUNK_SHIFT;
  const last = (hi - 1) >>> CHUNK_SHIFT;
  // Bits first..last; a shift by 32 is a shift by 0 in JavaScript, hence the explicit full mask.
  const upTo = last === 31 ? 0xffffffff : (1 << (last + 1)) - 1;
  return (upTo & ~((1 << first) - 1)) >>> 0;
}

/**
 * Which 128-byte chunks of each physical page hold scanned code: one 32-bit mask per page (the Bochs
 * page write-stamp table turned around). A mask of 0 means the page has no code, so the write hook
 * costs one typed-array load for the common case.
 */
export class CodeWriteTracker {
  /** Chunk mask per physical page number; 0 for pages without scanned code. */
  readonly masks: Uint32Array;

  /** `storage`, when given, holds the masks (it must have `pageCount` zeroed words). */
  constructor(pageCount: number, storage?: Uint32Array) {
    if (storage !== undefined && storage.length !== pageCount) {
      throw new RangeError(`the code map needs ${pageCount} words, got ${storage.length}`);
    }
    this.masks = storage ?? new Uint32Array(pageCount);
  }

  get pageCount(): number {
    return this.masks.length;
  }

  /** True when the page holds scanned code. */
  hasCode(page: number): boolean {
    return this.masks[page] !== 0 && this.masks[page] !== undefined;
  }

  /**
   * True when a write of `length` bytes at `physAddr` may touch scanned code and must be looked at
   * closely; false for the common case. Addresses outside the tracked pages never hold code.
   */
  mayHitCode(physAddr: number, length: number): boolean {
    const masks = this.masks;
    const first = physAddr >>> PAGE_SHIFT;
    if (length <= 4 && length > 0 && (physAddr & 0xfff) <= 0x1000 - length) return (masks[first] ?? 0) !== 0;
    if (!(length > 0) || !(physAddr >= 0)) return false;
    const end = Math.min(Math.floor((physAddr + length - 1) / PAGE_SIZE), masks.length - 1);
    for (let p = Math.floor(physAddr / PAGE_SIZE); p <= end; p++) if (masks[p] !== 0) return true;
    return false;
  }
}
