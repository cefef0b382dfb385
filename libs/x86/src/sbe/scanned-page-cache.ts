import type { InstructionDecoder } from '../decoder/decoder-api.js';
import type { Instruction } from '../decoder/instruction.js';
import { anyMarked, ByteAttr, clearBlockBits, markBlock } from './attribute-page.js';
import { Block, BlockEnd } from './block.js';
import { chunkMask, CodeWriteTracker } from './code-write-tracker.js';
import { CHUNK_SHIFT, CodeMode, MODE_COUNT, PAGE_OFFSET_MASK, PAGE_SHIFT, PAGE_SIZE } from './constants.js';
import { flatNextPage, type NextPageResolver } from './cross-page.js';
import { InstructionPool } from './instruction-pool.js';
import { checkSbeInvariants } from './invariants.js';
import { PageScanner, ScanResult } from './page-scanner.js';
import { ScannedPage } from './scanned-page.js';
import { SbeStats } from './stats.js';

export interface ScannedPageCacheOptions {
  /** Guest-physical memory (a view the monitor owns; its length is a multiple of 4 KiB). Never written. */
  readonly memory: Uint8Array;
  readonly decoder: InstructionDecoder;
  /** Most scanned pages (physical page × mode) kept; beyond it the least recently used are evicted. Default 1024. */
  readonly maxPages?: number;
  /** Most instruction records held by all blocks together (bounds memory). Default 262144. */
  readonly maxInstructions?: number;
  /** Most instructions in one block (bounds the time between interrupt checks). Default 64. */
  readonly maxBlockInstructions?: number;
  /**
   * Where the code continues after a page; default: the next physical page. With null, no block holds
   * an instruction that crosses a page: blocks stop before it and the CPU fetches it itself.
   */
  readonly nextPage?: NextPageResolver | null;
  /** Check every invariant after each change (slow: for tests and debugging). */
  readonly debug?: boolean;
  /**
   * Storage for the code map (one chunk mask per page of `memory`), e.g. an array the monitor's
   * memory writes check; default: an array of the cache's own.
   */
  readonly codeMap?: Uint32Array;
  /**
   * Called when a page of `memory` gets scanned code (its code map entry turns non-zero), before the
   * lookup that scanned it returns: a CPU that writes RAM directly when its TLB allows it must stop
   * doing so for that page, so that the cache hears of every write to its code.
   */
  readonly onCodePage?: (page: number) => void;
}

const DEFAULT_MAX_PAGES = 1024;
const DEFAULT_MAX_INSTRUCTIONS = 1 << 18;
const DEFAULT_MAX_BLOCK_INSTRUCTIONS = 64;

// Module-local copies for the hot paths: constants whatever a module loader does to imported bindings.
const SHIFT = PAGE_SHIFT;
const SIZE = PAGE_SIZE;
const OFFSET_MASK = PAGE_OFFSET_MASK;
const MODES = MODE_COUNT;

/** Writes up to this many bytes are first checked against the attribute bytes before blocks are searched. */
const SMALL_WRITE = 16;

/**
 * The scanned-page cache: the Scan-Before-Execute core. `lookup(physical address, mode, ip)` returns a
 * ready block of pre-decoded instructions, scanning on a miss; `notifyWrite` is told about every write
 * that may touch code (CPU stores, device DMA, debugger pokes) and drops exactly the blocks whose bytes
 * were written; breakpoints end blocks without touching guest memory.
 *
 * Blocks are keyed by (physical address, {@link CodeMode}) and grouped in scanned pages, bounded by
 * `maxPages` and `maxInstructions` with CLOCK (second-chance) eviction.
 */
