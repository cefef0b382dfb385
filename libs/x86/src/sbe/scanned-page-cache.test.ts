import { afterEach, describe, expect, it } from 'vitest';
import { Decoder } from '../decoder/decoder.js';
import { ByteAttr } from './attribute-page.js';
import { type Block, BlockEnd } from './block.js';
import { CodeMode, PAGE_SIZE } from './constants.js';
import { SbeInvariantError } from './invariants.js';
import { ScannedPageCache, type ScannedPageCacheOptions } from './scanned-page-cache.js';

const decoder = new Decoder();
let current: ScannedPageCache | null = null;

function setup(pages = 8, options: Partial<ScannedPageCacheOptions> = {}) {
  const memory = new Uint8Array(pages * PAGE_SIZE);
  const cache = new ScannedPageCache({ memory, decoder, debug: true, ...options });
  current = cache;
  return { memory, cache };
}

function put(memory: Uint8Array, addr: number, bytes: number[]): void {
  memory.set(bytes, addr);
}

function lookup32(cache: ScannedPageCache, addr: number): Block {
  const b = cache.lookup(addr, CodeMode.Bits32, addr);
  if (b === null) throw new Error(`no block at ${addr.toString(16)}`);
  return b;
}

function lengths(b: Block): number[] {
  return b.instructions.slice(0, b.count).map((i) => i.length);
}

afterEach(() => {
  current?.checkInvariants();
  current = null;
});

