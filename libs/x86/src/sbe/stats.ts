/**
 * Counters of the Scan-Before-Execute core, plain numeric fields so that counting costs one increment.
 * The last two belong to the CPU: it adds the instructions it ran from blocks and the exits it took to
 * the monitor, so the fast-path share is `fastPathInstructions / (fastPathInstructions + monitorExits)`.
 */
export class SbeStats {
  /** Scanned pages (physical page × mode) created. */
  pagesScanned = 0;
  /** Blocks scanned (each lookup miss that produced a block). */
  blocksScanned = 0;
  /** Instructions decoded into blocks. */
  instructionsScanned = 0;
  /** Bytes covered by scanned blocks. */
  bytesScanned = 0;
  /** Lookups answered from the cache. */
  hits = 0;
  /** Lookups that had to scan. */
  misses = 0;
  /** Writes that touched a 128-byte chunk holding code and had to be looked at closely. */
  codeWrites = 0;
  /** Blocks dropped because memory under them was written (CPU, DMA or debugger). */
  invalidations = 0;
  /** Blocks dropped because a breakpoint was set or cleared on them. */
  breakpointDrops = 0;
  /** Scanned pages evicted to keep the cache within its bounds. */
  evictions = 0;
  /** Blocks dropped with evicted pages. */
  evictedBlocks = 0;
  /** Blocks dropped by explicit flushes (`flush`, `dropCrossPageBlocks`). */
  flushedBlocks = 0;
  /** Instructions the CPU ran from blocks without the monitor. */
  fastPathInstructions = 0;
  /** Exits from the fast path to the monitor (sensitive, privileged, faults, I/O ...). */
  monitorExits = 0;

  /** Sets every counter to zero. */
  reset(): void {
    this.pagesScanned = 0;
    this.blocksScanned = 0;
    this.instructionsScanned = 0;
    this.bytesScanned = 0;
    this.hits = 0;
    this.misses = 0;
    this.codeWrites = 0;
    this.invalidations = 0;
    this.breakpointDrops = 0;
    this.evictions = 0;
    this.evictedBlocks = 0;
    this.flushedBlocks = 0;
    this.fastPathInstructions = 0;
    this.monitorExits = 0;
  }
}