export class ScannedPageCache {
  readonly memory: Uint8Array;
  readonly decoder: InstructionDecoder;
  /** Pages of memory. */
  readonly pageCount: number;
  readonly maxPages: number;
  readonly maxInstructions: number;
  readonly maxBlockInstructions: number;
  readonly nextPage: NextPageResolver | null;
  /** Which 128-byte chunks of each physical page hold code. */
  readonly tracker: CodeWriteTracker;
  readonly stats = new SbeStats();
  /** Free instruction records. */
  readonly pool = new InstructionPool();
  /** Check every invariant after each change. */
  debug: boolean;
  /** Scanned pages in memory, in the order the eviction hand visits them. */
  readonly resident: ScannedPage[] = [];
  /**
   * Blocks dropped so far, for any reason: an executor that compiled several blocks into one piece of
   * code checks them again when this moves.
   */
  drops = 0;

  /** (page * MODE_COUNT + mode) to 1 + index in `resident`; 0 when not scanned. */
  private readonly slotOf: Int32Array;
  private readonly masks: Uint32Array;
  private readonly onCodePage: ((page: number) => void) | undefined;
  private readonly scanner: PageScanner;
  private readonly result = new ScanResult();
  /** Handed out for empty blocks that are not cached; refilled by each such lookup. */
  private readonly uncached = new Block();
  private readonly spare: ScannedPage[] = [];
  private readonly breakpointsByPage = new Map<number, Set<number>>();
  /** Pages whose attribute bytes need rebuilding, each at most once. */
  private readonly dirty: ScannedPage[] = [];
  /** Blocks about to be dropped. */
  private readonly doomed: Block[] = [];
  private hand = 0;
  private liveBlocks = 0;
  private liveInstructions = 0;

  constructor(options: ScannedPageCacheOptions) {
    const memory = options.memory;
    if (!(memory instanceof Uint8Array) || memory.length === 0 || memory.length % PAGE_SIZE !== 0) {
      throw new RangeError('SBE memory must be a Uint8Array whose length is a non-zero multiple of 4096');
    }
    this.memory = memory;
    this.decoder = options.decoder;
    this.pageCount = memory.length / PAGE_SIZE;
    this.maxPages = positiveInteger('maxPages', options.maxPages ?? DEFAULT_MAX_PAGES, 2);
    this.maxBlockInstructions = positiveInteger(
      'maxBlockInstructions',
      options.maxBlockInstructions ?? DEFAULT_MAX_BLOCK_INSTRUCTIONS,
      1,
    );
    if (this.maxBlockInstructions > PAGE_SIZE) throw new RangeError('maxBlockInstructions must be at most 4096');
    this.maxInstructions = positiveInteger(
      'maxInstructions',
      options.maxInstructions ?? DEFAULT_MAX_INSTRUCTIONS,
      this.maxBlockInstructions,
    );
    this.nextPage = options.nextPage === undefined ? flatNextPage(this.pageCount) : options.nextPage;
    this.debug = options.debug ?? false;
    this.tracker = new CodeWriteTracker(this.pageCount, options.codeMap);
    this.masks = this.tracker.masks;
    this.onCodePage = options.onCodePage;
    this.slotOf = new Int32Array(this.pageCount * MODE_COUNT);
    this.scanner = new PageScanner(this.decoder, memory, this.pool, this.nextPage, this.maxBlockInstructions);
  }

  /** Live blocks. */
  get blockCount(): number {
    return this.liveBlocks;
  }

  /** Instruction records held by live blocks. */
  get instructionCount(): number {
    return this.liveInstructions;
  }

  /**
   * The block that starts at `physAddr` for code in `mode`, scanning it on a miss for code running at
   * `ip`. Returns null for addresses outside memory (the CPU runs such code on its slow path). A hit
   * costs two typed-array loads and allocates nothing.
   *
   * A block with no instructions asks the CPU to fetch one instruction the slow way: it stands before a
   * breakpoint, an instruction crossing into an unfetchable page, or the top of the IP range. Only the
   * breakpoint kind is cached; the others are one shared record, overwritten by the next such lookup.
   */
  lookup(physAddr: number, mode: CodeMode, ip: number): Block | null {
    const page = physAddr >>> SHIFT;
    if (page >= this.pageCount || (mode !== 0 && mode !== 1)) return this.outside(mode);
    const slot = this.slotOf[page * MODES + mode] as number;
    if (slot !== 0) {
      const sp = this.resident[slot - 1] as ScannedPage;
      const entry = sp.entries[physAddr & OFFSET_MASK] as number;
      if (entry !== 0) {
        const block = sp.blocks[entry - 1] as Block;
        block.hits++;
        sp.referenced = true;
        this.stats.hits++;
        return block;
      }
    }
    return this.miss(physAddr, mode, ip);
  }