describe('scanning blocks', () => {
  it('decodes up to the first control transfer and records the attribute page', () => {
    const { memory, cache } = setup();
    // inc eax; inc eax; mov eax, 1; ret; (never reached) nop
    put(memory, 0x1000, [0x40, 0x40, 0xb8, 1, 0, 0, 0, 0xc3, 0x90]);
    const b = lookup32(cache, 0x1000);
    expect(b.count).toBe(4);
    expect(lengths(b)).toEqual([1, 1, 5, 1]);
    expect(b.endReason).toBe(BlockEnd.ControlTransfer);
    expect(b.byteLength).toBe(8);
    expect(b.startIp).toBe(0x1000);
    expect(b.crossPage).toBe(-1);
    const attr = (off: number) => cache.attributes(0x1000 + off, CodeMode.Bits32);
    expect(attr(0)).toBe(ByteAttr.INSN_START | ByteAttr.CODE | ByteAttr.ENTRY);
    expect(attr(2)).toBe(ByteAttr.INSN_START | ByteAttr.CODE);
    expect(attr(3)).toBe(ByteAttr.CODE);
    expect(attr(7)).toBe(ByteAttr.INSN_START | ByteAttr.CODE | ByteAttr.BLOCK_END);
    expect(attr(8)).toBe(0);
    expect(cache.attributes(0x1000, CodeMode.Bits16)).toBe(0);
    expect(cache.tracker.masks[1]).toBe(1);
    expect(cache.stats).toMatchObject({
      misses: 1,
      hits: 0,
      blocksScanned: 1,
      instructionsScanned: 4,
      bytesScanned: 8,
    });
  });

  it('answers a second lookup from the cache with the same block', () => {
    const { memory, cache } = setup();
    put(memory, 0x1000, [0x90, 0xc3]);
    const a = lookup32(cache, 0x1000);
    const b = lookup32(cache, 0x1000);
    expect(b).toBe(a);
    expect(a.hits).toBe(1);
    expect(cache.stats.hits).toBe(1);
    expect(cache.stats.misses).toBe(1);
    expect(cache.peek(0x1000, CodeMode.Bits32)).toBe(a);
    expect(cache.peek(0x1001, CodeMode.Bits32)).toBeNull();
  });

  it('ends at sensitive and privileged instructions, which stay in the block for the monitor', () => {
    const { memory, cache } = setup();
    put(memory, 0x1000, [0x90, 0xfa, 0x90, 0xf4, 0x90]); // nop; cli; nop; hlt
    const a = lookup32(cache, 0x1000);
    expect(a.count).toBe(2);
    expect(a.endReason).toBe(BlockEnd.Sensitive);
    expect(cache.attributes(0x1001, CodeMode.Bits32) & ByteAttr.SENSITIVE).not.toBe(0);
    const b = lookup32(cache, 0x1002);
    expect(b.count).toBe(2);
    expect(b.endReason).toBe(BlockEnd.Privileged);
    expect(cache.attributes(0x1003, CodeMode.Bits32) & ByteAttr.PRIVILEGED).not.toBe(0);
    expect(cache.attributes(0x1004, CodeMode.Bits32)).toBe(0);
  });

  it('keeps an undefined encoding as the last record so the CPU raises #UD there', () => {
    const { memory, cache } = setup();
    put(memory, 0x1000, [0x90, 0xf0, 0x90, 0x90]); // nop; lock nop (invalid)
    const b = lookup32(cache, 0x1000);
    expect(b.count).toBe(2);
    expect(b.endReason).toBe(BlockEnd.Invalid);
    expect(b.byteLength).toBe(1 + (b.instructions[1]?.length ?? 0));
  });

  it('limits the block length and ends at the page end', () => {
    const { memory, cache } = setup(8, { maxBlockInstructions: 16 });
    memory.fill(0x90, 0x1000, 0x2000);
    const a = lookup32(cache, 0x1000);
    expect(a.count).toBe(16);
    expect(a.endReason).toBe(BlockEnd.Limit);
    const b = lookup32(cache, 0x1ff8);
    expect(b.count).toBe(8);
    expect(b.endReason).toBe(BlockEnd.PageEnd);
    expect(b.crossPage).toBe(-1);
  });

  it('records which blocks write memory', () => {
    const { memory, cache } = setup();
    put(memory, 0x1000, [0x90, 0xc3]);
    put(memory, 0x1100, [0x89, 0x18, 0xc3]); // mov [eax], ebx; ret
    expect(lookup32(cache, 0x1000).writesMemory).toBe(false);
    expect(lookup32(cache, 0x1100).writesMemory).toBe(true);
  });

  it('returns null outside memory and rejects an unknown mode', () => {
    const { cache } = setup(2);
    expect(cache.lookup(2 * PAGE_SIZE, CodeMode.Bits32, 0)).toBeNull();
    expect(cache.lookup(-1, CodeMode.Bits32, 0)).toBeNull();
    expect(cache.lookup(0.5, CodeMode.Bits32, 0)?.physAddr ?? 0).toBe(0);
    expect(() => cache.lookup(0, 7 as CodeMode, 0)).toThrow(RangeError);
  });

  it('refuses bad options with a clear error', () => {
    expect(() => new ScannedPageCache({ memory: new Uint8Array(100), decoder })).toThrow(/multiple of 4096/);
    const memory = new Uint8Array(PAGE_SIZE);
    expect(() => new ScannedPageCache({ memory, decoder, maxPages: 1 })).toThrow(/maxPages/);
    expect(() => new ScannedPageCache({ memory, decoder, maxBlockInstructions: 0 })).toThrow(/maxBlockInstructions/);
    expect(() => new ScannedPageCache({ memory, decoder, maxBlockInstructions: 8, maxInstructions: 4 })).toThrow(
      /maxInstructions/,
    );
  });
});

describe('overlapping instructions', () => {
  it('gives a jump into the middle of an instruction its own block', () => {
    const { memory, cache } = setup();
    // 1000: jmp 1001 (EB FF); 1001: inc eax (FF C0); ret
    put(memory, 0x1000, [0xeb, 0xff, 0xc0, 0xc3]);
    const a = lookup32(cache, 0x1000);
    expect(a.count).toBe(1);
    expect(a.instructions[0]?.branchTarget).toBe(0x1001);
    const b = lookup32(cache, 0x1001);
    expect(b).not.toBe(a);
    expect(lengths(b)).toEqual([2, 1]);
    // Byte 1001 is both the second byte of the jump and the first byte of the inc.
    expect(cache.attributes(0x1001, CodeMode.Bits32)).toBe(ByteAttr.INSN_START | ByteAttr.CODE | ByteAttr.ENTRY);
  });

  it('drops exactly the blocks whose bytes a write touches', () => {
    const { memory, cache } = setup();
    // 1000: mov eax, 90909090h; ret   — entered at 1001 it is four nops and a ret.
    put(memory, 0x1000, [0xb8, 0x90, 0x90, 0x90, 0x90, 0xc3]);
    const outer = lookup32(cache, 0x1000);
    const inner = lookup32(cache, 0x1001);
    expect(lengths(outer)).toEqual([5, 1]);
    expect(lengths(inner)).toEqual([1, 1, 1, 1, 1]);
    memory[0x1000] = 0xb9; // mov ecx, imm32: only the outer block covers this byte
    cache.notifyWrite(0x1000, 1);
    expect(outer.valid).toBe(false);
    expect(inner.valid).toBe(true);
    expect(cache.stats.invalidations).toBe(1);
    expect(lookup32(cache, 0x1001)).toBe(inner);
    memory[0x1003] = 0x40;
    cache.notifyWrite(0x1003, 1);
    expect(inner.valid).toBe(false);
    expect(lengths(lookup32(cache, 0x1001))).toEqual([1, 1, 1, 1, 1]);
  });
});

