/**
 * Where the run loop gets pre-decoded code from. A block is a straight run of instructions from one
 * physical address, within one page, ending at the first instruction that transfers control or that
 * the monitor must see with fresh state (privileged, sensitive, serializing). The interface is narrow
 * so that the Scan-Before-Execute cache of libs/x86 can stand in for the simple decoding cache here.
 */

import { CodeAttr, decodeInstruction, DecodeStatus, FlowControl, Instruction } from '@plex86/x86';
import type { Handler } from '../cpu/exec/table.js';
import { PageKind, PAGE_SIZE, type PhysicalMemory } from '../memory/physical-memory.js';

/** What the run loop executes. */
export interface ExecBlock {
  /** Pre-decoded instructions; the first `count` belong to the block. */
  readonly instructions: readonly Instruction[];
  readonly count: number;
  /** IP the block was decoded at; records hold absolute IPs relative to it. */
  readonly startIp: number;
  /** Bytes covered from the start address. */
  readonly byteLength: number;
  /** Status of the last record: Ok, or Invalid/TooLong for a record that must raise #UD/#GP. */
  readonly endStatus: DecodeStatus;
  /** The interpreter routine for each record, chosen once when the block is decoded. */
  readonly handlers: readonly Handler[];
  /** Cleared when guest writes hit the block's bytes. */
  valid: boolean;
}

export interface BlockSource {
  /**
   * The block of `bits`-bit code at physical address `phys`, whose first instruction is at `ip`,
   * using at most `maxBytes` bytes (the page end, the CS limit and the 64 KiB IP range bound it).
   * A block with `count` 0 means the first instruction does not fit in `maxBytes`.
   */
  lookup(phys: number, bits: 16 | 32, ip: number, maxBytes: number): ExecBlock;
  /** Drops every block (e.g. after a reset). */
  flush(): void;
}

export interface BlockSourceStats {
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

/** Instructions after which a block ends even though control falls through. */
const ENDS_BLOCK = CodeAttr.PRIVILEGED | CodeAttr.SENSITIVE | CodeAttr.SERIALIZING | CodeAttr.FAR;

/** Picks the routine that executes a decoded record (`status` is its decode status). */
export type HandlerResolver = (ins: Instruction, status: DecodeStatus) => Handler;

/** Direct-mapped lookup in front of the map, so that a hot block costs one array read to find. */
const FAST_SLOTS = 1 << 13;

class DecodedBlock implements ExecBlock {
  instructions: Instruction[] = [];
  handlers: Handler[] = [];
  phys = -1;
  bits = 0;
  count = 0;
  startIp = 0;
  byteLength = 0;
  endStatus: DecodeStatus = DecodeStatus.Ok;
  valid = true;
  key = 0;
}

/**
 * Decodes blocks on first use and caches them by physical address and code size. Writes to a page
 * that holds cached code drop every block of that page (PhysicalMemory reports them).
 */
export class DecodingBlockSource implements BlockSource {
  readonly stats: BlockSourceStats = {
    lookups: 0,
    hits: 0,
    decodedBlocks: 0,
    decodedInstructions: 0,
    invalidations: 0,
  };
  private readonly cache = new Map<number, DecodedBlock>();
  private readonly pages = new Map<number, DecodedBlock[]>();
  private readonly scratchPage = new Uint8Array(PAGE_SIZE);
  private readonly uncached = new DecodedBlock();
  private readonly fast: (DecodedBlock | undefined)[] = new Array<DecodedBlock | undefined>(FAST_SLOTS).fill(undefined);

  /** Called after a guest write dropped blocks, so the CPU stops running a block that may be stale. */
  onInvalidate: (() => void) | undefined;

  constructor(
    private readonly mem: PhysicalMemory,
    private readonly resolve: HandlerResolver,
  ) {
    mem.setCodeWriteListener((phys) => this.invalidatePage(phys >>> 12));
  }