  /** The cached block at `physAddr` in `mode`, without scanning or counting (for debuggers and tests). */
  peek(physAddr: number, mode: CodeMode): Block | null {
    const sp = this.scannedPage(physAddr >>> PAGE_SHIFT, mode);
    if (sp === undefined || physAddr < 0) return null;
    const entry = sp.entries[physAddr & PAGE_OFFSET_MASK] as number;
    return entry === 0 ? null : (sp.blocks[entry - 1] as Block);
  }

  /**
   * Tells the SBE that `length` bytes at `physAddr` were (or are about to be) written. When no 4 KiB page
   * the write touches holds code this costs one typed-array load; otherwise blocks covering the written
   * bytes are dropped (their `valid` turns false) and the rest of the page's code stays.
   */
  notifyWrite(physAddr: number, length: number): void {
    if (this.masks[physAddr >>> SHIFT] === 0 && (physAddr & OFFSET_MASK) + length <= SIZE) return;
    this.writeSlow(physAddr, length);
  }

  /** Attribute bits ({@link ByteAttr}) of the byte at `physAddr` scanned in `mode`; 0 when not scanned. */
  attributes(physAddr: number, mode: CodeMode): number {
    const sp = this.scannedPage(physAddr >>> PAGE_SHIFT, mode);
    return sp === undefined || physAddr < 0 ? 0 : (sp.attrs[physAddr & PAGE_OFFSET_MASK] as number);
  }

  /** The scanned page of `page` in `mode`, if resident. */
  scannedPage(page: number, mode: CodeMode): ScannedPage | undefined {
    if (!(page >= 0 && page < this.pageCount) || (mode !== CodeMode.Bits16 && mode !== CodeMode.Bits32)) {
      return undefined;
    }
    const slot = this.slotOf[page * MODE_COUNT + mode] as number;
    return slot === 0 ? undefined : this.resident[slot - 1];
  }

  /** 1 + index in `resident` recorded for (page, mode), 0 for none (for the invariant checker). */
  residentSlot(page: number, mode: CodeMode): number {
    return this.slotOf[page * MODE_COUNT + mode] ?? 0;
  }

  /**
   * Sets a debugger breakpoint on `physAddr`: blocks covering it are dropped, and rescanned blocks end
   * before it. Guest memory is not touched.
   */
  setBreakpoint(physAddr: number): void {
    this.checkAddress(physAddr);
    const page = physAddr >>> PAGE_SHIFT;
    const off = physAddr & PAGE_OFFSET_MASK;
    let set = this.breakpointsByPage.get(page);
    if (set === undefined) {
      set = new Set();
      this.breakpointsByPage.set(page, set);
    }
    if (set.has(off)) return;
    set.add(off);
    this.collect(page, off, off + 1, false);
    this.stats.breakpointDrops += this.dropDoomed();
    for (let mode = 0; mode < MODE_COUNT; mode++) {
      const sp = this.scannedPage(page, mode);
      if (sp !== undefined) sp.attrs[off] = (sp.attrs[off] as number) | ByteAttr.BREAKPOINT;
    }
    this.settle(null);
    if (this.debug) checkSbeInvariants(this);
  }