describe('pages that get code', () => {
  it('are reported once, when the first block of a page is scanned, and again after all of it was dropped', () => {
    const pages: number[] = [];
    const { memory, cache } = setup(8, { onCodePage: (page) => pages.push(page) });
    put(memory, 0x2000, [0x40, 0xc3]);
    put(memory, 0x2100, [0x48, 0xc3]);
    put(memory, 0x3000, [0x90, 0xc3]);
    const first = lookup32(cache, 0x2000);
    // Reported before the lookup returns, with the code map already set.
    expect(pages).toEqual([2]);
    expect(cache.tracker.masks[2]).not.toBe(0);
    lookup32(cache, 0x2100);
    lookup32(cache, 0x2000);
    expect(pages).toEqual([2]);
    lookup32(cache, 0x3000);
    expect(pages).toEqual([2, 3]);
    cache.notifyWrite(0x2000, 0x200);
    expect(first.valid).toBe(false);
    expect(cache.tracker.masks[2]).toBe(0);
    lookup32(cache, 0x2100);
    expect(pages).toEqual([2, 3, 2]);
  });
});

describe('code and data on one page', () => {
  it('lets writes to data in other chunks pass after one mask check', () => {
    const { memory, cache } = setup();
    put(memory, 0x2000, [0x40, 0x48, 0xc3]);
    const code = lookup32(cache, 0x2000);
    for (let i = 0; i < 100; i++) cache.notifyWrite(0x2800 + i * 4, 4);
    cache.notifyWrite(0x2080, 0x80);
    expect(code.valid).toBe(true);
    expect(cache.stats.codeWrites).toBe(0);
    expect(cache.stats.invalidations).toBe(0);
  });

  it('keeps the code when data next to it in the same 128-byte chunk is written', () => {
    const { memory, cache } = setup();
    put(memory, 0x2000, [0x40, 0x48, 0xc3]);
    const code = lookup32(cache, 0x2000);
    cache.notifyWrite(0x2003, 4);
    cache.notifyWrite(0x2040, 64);
    expect(cache.stats.codeWrites).toBe(2);
    expect(code.valid).toBe(true);
    expect(lookup32(cache, 0x2000)).toBe(code);
    cache.notifyWrite(0x1ffe, 3); // ends on the last byte of the code: a hit
    expect(code.valid).toBe(false);
  });

  it('drops every block under a large DMA write and nothing outside it', () => {
    const { memory, cache } = setup();
    put(memory, 0x1000, [0x90, 0xc3]);
    put(memory, 0x2000, [0x90, 0xc3]);
    put(memory, 0x4000, [0x90, 0xc3]);
    const blocks = [0x1000, 0x2000, 0x4000].map((a) => lookup32(cache, a));
    cache.notifyWrite(0x0800, 0x2000);
    expect(blocks.map((b) => b.valid)).toEqual([false, false, true]);
    expect(cache.tracker.masks[1]).toBe(0);
    expect(cache.tracker.masks[2]).toBe(0);
    expect(cache.scannedPage(1, CodeMode.Bits32)).toBeUndefined();
  });

  it('ignores writes outside memory and nonsense lengths', () => {
    const { memory, cache } = setup(2);
    put(memory, 0x1000, [0x90, 0xc3]);
    const b = lookup32(cache, 0x1000);
    cache.notifyWrite(0x5000, 4);
    cache.notifyWrite(-4, 2);
    cache.notifyWrite(0x1000, 0);
    cache.notifyWrite(0x1000, -5);
    cache.notifyWrite(0x1000, Number.NaN);
    cache.notifyWrite(Number.NaN, 4);
    expect(b.valid).toBe(true);
    cache.notifyWrite(-4, 0x2000); // clamped to the start of memory: covers the block
    expect(b.valid).toBe(false);
  });
});

