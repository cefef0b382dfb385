/**
 * Where the run loop gets pre-decoded code from. A block (libs/x86's `Block`) is a straight run of
 * instructions from one physical address, within one page, ending at the first instruction that
 * transfers control or that the monitor must see with fresh state (privileged, sensitive,
 * serializing). The interpreter routine of each record is kept in the block's `routines` slot, its
 * packed records in the source's arena (record-arena.ts), and the generated function of a hot block
 * (compile.ts) in its `compiled` slot.
 *
 * Two sources implement the interface: the Scan-Before-Execute cache of libs/x86 (sbe-source.ts),
 * and the simple decoding cache here, which also serves code outside RAM (the BIOS mirror below
 * 4 GiB, device memory) and blocks that a CS limit cuts short.
 */

import {
  Block,
  BlockEnd,
  CodeAttr,
  CodeMode,
  decodeInstruction,
  DecodeStatus,
  FlowControl,
  Instruction,
  type NextPageResolver,
} from '@plex86/x86';
import type { Handler } from '../cpu/exec/table.js';
import { PageKind, PAGE_SIZE, type PhysicalMemory } from '../memory/physical-memory.js';
import { RecordArena } from './record-arena.js';

/** What the run loop executes: libs/x86's Block, with the handlers in `routines`. */
export type ExecBlock = Block;

export interface BlockSource {
  /**
   * The block of `bits`-bit code at physical address `phys`, whose first instruction is at `ip`,
   * using at most `maxBytes` bytes (the CS limit and the 64 KiB IP range bound it), within its page
   * unless the source can say which physical page follows (`nextPage`): its last instruction may then
   * cross into that page (Block.crossPage). A block with `count` 0 means the first instruction does
   * not fit: the run loop fetches it itself. `routines` holds the block's handlers and `records` its
   * packed records (see blockHandlers).
   */
  lookup(phys: number, bits: 16 | 32, ip: number, maxBytes: number): Block;
  /**
   * Where a source that can hold instructions crossing a page asks which physical page follows a
   * page of the code being looked up (-1: unknown, the block ends before the instruction); the run
   * loop answers from its translation of the next linear page.
   */
  nextPage?: NextPageResolver;
  /** Where the interpreter's packed records of the blocks are. */
  readonly records: RecordArena;
  /** Drops every block (e.g. after a reset). */
  flush(): void;
  /** Counts dropped blocks: code compiled from several blocks is checked again when it moves. */
  readonly drops: number;
  /** The blocks that may be compiled together with `block` into one region (region.ts), itself included. */
  pageBlocks(block: Block): readonly (Block | null)[];
  /** Called after a guest write dropped blocks, so the CPU stops running a block that may be stale. */
  onInvalidate: (() => void) | undefined;
  /** One line of figures for --stats. */
  describe(): string;
}

/** Picks the routine that executes a decoded record (`status` is its decode status). */
export type HandlerResolver = (ins: Instruction, status: DecodeStatus) => Handler;

/** The block's handlers, resolving them (and packing its records in `arena`) the first time the block runs. */
export function blockHandlers(block: Block, resolve: HandlerResolver, arena: RecordArena): Handler[] {
  let handlers = block.routines as Handler[] | null;
  if (handlers !== null) return handlers;
  const count = block.count;
  handlers = new Array<Handler>(count);
  const last =
    block.endReason === BlockEnd.Invalid
      ? DecodeStatus.Invalid
      : block.endReason === BlockEnd.TooLong
        ? DecodeStatus.TooLong
        : DecodeStatus.Ok;
  for (let i = 0; i < count; i++)
    handlers[i] = resolve(block.instructions[i], i === count - 1 ? last : DecodeStatus.Ok);
  block.routines = handlers;
  arena.pack(block, handlers, count);
  return handlers;
}

export interface DecodingStats {
  lookups: number;
  hits: number;
  decodedBlocks: number;
  decodedInstructions: number;
  invalidations: number;
}

/** Longest block, so that interrupts are checked often enough. */
const MAX_BLOCK_INSTRUCTIONS = 64;
/** Cached blocks before the cache is emptied and refilled. */
const MAX_CACHED_BLOCKS = 1 << 16;
/** Direct-mapped lookup in front of the map, so that a hot block costs one array read to find. */
const FAST_SLOTS = 1 << 13;

/** Instructions after which a block ends even though control falls through. */
const ENDS_BLOCK = CodeAttr.PRIVILEGED | CodeAttr.SENSITIVE | CodeAttr.SERIALIZING | CodeAttr.FAR;

/**
 * Decodes blocks on first use and caches them by physical address and code size. With `cacheRam`,
 * RAM pages are cached and writes to them drop their blocks (PhysicalMemory reports them); without
 * it only code outside RAM is cached and RAM blocks are decoded afresh each time (another source
 * owns RAM).
 */
export class DecodingBlockSource implements BlockSource {
  readonly stats: DecodingStats = { lookups: 0, hits: 0, decodedBlocks: 0, decodedInstructions: 0, invalidations: 0 };
  onInvalidate: (() => void) | undefined;
  drops = 0;
  private readonly cache = new Map<number, Block>();
  private readonly pages = new Map<number, Block[]>();
  private readonly scratchPage = new Uint8Array(PAGE_SIZE);
  private readonly uncached = new Block();
  private readonly fast: (Block | undefined)[] = new Array<Block | undefined>(FAST_SLOTS).fill(undefined);

  constructor(
    private readonly mem: PhysicalMemory,
    private readonly resolve: HandlerResolver,
    private readonly cacheRam = true,
    readonly records = new RecordArena(),
  ) {
    if (cacheRam) mem.setCodeWriteListener((phys) => this.invalidatePage(phys >>> 12));
  }