  /** Removes the breakpoint on `physAddr`, if any; the blocks around it are rescanned when next reached. */
  clearBreakpoint(physAddr: number): void {
    this.checkAddress(physAddr);
    const page = physAddr >>> PAGE_SHIFT;
    const off = physAddr & PAGE_OFFSET_MASK;
    const set = this.breakpointsByPage.get(page);
    if (set === undefined || !set.delete(off)) return;
    if (set.size === 0) this.breakpointsByPage.delete(page);
    this.collect(page, off, off + 1, true);
    this.stats.breakpointDrops += this.dropDoomed();
    for (let mode = 0; mode < MODE_COUNT; mode++) {
      const sp = this.scannedPage(page, mode);
      if (sp !== undefined) sp.attrs[off] = (sp.attrs[off] as number) & ~ByteAttr.BREAKPOINT;
    }
    this.settle(null);
    if (this.debug) checkSbeInvariants(this);
  }

  hasBreakpoint(physAddr: number): boolean {
    return this.breakpointsByPage.get(physAddr >>> PAGE_SHIFT)?.has(physAddr & PAGE_OFFSET_MASK) ?? false;
  }

  /** Every breakpoint, as sorted physical addresses. */
  breakpoints(): number[] {
    const out: number[] = [];
    for (const [page, set] of this.breakpointsByPage) for (const off of set) out.push(page * PAGE_SIZE + off);
    return out.sort((a, b) => a - b);
  }

  /** Breakpoint offsets on a page (for the invariant checker). */
  breakpointOffsets(page: number): ReadonlySet<number> | undefined {
    return this.breakpointsByPage.get(page);
  }

  /** Drops every block (e.g. after loading a snapshot into memory). Breakpoints stay. */
  flush(): void {
    for (const sp of this.resident) {
      for (const b of sp.blocks) if (b !== null) this.doomed.push(b);
    }
    this.stats.flushedBlocks += this.dropDoomed();
    this.settle(null);
    if (this.debug) checkSbeInvariants(this);
  }

  /**
   * Drops every block whose last instruction crosses into another page: the monitor calls this when the
   * linear-to-physical translation changes (CR3 load, INVLPG), because the cross page came from it.
   */
  dropCrossPageBlocks(): void {
    for (const sp of this.resident) for (const b of sp.crossIn) this.doomed.push(b);
    this.stats.flushedBlocks += this.dropDoomed();
    this.settle(null);
    if (this.debug) checkSbeInvariants(this);
  }

  /** Runs the invariant checker now (throws an `SbeInvariantError` naming the first broken invariant). */
  checkInvariants(): void {
    checkSbeInvariants(this);
  }

  private outside(mode: CodeMode): null {
    if (mode !== CodeMode.Bits16 && mode !== CodeMode.Bits32) throw new RangeError(`unknown SBE code mode ${mode}`);
    return null;
  }

  private miss(physAddr: number, mode: CodeMode, ip: number): Block | null {
    if (!Number.isInteger(physAddr) || physAddr < 0) return null;
    this.stats.misses++;
    const page = physAddr >>> PAGE_SHIFT;
    const offset = physAddr & PAGE_OFFSET_MASK;
    const scanIp = mode === CodeMode.Bits16 ? ip & 0xffff : ip >>> 0;
    const sp = this.pageFor(page, mode, null);
    sp.referenced = true;
    const r = this.result;
    this.scanner.scan(physAddr, mode, scanIp, sp.attrs, r);
    if (r.count === 0 && r.endReason !== BlockEnd.Breakpoint) {
      // What stopped the scan depends on the page mapping or the IP, not on these bytes: not cached,
      // and answered with one reused record so that a hot path through here allocates nothing.
      this.releaseIfEmpty(sp);
      const empty = this.uncached;
      empty.physAddr = physAddr;
      empty.mode = mode;
      empty.startIp = scanIp | 0;
      empty.endReason = r.endReason;
      if (this.debug) checkSbeInvariants(this);
      return empty;
    }
    const block = new Block();
    block.physAddr = physAddr;
    block.mode = mode;
    block.startIp = scanIp | 0;
    block.endReason = r.endReason;
    if (this.liveInstructions + r.count > this.maxInstructions) this.makeRoom(r.count, sp);
    this.stats.blocksScanned++;
    this.stats.instructionsScanned += r.count;
    this.stats.bytesScanned += r.byteLength;
    block.instructions = r.records.slice(0, r.count);
    block.count = r.count;
    block.byteLength = r.byteLength;
    block.crossPage = r.crossPage;
    block.writesMemory = r.writesMemory;
    const startEnd = Math.min(offset + r.byteLength, PAGE_SIZE);
    block.startMask = r.byteLength > 0 ? chunkMask(offset, startEnd) : 0;
    block.slot = sp.addBlock(block, offset);
    sp.addChunks(block, block.startMask);
    markBlock(sp.attrs, page, block, offset, Math.max(startEnd, offset + 1));
    this.addToMask(page, block.startMask);
    if (r.crossPage >= 0) {
      const cp = r.crossPage === page ? sp : this.pageFor(r.crossPage, mode, sp);
      const spill = r.byteLength - (PAGE_SIZE - offset);
      block.crossMask = chunkMask(0, spill);
      cp.crossIn.push(block);
      cp.addChunks(block, block.crossMask);
      cp.referenced = true;
      markBlock(cp.attrs, cp.page, block, 0, spill);
      this.addToMask(cp.page, block.crossMask);
    }
    this.liveBlocks++;
    this.liveInstructions += r.count;
    if (this.debug) checkSbeInvariants(this);
    return block;
  }