describe('instructions crossing a page boundary', () => {
  // nop; nop; then mov eax, imm32 starting two bytes before the end of page 1.
  function crossing(memory: Uint8Array, secondPage: number): void {
    put(memory, 0x1ffc, [0x90, 0x90, 0xb8, 0x11]);
    put(memory, secondPage * PAGE_SIZE, [0x22, 0x33, 0x44, 0xc3]);
  }

  it('decodes the instruction across the boundary and marks both pages', () => {
    const { memory, cache } = setup();
    crossing(memory, 2);
    const b = lookup32(cache, 0x1ffc);
    expect(lengths(b)).toEqual([1, 1, 5]);
    expect(b.instructions[2]?.immediate).toBe(0x44332211);
    expect(b.endReason).toBe(BlockEnd.PageEnd);
    expect(b.crossPage).toBe(2);
    expect(b.byteLength).toBe(7);
    expect(cache.attributes(0x1ffe, CodeMode.Bits32) & ByteAttr.CROSSES_PAGE).not.toBe(0);
    expect(cache.attributes(0x2000, CodeMode.Bits32)).toBe(ByteAttr.CODE);
    expect(cache.attributes(0x2002, CodeMode.Bits32)).toBe(ByteAttr.CODE);
    expect(cache.attributes(0x2003, CodeMode.Bits32)).toBe(0);
    expect(cache.tracker.masks[2]).toBe(1);
  });

  it('drops the block on a write to either page, and not for bytes past the instruction', () => {
    const { memory, cache } = setup();
    crossing(memory, 2);
    const a = lookup32(cache, 0x1ffc);
    cache.notifyWrite(0x2003, 1);
    expect(a.valid).toBe(true);
    memory[0x2002] = 0x55;
    cache.notifyWrite(0x2002, 1);
    expect(a.valid).toBe(false);
    const b = lookup32(cache, 0x1ffc);
    expect(b.instructions[2]?.immediate).toBe(0x55332211);
    cache.notifyWrite(0x1ffd, 1);
    expect(b.valid).toBe(false);
    expect(cache.tracker.masks[2]).toBe(0);
    expect(cache.scannedPage(2, CodeMode.Bits32)).toBeUndefined();
  });

  it('follows the next-page resolver (paging) and depends on the page it names', () => {
    let next = 5;
    const { memory, cache } = setup(8, { nextPage: (page) => (page === 1 ? next : page + 1) });
    crossing(memory, 5);
    memory[0x2000] = 0xee; // page 2 is not where the code continues
    const b = lookup32(cache, 0x1ffc);
    expect(b.crossPage).toBe(5);
    expect(b.instructions[2]?.immediate).toBe(0x44332211);
    cache.notifyWrite(0x2000, 4);
    expect(b.valid).toBe(true);
    cache.notifyWrite(0x5001, 1);
    expect(b.valid).toBe(false);
    const c = lookup32(cache, 0x1ffc);
    next = -1; // the translation changed: the next page is no longer present
    cache.dropCrossPageBlocks();
    expect(c.valid).toBe(false);
    const d = lookup32(cache, 0x1ffc);
    expect(d.count).toBe(2);
    expect(d.endReason).toBe(BlockEnd.NextPageUnavailable);
    // The crossing instruction alone: an empty block that is not cached (it depends on the mapping).
    const e = lookup32(cache, 0x1ffe);
    expect(e.count).toBe(0);
    expect(e.endReason).toBe(BlockEnd.NextPageUnavailable);
    expect(cache.peek(0x1ffe, CodeMode.Bits32)).toBeNull();
    next = 99; // outside memory: treated as unavailable
    cache.dropCrossPageBlocks();
    expect(lookup32(cache, 0x1ffc).endReason).toBe(BlockEnd.NextPageUnavailable);
  });

  it('stops before a crossing instruction when made without a resolver, allocating nothing for it', () => {
    const { memory, cache } = setup(8, { nextPage: null });
    crossing(memory, 2);
    const b = lookup32(cache, 0x1ffc);
    expect(b.count).toBe(2);
    expect(b.endReason).toBe(BlockEnd.NextPageUnavailable);
    expect(b.crossPage).toBe(-1);
    const e = lookup32(cache, 0x1ffe);
    expect(e.count).toBe(0);
    expect(e.endReason).toBe(BlockEnd.NextPageUnavailable);
    expect(lookup32(cache, 0x1ffe)).toBe(e);
    expect(cache.scannedPage(2, CodeMode.Bits32)).toBeUndefined();
  });

  it('handles code whose next page maps back onto the same physical page', () => {
    const { memory, cache } = setup(8, { nextPage: (page) => page });
    put(memory, 0x1ffe, [0xb8, 0x11]);
    put(memory, 0x1000, [0x22, 0x33, 0x44]);
    const b = lookup32(cache, 0x1ffe);
    expect(b.crossPage).toBe(1);
    expect(b.instructions[0]?.immediate).toBe(0x44332211);
    cache.notifyWrite(0x1001, 1);
    expect(b.valid).toBe(false);
  });
});