  lookup(phys: number, bits: 16 | 32, ip: number, maxBytes: number): Block {
    this.stats.lookups++;
    const mode = bits === 32 ? CodeMode.Bits32 : CodeMode.Bits16;
    const slot = (phys ^ (phys >>> 12)) & (FAST_SLOTS - 1);
    const hot = this.fast[slot];
    if (hot !== undefined && hot.physAddr === phys && hot.mode === mode && hot.valid && hot.byteLength <= maxBytes) {
      this.stats.hits++;
      hot.hits++;
      return hot;
    }
    const key = bits === 32 ? phys + 0x100000000 : phys;
    const cached = this.cache.get(key);
    if (cached !== undefined && cached.byteLength <= maxBytes) {
      // Entered at another IP (another CS base or a wrapped alias), records stay valid: they are
      // relative to startIp, which the run loop accounts for.
      this.stats.hits++;
      cached.hits++;
      this.fast[slot] = cached;
      return cached;
    }
    const kind = this.mem.pageKind[phys >>> 12];
    const inRam = kind === PageKind.RAM || kind === PageKind.ROM;
    const cacheable = (inRam && this.cacheRam) || kind === PageKind.HIGH_ROM;
    let bytes: Uint8Array;
    let offset: number;
    if (inRam) {
      bytes = this.mem.ram;
      offset = phys;
    } else {
      const base = (phys & ~(PAGE_SIZE - 1)) >>> 0;
      for (let i = 0; i < PAGE_SIZE; i++) this.scratchPage[i] = this.mem.read8(base + i);
      bytes = this.scratchPage;
      offset = phys & (PAGE_SIZE - 1);
    }
    const limit = Math.min(maxBytes, PAGE_SIZE - (phys & (PAGE_SIZE - 1)));
    const block = !cacheable ? this.uncached : (cached ?? new Block());
    this.decode(block, bytes, offset, offset + limit, ip, bits);
    block.physAddr = phys;
    block.mode = mode;
    if (cacheable && block.count > 0 && cached === undefined) {
      if (this.cache.size >= MAX_CACHED_BLOCKS) this.flush();
      this.cache.set(key, block);
      const page = phys >>> 12;
      let list = this.pages.get(page);
      if (list === undefined) {
        list = [];
        this.pages.set(page, list);
        if (inRam) this.mem.markCode(page);
      }
      list.push(block);
      this.fast[slot] = block;
    }
    return block;
  }

  /** Only the block itself: the code it caches is not hot enough for regions. */
  pageBlocks(block: Block): readonly (Block | null)[] {
    return [block];
  }

  flush(): void {
    this.drops++;
    for (const [page, list] of this.pages) {
      for (const b of list) b.valid = false;
      if (this.cacheRam) this.mem.unmarkCode(page);
    }
    this.pages.clear();
    this.cache.clear();
    this.fast.fill(undefined);
  }

  /** Drops every block that starts on a physical page. */
  invalidatePage(page: number): void {
    const list = this.pages.get(page);
    if (list === undefined) return;
    this.drops++;
    for (const b of list) {
      b.valid = false;
      const key = b.mode === CodeMode.Bits32 ? b.physAddr + 0x100000000 : b.physAddr;
      if (this.cache.get(key) === b) this.cache.delete(key);
    }
    this.pages.delete(page);
    this.mem.unmarkCode(page);
    this.stats.invalidations++;
    this.onInvalidate?.();
  }

  describe(): string {
    const s = this.stats;
    return `${s.decodedBlocks} blocks decoded (${s.decodedInstructions} instructions), ${s.lookups} lookups (${pct(s.hits, s.lookups)} hit), ${s.invalidations} pages invalidated by writes`;
  }

  private decode(block: Block, bytes: Uint8Array, offset: number, end: number, ip: number, bits: 16 | 32): void {
    const records = block.instructions;
    let count = 0;
    let off = offset;
    let at = ip;
    let reason = BlockEnd.PageEnd;
    while (count < MAX_BLOCK_INSTRUCTIONS) {
      let ins = records[count];
      if (ins === undefined) {
        ins = new Instruction();
        records.push(ins);
      }
      const status = decodeInstruction(bytes, off, end, at, bits, ins);
      if (status === DecodeStatus.NeedMoreBytes) break;
      count++;
      off += ins.length;
      at += ins.length;
      if (status !== DecodeStatus.Ok) {
        reason = status === DecodeStatus.TooLong ? BlockEnd.TooLong : BlockEnd.Invalid;
        break;
      }
      const attrs = ins.attributes;
      if ((attrs & CodeAttr.FLOW_MASK) !== FlowControl.Next || (attrs & ENDS_BLOCK) !== 0) {
        reason =
          (attrs & CodeAttr.PRIVILEGED) !== 0
            ? BlockEnd.Privileged
            : (attrs & CodeAttr.SENSITIVE) !== 0
              ? BlockEnd.Sensitive
              : BlockEnd.ControlTransfer;
        break;
      }
      if (count === MAX_BLOCK_INSTRUCTIONS) reason = BlockEnd.Limit;
    }
    block.count = count;
    block.startIp = ip | 0;
    block.byteLength = off - offset;
    block.endReason = reason;
    block.valid = true;
    block.hits = 0;
    block.routines = null;
    block.packedAt = -1;
    block.compiled = null;
    blockHandlers(block, this.resolve, this.records);
    this.stats.decodedBlocks++;
    this.stats.decodedInstructions += count;
  }
}

export function pct(part: number, whole: number): string {
  return `${whole > 0 ? ((100 * part) / whole).toFixed(2) : '0.00'}%`;
}