  private writeSlow(physAddr: number, length: number): void {
    const start = Math.max(0, Math.floor(physAddr));
    const end = Math.min(this.pageCount * PAGE_SIZE, Math.ceil(physAddr + length));
    if (!(start < end)) return;
    const masks = this.masks;
    for (let page = Math.floor(start / PAGE_SIZE); page * PAGE_SIZE < end; page++) {
      const m = masks[page] as number;
      if (m === 0) continue;
      const base = page * PAGE_SIZE;
      const lo = Math.max(start, base) - base;
      const hi = Math.min(end, base + PAGE_SIZE) - base;
      if ((m & chunkMask(lo, hi)) === 0) continue;
      this.stats.codeWrites++;
      this.collect(page, lo, hi, false);
    }
    if (this.doomed.length === 0) return;
    this.stats.invalidations += this.dropDoomed();
    this.settle(null);
    if (this.debug) checkSbeInvariants(this);
  }

  /**
   * Queues the blocks of every mode whose bytes overlap offsets `lo .. hi-1` of `page`; with `entries`,
   * also those that start there (empty blocks cover no bytes) and those that stop there for a breakpoint.
   */
  private collect(page: number, lo: number, hi: number, entries: boolean): void {
    for (let mode = 0; mode < MODE_COUNT; mode++) {
      const sp = this.scannedPage(page, mode);
      if (sp === undefined) continue;
      if (entries) {
        this.collectEntries(sp, lo, hi);
        continue;
      }
      if (hi - lo <= SMALL_WRITE && !anyMarked(sp.attrs, ByteAttr.CODE, lo, hi)) continue;
      const last = (hi - 1) >>> CHUNK_SHIFT;
      for (let chunk = lo >>> CHUNK_SHIFT; chunk <= last; chunk++) {
        for (const b of sp.chunkBlocks[chunk] as Block[]) if (overlaps(b, page, lo, hi)) this.doomed.push(b);
      }
    }
  }

  /** Queues what `collect` does with `entries` on one scanned page (breakpoint changes; not hot). */
  private collectEntries(sp: ScannedPage, lo: number, hi: number): void {
    for (const b of sp.blocks) {
      if (b === null) continue;
      const off = b.physAddr & OFFSET_MASK;
      const startEnd = off + b.byteLength;
      if (
        (off < hi && startEnd > lo) ||
        (off >= lo && off < hi) ||
        (b.endReason === BlockEnd.Breakpoint && startEnd === lo)
      ) {
        this.doomed.push(b);
      }
    }
    for (const b of sp.crossIn) if (overlaps(b, sp.page, lo, hi)) this.doomed.push(b);
  }

