export { ByteAttr, BLOCK_BITS } from './attribute-page.js';
export { Block, BlockEnd } from './block.js';
export { chunkMask, CodeWriteTracker } from './code-write-tracker.js';
export {
  bitnessOf,
  CHUNK_SHIFT,
  CHUNK_SIZE,
  CodeMode,
  MODE_COUNT,
  PAGE_OFFSET_MASK,
  PAGE_SHIFT,
  PAGE_SIZE,
} from './constants.js';
export { CrossPageWindow, flatNextPage, type NextPageResolver } from './cross-page.js';
export { checkSbeInvariants, SbeInvariantError } from './invariants.js';
export { PageScanner, ScanResult } from './page-scanner.js';
export { ScannedPage } from './scanned-page.js';
export { ScannedPageCache, type ScannedPageCacheOptions } from './scanned-page-cache.js';
export { SbeStats } from './stats.js';