describe('modes', () => {
  it('keeps separate blocks for 16- and 32-bit code on the same bytes', () => {
    const { memory, cache } = setup();
    put(memory, 0x3000, [0xb8, 0x01, 0x00, 0x40, 0x40, 0xc3]);
    const b32 = cache.lookup(0x3000, CodeMode.Bits32, 0x3000) as Block;
    const b16 = cache.lookup(0x3000, CodeMode.Bits16, 0x0000) as Block;
    expect(lengths(b32)).toEqual([5, 1]);
    expect(lengths(b16)).toEqual([3, 1, 1, 1]);
    expect(b16.startIp).toBe(0);
    expect(b16.instructions[3]?.ip).toBe(5);
    expect(cache.attributes(0x3003, CodeMode.Bits16) & ByteAttr.INSN_START).not.toBe(0);
    expect(cache.attributes(0x3003, CodeMode.Bits32) & ByteAttr.INSN_START).toBe(0);
    expect(cache.lookup(0x3000, CodeMode.Bits16, 0)).toBe(b16);
    expect(cache.lookup(0x3000, CodeMode.Bits32, 0x3000)).toBe(b32);
    cache.notifyWrite(0x3004, 1);
    expect(b32.valid).toBe(false);
    expect(b16.valid).toBe(false);
  });

  it('stops 16-bit code at the top of the 64 KiB IP range', () => {
    const { memory, cache } = setup();
    memory.fill(0x40, 0x1000, 0x1010);
    const b = cache.lookup(0x1000, CodeMode.Bits16, 0xfffe) as Block;
    expect(b.count).toBe(2);
    expect(b.endReason).toBe(BlockEnd.IpWrap);
    put(memory, 0x1100, [0xb8, 0x01, 0x02]);
    const e = cache.lookup(0x1100, CodeMode.Bits16, 0xfffe) as Block;
    expect(e.count).toBe(0);
    expect(e.endReason).toBe(BlockEnd.IpWrap);
    expect(cache.peek(0x1100, CodeMode.Bits16)).toBeNull();
  });
});