  /** Drops the queued blocks; returns how many were live. */
  private dropDoomed(): number {
    const doomed = this.doomed;
    let n = 0;
    for (let i = 0; i < doomed.length; i++) if (this.dropBlock(doomed[i] as Block)) n++;
    doomed.length = 0;
    return n;
  }

  private dropBlock(b: Block): boolean {
    if (!b.valid || b.slot < 0) return false;
    this.drops++;
    b.valid = false;
    b.routines = null;
    b.packedAt = -1;
    b.compiled = null;
    const off = b.physAddr & PAGE_OFFSET_MASK;
    const sp = this.scannedPage(b.physAddr >>> PAGE_SHIFT, b.mode) as ScannedPage;
    sp.removeBlock(b, off);
    sp.removeChunks(b, b.startMask);
    this.touch(sp, off, Math.max(Math.min(off + b.byteLength, PAGE_SIZE), off + 1));
    if (b.crossPage >= 0) {
      const cp = this.scannedPage(b.crossPage, b.mode) as ScannedPage;
      cp.removeCrossIn(b);
      cp.removeChunks(b, b.crossMask);
      this.touch(cp, 0, b.byteLength - (PAGE_SIZE - off));
    }
    this.liveBlocks--;
    this.liveInstructions -= b.count;
    const records = b.instructions;
    for (let i = 0; i < b.count; i++) this.pool.give(records[i] as Instruction);
    b.slot = -1;
    return true;
  }

  private touch(sp: ScannedPage, lo: number, hi: number): void {
    if (sp.dirtyHi === 0) this.dirty.push(sp);
    sp.touch(lo, hi);
  }

  /**
   * Rebuilds the attribute bytes and write masks where blocks dropped, and releases scanned pages left
   * without blocks (except `pin`, which a scan is about to fill).
   */
  private settle(pin: ScannedPage | null): void {
    const dirty = this.dirty;
    for (let i = 0; i < dirty.length; i++) {
      const sp = dirty[i] as ScannedPage;
      const lo = sp.dirtyLo;
      const hi = sp.dirtyHi;
      sp.dirtyLo = PAGE_SIZE;
      sp.dirtyHi = 0;
      const page = sp.page;
      if (sp.blockCount === 0 && sp.crossIn.length === 0 && sp !== pin) {
        this.release(sp);
      } else {
        // Blocks with bytes in the range are filed under its chunks; empty ones only mark their entry.
        clearBlockBits(sp.attrs, lo, hi);
        const last = (hi - 1) >>> CHUNK_SHIFT;
        for (let chunk = lo >>> CHUNK_SHIFT; chunk <= last; chunk++) {
          for (const b of sp.chunkBlocks[chunk] as Block[]) markBlock(sp.attrs, page, b, lo, hi);
        }
        for (let off = lo; off < hi; off++) {
          const e = sp.entries[off] as number;
          if (e !== 0 && (sp.blocks[e - 1] as Block).byteLength === 0) {
            markBlock(sp.attrs, page, sp.blocks[e - 1] as Block, lo, hi);
          }
        }
      }
      this.recomputeMask(page);
    }
    dirty.length = 0;
  }

  /** The physical page's write mask: the union of what its scanned pages (both modes) cover. */
  private recomputeMask(page: number): void {
    let m = 0;
    for (let mode = 0; mode < MODE_COUNT; mode++) {
      const sp = this.scannedPage(page, mode);
      if (sp !== undefined) m |= sp.codeMask;
    }
    const before = this.masks[page] as number;
    this.masks[page] = m >>> 0;
    if (before === 0 && m !== 0) this.onCodePage?.(page);
  }

  /** Adds the chunks of `mask` to the physical page's write mask. */
  private addToMask(page: number, mask: number): void {
    const before = this.masks[page] as number;
    this.masks[page] = (before | mask) >>> 0;
    if (before === 0 && mask !== 0) this.onCodePage?.(page);
  }