  lookup(phys: number, bits: 16 | 32, ip: number, maxBytes: number): ExecBlock {
    this.stats.lookups++;
    const slot = (phys ^ (phys >>> 12)) & (FAST_SLOTS - 1);
    const hot = this.fast[slot];
    if (hot !== undefined && hot.phys === phys && hot.bits === bits && hot.valid && hot.byteLength <= maxBytes) {
      this.stats.hits++;
      return hot;
    }
    const key = bits === 32 ? phys + 0x100000000 : phys;
    const cached = this.cache.get(key);
    if (cached !== undefined && cached.byteLength <= maxBytes) {
      // Entered at another IP (another CS base or a wrapped alias), records stay valid: they are
      // relative to startIp, which the run loop accounts for.
      this.stats.hits++;
      this.fast[slot] = cached;
      return cached;
    }
    const page = phys >>> 12;
    const kind = this.mem.pageKind[(phys & this.mem.a20Mask) >>> 12];
    const cacheable = kind === PageKind.RAM || kind === PageKind.ROM || kind === PageKind.HIGH_ROM;
    let bytes: Uint8Array;
    let offset: number;
    if (kind === PageKind.RAM || kind === PageKind.ROM) {
      bytes = this.mem.ram;
      offset = (phys & this.mem.a20Mask) >>> 0;
    } else {
      const base = (phys & ~(PAGE_SIZE - 1)) >>> 0;
      for (let i = 0; i < PAGE_SIZE; i++) this.scratchPage[i] = this.mem.read8(base + i);
      bytes = this.scratchPage;
      offset = phys & (PAGE_SIZE - 1);
    }
    const limit = Math.min(maxBytes, PAGE_SIZE - (phys & (PAGE_SIZE - 1)));
    const block = !cacheable ? this.uncached : (cached ?? new DecodedBlock());
    this.decode(block, bytes, offset, offset + limit, ip, bits);
    block.key = key;
    block.phys = phys;
    block.bits = bits;
    if (cacheable && block.count > 0 && cached === undefined) {
      if (this.cache.size >= MAX_CACHED_BLOCKS) this.flush();
      this.cache.set(key, block);
      let list = this.pages.get(page);
      if (list === undefined) {
        list = [];
        this.pages.set(page, list);
        this.mem.markCode(page);
      }
      list.push(block);
      this.fast[slot] = block;
    }
    return block;
  }

  flush(): void {
    for (const [page, list] of this.pages) {
      for (const b of list) b.valid = false;
      this.mem.unmarkCode(page);
    }
    this.pages.clear();
    this.cache.clear();
    this.fast.fill(undefined);
  }

  /** Drops every block that starts on a physical page. */
  invalidatePage(page: number): void {
    const list = this.pages.get(page);
    if (list === undefined) return;
    for (const b of list) {
      b.valid = false;
      if (this.cache.get(b.key) === b) this.cache.delete(b.key);
    }
    this.pages.delete(page);
    this.mem.unmarkCode(page);
    this.stats.invalidations++;
    this.onInvalidate?.();
  }

  private decode(block: DecodedBlock, bytes: Uint8Array, offset: number, end: number, ip: number, bits: 16 | 32): void {
    const records = block.instructions;
    const handlers = block.handlers;
    let count = 0;
    let off = offset;
    let at = ip;
    let status: DecodeStatus = DecodeStatus.Ok;
    while (count < MAX_BLOCK_INSTRUCTIONS) {
      let ins = records[count];
      if (ins === undefined) {
        ins = new Instruction();
        records.push(ins);
      }
      status = decodeInstruction(bytes, off, end, at, bits, ins);
      if (status === DecodeStatus.NeedMoreBytes) {
        status = DecodeStatus.Ok;
        break;
      }
      handlers[count] = this.resolve(ins, status);
      count++;
      off += ins.length;
      at += ins.length;
      if (status !== DecodeStatus.Ok) break;
      const attrs = ins.attributes;
      if ((attrs & CodeAttr.FLOW_MASK) !== FlowControl.Next || (attrs & ENDS_BLOCK) !== 0) break;
    }
    block.count = count;
    block.startIp = ip;
    block.byteLength = off - offset;
    block.endStatus = status;
    block.valid = true;
    this.stats.decodedBlocks++;
    this.stats.decodedInstructions += count;
  }
}