describe('eviction', () => {
  function codeOnPages(memory: Uint8Array, pages: number[]): void {
    for (const p of pages) put(memory, p * PAGE_SIZE, [0x90, 0x90, 0xc3]);
  }

  it('keeps at most maxPages scanned pages, evicting one not used since the hand passed', () => {
    const { memory, cache } = setup(8, { maxPages: 3 });
    codeOnPages(memory, [1, 2, 3, 4, 5]);
    const [p1, p2, p3] = [1, 2, 3].map((p) => lookup32(cache, p * PAGE_SIZE)) as [Block, Block, Block];
    const p4 = lookup32(cache, 4 * PAGE_SIZE);
    expect(cache.resident.length).toBe(3);
    expect(cache.stats.evictions).toBe(1);
    expect([p1.valid, p2.valid, p3.valid, p4.valid].filter((v) => !v)).toHaveLength(1);
    expect(cache.tracker.masks.filter((m) => m !== 0)).toHaveLength(3);
    // Use every survivor but one; the next scan must evict that one.
    const survivors = [p1, p2, p3, p4].filter((b) => b.valid);
    const [unused, ...used] = survivors as [Block, ...Block[]];
    for (const b of used) expect(lookup32(cache, b.physAddr)).toBe(b);
    lookup32(cache, 5 * PAGE_SIZE);
    expect(unused.valid).toBe(false);
    for (const b of used) expect(b.valid).toBe(true);
    expect(cache.stats.evictions).toBe(2);
    expect(cache.stats.evictedBlocks).toBe(2);
    // An evicted page scans again on its next lookup.
    const again = lookup32(cache, unused.physAddr);
    expect(again).not.toBe(unused);
    expect(again.count).toBe(3);
  });

  it('keeps the instruction records within maxInstructions and reuses them', () => {
    const { memory, cache } = setup(8, { maxInstructions: 64, maxBlockInstructions: 16, maxPages: 8 });
    memory.fill(0x90, PAGE_SIZE, 8 * PAGE_SIZE);
    for (let round = 0; round < 3; round++) {
      for (let p = 1; p < 8; p++) {
        for (let k = 0; k < 4; k++) {
          lookup32(cache, p * PAGE_SIZE + k * 16);
          expect(cache.instructionCount).toBeLessThanOrEqual(64);
        }
      }
    }
    expect(cache.stats.evictions).toBeGreaterThan(0);
    expect(cache.pool.created).toBeLessThanOrEqual(64 + 16);
  });

  it('empties the page being scanned when it alone exceeds the instruction bound', () => {
    const { memory, cache } = setup(4, { maxInstructions: 32, maxBlockInstructions: 16 });
    memory.fill(0x90, PAGE_SIZE, 2 * PAGE_SIZE);
    const a = lookup32(cache, PAGE_SIZE);
    const b = lookup32(cache, PAGE_SIZE + 16);
    const c = lookup32(cache, PAGE_SIZE + 32);
    expect(cache.instructionCount).toBe(16);
    expect([a.valid, b.valid, c.valid]).toEqual([false, false, true]);
  });

  it('drops a block that spills into an evicted page', () => {
    const { memory, cache } = setup(8, { maxPages: 2 });
    put(memory, 0x1ffe, [0xb8, 0x11, 0x22, 0x33, 0x44]);
    codeOnPages(memory, [4]);
    const cross = lookup32(cache, 0x1ffe); // pages 1 and 2 resident
    lookup32(cache, 4 * PAGE_SIZE); // one of them goes, and the crossing block with it
    expect(cross.valid).toBe(false);
    expect(cache.resident.length).toBeLessThanOrEqual(2);
  });
});