  /** The scanned page for (page, mode), made resident (evicting another, never `pin`) when needed. */
  private pageFor(page: number, mode: CodeMode, pin: ScannedPage | null): ScannedPage {
    const existing = this.scannedPage(page, mode);
    if (existing !== undefined) return existing;
    while (this.resident.length >= this.maxPages) if (!this.evictOne(pin)) break;
    const sp = this.spare.pop() ?? new ScannedPage();
    sp.page = page;
    sp.mode = mode;
    sp.residentIndex = this.resident.length;
    this.resident.push(sp);
    this.slotOf[page * MODE_COUNT + mode] = this.resident.length;
    const bps = this.breakpointsByPage.get(page);
    if (bps !== undefined) for (const off of bps) sp.attrs[off] = (sp.attrs[off] as number) | ByteAttr.BREAKPOINT;
    this.stats.pagesScanned++;
    return sp;
  }

  /** Evicts instruction records until `n` more fit; as a last resort empties `pin` itself. */
  private makeRoom(n: number, pin: ScannedPage): void {
    while (this.liveInstructions + n > this.maxInstructions) if (!this.evictOne(pin)) break;
    if (this.liveInstructions + n <= this.maxInstructions) return;
    for (const b of pin.blocks) if (b !== null) this.doomed.push(b);
    for (const b of pin.crossIn) this.doomed.push(b);
    this.stats.evictions++;
    this.stats.evictedBlocks += this.dropDoomed();
    this.settle(pin);
  }

  /** CLOCK eviction: the hand skips (and clears) pages used since it last passed. */
  private evictOne(pin: ScannedPage | null): boolean {
    const list = this.resident;
    for (let steps = 0; steps <= 2 * list.length; steps++) {
      if (list.length === 0) return false;
      if (this.hand >= list.length) this.hand = 0;
      const sp = list[this.hand] as ScannedPage;
      if (sp === pin) {
        this.hand++;
      } else if (sp.referenced) {
        sp.referenced = false;
        this.hand++;
      } else {
        this.evictPage(sp, pin);
        return true;
      }
    }
    return false;
  }

  private evictPage(sp: ScannedPage, pin: ScannedPage | null): void {
    for (const b of sp.blocks) if (b !== null) this.doomed.push(b);
    for (const b of sp.crossIn) this.doomed.push(b);
    this.stats.evictions++;
    this.stats.evictedBlocks += this.dropDoomed();
    this.settle(pin);
    // A page holding only breakpoint marks has no dirty range to release it.
    if (sp.page >= 0) {
      const page = sp.page;
      this.release(sp);
      this.recomputeMask(page);
    }
  }

  private releaseIfEmpty(sp: ScannedPage): void {
    if (sp.blockCount !== 0 || sp.crossIn.length !== 0) return;
    const page = sp.page;
    this.release(sp);
    this.recomputeMask(page);
  }

  private release(sp: ScannedPage): void {
    const list = this.resident;
    const i = sp.residentIndex;
    const last = list.pop() as ScannedPage;
    if (last !== sp) {
      list[i] = last;
      last.residentIndex = i;
      this.slotOf[last.page * MODE_COUNT + last.mode] = i + 1;
    }
    this.slotOf[sp.page * MODE_COUNT + sp.mode] = 0;
    sp.reset();
    this.spare.push(sp);
  }

  private checkAddress(physAddr: number): void {
    if (!Number.isInteger(physAddr) || physAddr < 0 || physAddr >= this.memory.length) {
      throw new RangeError(`physical address ${physAddr} is outside guest memory (${this.memory.length} bytes)`);
    }
  }
}

/** True when the bytes of `b` on physical page `page` overlap offsets `lo .. hi-1`. */
function overlaps(b: Block, page: number, lo: number, hi: number): boolean {
  const off = b.physAddr & OFFSET_MASK;
  if (b.physAddr >>> SHIFT === page && off < hi && off + b.byteLength > lo) return true;
  return b.crossPage === page && lo < b.byteLength - (SIZE - off);
}

function positiveInteger(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new RangeError(`${name} must be an integer of at least ${min}`);
  return value;
}