describe('breakpoints', () => {
  it('end blocks before the marked instruction and never show in guest memory', () => {
    const { memory, cache } = setup();
    put(memory, 0x1000, [0x40, 0x40, 0x40, 0xc3]);
    const before = memory.slice();
    const whole = lookup32(cache, 0x1000);
    expect(whole.count).toBe(4);
    cache.setBreakpoint(0x1002);
    expect(whole.valid).toBe(false);
    expect(cache.hasBreakpoint(0x1002)).toBe(true);
    expect(cache.breakpoints()).toEqual([0x1002]);
    const head = lookup32(cache, 0x1000);
    expect(head.count).toBe(2);
    expect(head.endReason).toBe(BlockEnd.Breakpoint);
    const at = lookup32(cache, 0x1002);
    expect(at.count).toBe(0);
    expect(at.endReason).toBe(BlockEnd.Breakpoint);
    expect(cache.peek(0x1002, CodeMode.Bits32)).toBe(at);
    expect(cache.attributes(0x1002, CodeMode.Bits32) & ByteAttr.BREAKPOINT).not.toBe(0);
    expect(Buffer.compare(memory, before)).toBe(0);
    expect(memory[0x1002]).toBe(0x40);

    cache.clearBreakpoint(0x1002);
    expect(head.valid).toBe(false);
    expect(at.valid).toBe(false);
    expect(cache.hasBreakpoint(0x1002)).toBe(false);
    expect(lookup32(cache, 0x1000).count).toBe(4);
    expect(cache.attributes(0x1002, CodeMode.Bits32) & ByteAttr.BREAKPOINT).toBe(0);
    expect(Buffer.compare(memory, before)).toBe(0);
    expect(cache.stats.breakpointDrops).toBe(3);
  });

  it('apply to pages scanned later and to every mode', () => {
    const { memory, cache } = setup();
    put(memory, 0x1000, [0x40, 0x40, 0x40, 0xc3]);
    cache.setBreakpoint(0x1001);
    cache.setBreakpoint(0x1001);
    const head = lookup32(cache, 0x1000);
    expect(head.count).toBe(1);
    expect((cache.lookup(0x1000, CodeMode.Bits16, 0) as Block).count).toBe(1);
    // Clearing must drop the block that stopped in front of it, even with no block starting there.
    cache.clearBreakpoint(0x1001);
    expect(head.valid).toBe(false);
    expect(lookup32(cache, 0x1000).count).toBe(4);
  });

  it('inside an instruction do not split it', () => {
    const { memory, cache } = setup();
    put(memory, 0x1000, [0xb8, 1, 2, 3, 4, 0xc3]);
    cache.setBreakpoint(0x1002);
    const b = lookup32(cache, 0x1000);
    expect(lengths(b)).toEqual([5, 1]);
    expect(b.endReason).toBe(BlockEnd.ControlTransfer);
  });

  it('reject addresses outside memory', () => {
    const { cache } = setup(2);
    expect(() => cache.setBreakpoint(0x2000)).toThrow(RangeError);
    expect(() => cache.clearBreakpoint(-1)).toThrow(RangeError);
    expect(() => cache.setBreakpoint(1.5)).toThrow(RangeError);
    cache.clearBreakpoint(0x100); // none set: nothing happens
  });

  it('survive a flush, which drops every block', () => {
    const { memory, cache } = setup();
    put(memory, 0x1000, [0x40, 0x40, 0xc3]);
    put(memory, 0x3000, [0x40, 0xc3]);
    cache.setBreakpoint(0x1001);
    const a = lookup32(cache, 0x1000);
    const b = lookup32(cache, 0x3000);
    cache.flush();
    expect([a.valid, b.valid]).toEqual([false, false]);
    expect(cache.blockCount).toBe(0);
    expect(cache.resident).toHaveLength(0);
    expect(cache.tracker.masks.every((m) => m === 0)).toBe(true);
    expect(lookup32(cache, 0x1000).count).toBe(1);
  });
});

describe('the invariant checker', () => {
  it('catches a write the SBE was not told about', () => {
    const { memory, cache } = setup();
    put(memory, 0x1000, [0x40, 0x40, 0xc3]);
    lookup32(cache, 0x1000);
    memory[0x1001] = 0xb8;
    expect(() => cache.checkInvariants()).toThrow(SbeInvariantError);
    expect(() => cache.checkInvariants()).toThrow(/no longer decodes/);
    cache.notifyWrite(0x1001, 1);
    cache.checkInvariants();
  });

  it('catches a corrupted attribute byte and write mask', () => {
    const { memory, cache } = setup();
    put(memory, 0x1000, [0x40, 0xc3]);
    lookup32(cache, 0x1000);
    const sp = cache.scannedPage(1, CodeMode.Bits32);
    if (sp === undefined) throw new Error('page 1 not scanned');
    sp.attrs[0x10] = ByteAttr.CODE;
    expect(() => cache.checkInvariants()).toThrow(/attribute byte at 0x10/);
    sp.attrs[0x10] = 0;
    cache.tracker.masks[3] = 1;
    expect(() => cache.checkInvariants()).toThrow(/write mask of page 3/);
    cache.tracker.masks[3] = 0;
  });
});
