import { describe, expect, it } from 'vitest';
import { PortSpace } from '../io/port-space.js';
import { PhysicalMemory } from '../memory/physical-memory.js';
import { Attr, Cpu, CPU_SIGNATURE } from './cpu.js';
import { CPU_FAULT, Vector } from './fault.js';
import { LazyKind, lazyWord } from './flags.js';
import { Cr0, Cr4, Flag, Seg } from './registers.js';
import { TlbBit } from './paging.js';

function makeCpu(ramSize = 4 << 20): Cpu {
  return new Cpu(new PhysicalMemory({ ramSize }), new PortSpace());
}

/** Runs `fn` and returns the vector and error code it raised, or undefined when it did not fault. */
function faultOf(cpu: Cpu, fn: () => void): { vector: number; code: number } | undefined {
  try {
    fn();
  } catch (e) {
    if (e !== CPU_FAULT) throw e;
    return { vector: cpu.faultVector, code: cpu.faultCode };
  }
  return undefined;
}

describe('Cpu reset state', () => {
  it('starts at F000:FFF0 with CS base FFFF0000 and the processor signature in EDX', () => {
    const cpu = makeCpu();
    expect(cpu.eip).toBe(0xfff0);
    expect(cpu.segSel[Seg.CS]).toBe(0xf000);
    expect(cpu.segBase[Seg.CS] >>> 0).toBe(0xffff0000);
    expect(cpu.r32[2]).toBe(CPU_SIGNATURE);
    expect(cpu.eflags).toBe(2);
    expect(cpu.cr0 >>> 0).toBe(0x60000010);
    expect(cpu.protectedMode).toBe(false);
    expect(cpu.codeBits).toBe(16);
  });
});

describe('register views', () => {
  it('aliases 8-, 16- and 32-bit registers like the hardware', () => {
    const cpu = makeCpu();
    cpu.r32[0] = 0x12345678;
    expect(cpu.r16[0]).toBe(0x5678);
    expect(cpu.r8[0]).toBe(0x78);
    expect(cpu.r8[1]).toBe(0x56);
    cpu.r8[1] = 0xab;
    expect(cpu.r32[0]).toBe(0x1234ab78);
    cpu.r16[2 * 3] = 0xbeef;
    expect(cpu.r32[3] & 0xffff).toBe(0xbeef);
  });
});

describe('segmented memory access', () => {
  it('faults a real-mode word access at offset 0xFFFF: #SS through SS, #GP otherwise', () => {
    const cpu = makeCpu();
    cpu.loadRealSegment(Seg.DS, 0x1000);
    cpu.loadRealSegment(Seg.SS, 0x2000);
    cpu.write8(Seg.DS, 0xffff, 0x12);
    expect(cpu.mem.read8(0x1ffff)).toBe(0x12);
    expect(faultOf(cpu, () => cpu.read16(Seg.DS, 0xffff))).toEqual({ vector: Vector.GP, code: 0 });
    expect(faultOf(cpu, () => cpu.write16(Seg.SS, 0xffff, 1))).toEqual({ vector: Vector.SS, code: 0 });
    expect(faultOf(cpu, () => cpu.read32(Seg.DS, 0xfffd))).toEqual({ vector: Vector.GP, code: 0 });
    expect(faultOf(cpu, () => cpu.read32(Seg.DS, 0xfffc))).toBeUndefined();
  });

  it('keeps a big cached limit across a real-mode reload (unreal mode)', () => {
    const cpu = makeCpu();
    cpu.loadSegmentCache(Seg.DS, 8, 0, 0xffffffff | 0, Attr.P | Attr.S | Attr.RW | Attr.DB | Attr.G);
    cpu.loadRealSegment(Seg.DS, 0);
    cpu.write32(Seg.DS, 0x200000, 0x55aa55aa);
    expect(cpu.mem.read32(0x200000)).toBe(0x55aa55aa);
  });

  it('enforces protected-mode rights: read-only data, execute-only code, null selectors, expand-down', () => {
    const cpu = makeCpu();
    cpu.setCr0(cpu.cr0 | Cr0.PE);
    cpu.loadSegmentCache(Seg.DS, 0x10, 0x1000, 0xfff, Attr.P | Attr.S);
    expect(faultOf(cpu, () => cpu.read8(Seg.DS, 0xfff))).toBeUndefined();
    expect(faultOf(cpu, () => cpu.read8(Seg.DS, 0x1000))).toEqual({ vector: Vector.GP, code: 0 });
    expect(faultOf(cpu, () => cpu.write8(Seg.DS, 0, 1))).toEqual({ vector: Vector.GP, code: 0 });
    cpu.loadSegmentCache(Seg.ES, 0x18, 0, 0xffff, Attr.P | Attr.S | Attr.CODE);
    expect(faultOf(cpu, () => cpu.read8(Seg.ES, 0))).toEqual({ vector: Vector.GP, code: 0 });
    cpu.loadNullSegment(Seg.FS, 0);
    expect(faultOf(cpu, () => cpu.read8(Seg.FS, 0))).toEqual({ vector: Vector.GP, code: 0 });
    // Expand-down 16-bit stack with limit 0x0fff: valid offsets are 0x1000..0xffff.
    cpu.loadSegmentCache(Seg.SS, 0x20, 0x100000, 0xfff, Attr.P | Attr.S | Attr.RW | Attr.DC);
    expect(faultOf(cpu, () => cpu.write16(Seg.SS, 0xfff, 1))).toEqual({ vector: Vector.SS, code: 0 });
    expect(faultOf(cpu, () => cpu.write16(Seg.SS, 0x1000, 0x1234))).toBeUndefined();
    expect(faultOf(cpu, () => cpu.write16(Seg.SS, 0xffff, 1))).toEqual({ vector: Vector.SS, code: 0 });
    expect(cpu.mem.read16(0x101000)).toBe(0x1234);
  });
});

describe('paged memory access through the TLB', () => {
  function pagedCpu(): Cpu {
    const cpu = makeCpu();
    const mem = cpu.mem;
    // Identity-map the first 4 MiB except page 0x200 (not present) and page 0x201 (read-only, user).
    mem.write32(0x1000, 0x2000 | 7);
    for (let i = 0; i < 1024; i++) mem.write32(0x2000 + i * 4, (i << 12) | 7);
    mem.write32(0x2000 + 0x200 * 4, 0);
    mem.write32(0x2000 + 0x201 * 4, (0x201 << 12) | 5);
    cpu.setCr3(0x1000);
    cpu.setCr0(cpu.cr0 | Cr0.PE | Cr0.PG);
    cpu.loadSegmentCache(Seg.DS, 0x10, 0, 0xffffffff | 0, Attr.P | Attr.S | Attr.RW | Attr.DB | Attr.G);
    return cpu;
  }

  it('reads and writes across a page boundary', () => {
    const cpu = pagedCpu();
    cpu.write32(Seg.DS, 0x5ffe, 0x11223344);
    expect(cpu.read32(Seg.DS, 0x5ffe)).toBe(0x11223344);
    expect(cpu.mem.read16(0x6000)).toBe(0x1122);
    cpu.write16(Seg.DS, 0x6fff, 0xabcd);
    expect(cpu.read16(Seg.DS, 0x6fff)).toBe(0xabcd);
  });

  it('raises #PF with CR2 and leaves memory untouched when the second page of a write faults', () => {
    const cpu = pagedCpu();
    cpu.mem.write32(0x1ffffc, 0x01020304);
    const f = faultOf(cpu, () => cpu.write32(Seg.DS, 0x1ffffe, 0xffffffff | 0));
    expect(f).toEqual({ vector: Vector.PF, code: 0x2 });
    expect(cpu.cr2).toBe(0x200000);
    expect(cpu.mem.read32(0x1ffffc)).toBe(0x01020304);
  });

  it('checks user access and CR0.WP', () => {
    const cpu = pagedCpu();
    cpu.write8(Seg.DS, 0x201000, 1);
    cpu.setCr0(cpu.cr0 | Cr0.WP);
    expect(faultOf(cpu, () => cpu.write8(Seg.DS, 0x201000, 1))).toEqual({ vector: Vector.PF, code: 0x3 });
    cpu.setCpl(3);
    expect(faultOf(cpu, () => cpu.read8(Seg.DS, 0x201000))).toBeUndefined();
    expect(faultOf(cpu, () => cpu.write8(Seg.DS, 0x201000, 1))).toEqual({ vector: Vector.PF, code: 0x7 });
  });

  it('prepareWrite faults before a read-modify-write reads anything', () => {
    const cpu = pagedCpu();
    cpu.setCr0(cpu.cr0 | Cr0.WP);
    expect(faultOf(cpu, () => cpu.prepareWrite(Seg.DS, 0x200ffe, 4))).toEqual({ vector: Vector.PF, code: 0x2 });
    expect(faultOf(cpu, () => cpu.prepareWrite(Seg.DS, 0x201ffe, 4))).toEqual({ vector: Vector.PF, code: 0x3 });
    expect(cpu.cr2).toBe(0x201ffe);
  });

  it('flushes translations on CR3 writes', () => {
    const cpu = pagedCpu();
    expect(cpu.read8(Seg.DS, 0x3000)).toBe(0);
    cpu.mem.write32(0x2000 + 3 * 4, (0x7000 << 0) | 7);
    cpu.mem.write8(0x7000, 0x99);
    expect(cpu.read8(Seg.DS, 0x3000)).toBe(0);
    cpu.setCr3(0x1000);
    expect(cpu.read8(Seg.DS, 0x3000)).toBe(0x99);
  });

  it('treats CR4.PSE 4 MiB pages', () => {
    const cpu = pagedCpu();
    cpu.mem.write32(0x1000 + 4, 0x000000 | 0x87);
    cpu.setCr4(Cr4.PSE);
    cpu.mem.write8(0x1234, 0x42);
    expect(cpu.read8(Seg.DS, 0x401234)).toBe(0x42);
  });

  it('reports writes that hit code pages through the fast path', () => {
    const cpu = pagedCpu();
    const hits: number[] = [];
    cpu.mem.setCodeWriteListener((p) => hits.push(p));
    cpu.write8(Seg.DS, 0x9000, 1);
    cpu.mem.markCode(0x9);
    cpu.write32(Seg.DS, 0x9010, 1);
    expect(hits).toEqual([0x9010]);
  });
});

/** Reference flags computed with plain arithmetic, independently of the lazy scheme. */
function referenceFlags(op: 'add' | 'adc' | 'sub' | 'sbb', size: number, a: number, b: number, c: number) {
  const mod = 2 ** size;
  const sign = 2 ** (size - 1);
  let full: number;
  let cf: boolean;
  let af: boolean;
  if (op === 'add' || op === 'adc') {
    full = a + b + c;
    cf = full >= mod;
    af = (a & 0xf) + (b & 0xf) + c > 0xf;
  } else {
    full = a - b - c;
    cf = a < b + c;
    af = (a & 0xf) < (b & 0xf) + c;
  }
  const res = ((full % mod) + mod) % mod;
  const sa = a >= sign;
  const sb = b >= sign;
  const sr = res >= sign;
  const of = op === 'add' || op === 'adc' ? sa === sb && sr !== sa : sa !== sb && sr !== sa;
  let ones = 0;
  for (let v = res & 0xff; v; v >>= 1) ones += v & 1;
  return (
    (cf ? Flag.CF : 0) |
    (ones % 2 === 0 ? Flag.PF : 0) |
    (af ? Flag.AF : 0) |
    (res === 0 ? Flag.ZF : 0) |
    (sr ? Flag.SF : 0) |
    (of ? Flag.OF : 0)
  );
}

describe('lazy flags', () => {
  it('match plain arithmetic for ADD/ADC/SUB/SBB of every size', () => {
    const cpu = makeCpu();
    let seed = 12345;
    const rnd = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed;
    };
    const mismatches: string[] = [];
    const edge = [0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff];
    for (const size of [8, 16, 32]) {
      const mod = 2 ** size;
      for (let i = 0; i < 1000; i++) {
        const a = (i < 121 ? edge[i % 11] : rnd()) % mod;
        const b = (i < 121 ? edge[Math.floor(i / 11)] : rnd()) % mod;
        for (const op of ['add', 'adc', 'sub', 'sbb'] as const) {
          const c = op === 'adc' || op === 'sbb' ? 1 : 0;
          const kind =
            op === 'add' ? LazyKind.ADD : op === 'adc' ? LazyKind.ADC : op === 'sub' ? LazyKind.SUB : LazyKind.SBB;
          const full = op === 'add' || op === 'adc' ? a + b + c : a - b - c;
          const res = ((full % mod) + mod) % mod;
          cpu.eflags = 0;
          cpu.setLazy(lazyWord(kind, size), res | 0, a | 0, b | 0);
          const expected = referenceFlags(op, size, a, b, c);
          const got = cpu.eflags & 0x8d5;
          const less = ((expected & Flag.SF) !== 0) !== ((expected & Flag.OF) !== 0);
          if (
            got !== expected ||
            cpu.getCf() !== (expected & 1) ||
            cpu.condition(0x4) !== ((expected & Flag.ZF) !== 0) ||
            cpu.condition(0xc) !== less
          ) {
            mismatches.push(
              `${op}${size} ${a.toString(16)},${b.toString(16)}: ${got.toString(16)} != ${expected.toString(16)}`,
            );
          }
        }
      }
    }
    expect(mismatches.slice(0, 10)).toEqual([]);
  });

  it('INC/DEC keep the previous CF while the rest stays lazy', () => {
    const cpu = makeCpu();
    cpu.setLazy(lazyWord(LazyKind.ADD, 8), 0x00, 0xff, 0x01); // CF = 1
    cpu.setLazyKeepCf(lazyWord(LazyKind.ADD, 8, true), 0x80, 0x7f, 1); // INC 0x7f
    const f = cpu.eflags;
    expect(f & Flag.CF).toBe(Flag.CF);
    expect(f & Flag.OF).toBe(Flag.OF);
    expect(f & Flag.AF).toBe(Flag.AF);
    expect(f & Flag.SF).toBe(Flag.SF);
    expect(f & Flag.ZF).toBe(0);
  });

  it('logic results clear CF, OF and AF', () => {
    const cpu = makeCpu();
    cpu.eflags = Flag.CF | Flag.OF | Flag.AF;
    cpu.setLazy(lazyWord(LazyKind.LOGIC, 16), 0, 0, 0);
    expect(cpu.eflags & 0x8d5).toBe(Flag.ZF | Flag.PF);
  });

  it('setFlagBits changes only the named flags and keeps the rest of a lazy state', () => {
    const cpu = makeCpu();
    cpu.setLazy(lazyWord(LazyKind.SUB, 32), 0, 5, 5);
    cpu.setFlagBits(Flag.CF, Flag.CF);
    expect(cpu.eflags & 0x8d5).toBe(Flag.CF | Flag.ZF | Flag.PF);
    // A rotate after an ADD: CF and OF set, SF, ZF, PF and AF still the ADD's (0x7fffffff + 2),
    // whatever the stored EFLAGS word held for them.
    cpu.eflags = Flag.ZF | Flag.PF;
    cpu.setLazy(lazyWord(LazyKind.ADD, 32), -0x7fffffff, 0x7fffffff, 2);
    cpu.setFlagBits(Flag.CF | Flag.OF | Flag.DF, Flag.DF);
    expect(cpu.eflags & (0x8d5 | Flag.DF)).toBe(Flag.SF | Flag.AF | Flag.DF);
    expect(cpu.getZf()).toBe(false);
    expect(cpu.getOf()).toBe(false);
    cpu.materializeFlags();
    expect(cpu.eflags & 0x8d5).toBe(Flag.SF | Flag.AF);
  });
});

describe('fetch epochs (the run loop memos CS:EIP -> code while its epoch lasts)', () => {
  const FLAT_CODE = Attr.P | Attr.S | Attr.CODE | Attr.RW | Attr.ACCESSED | Attr.DB | Attr.G;

  function enter(cpu: Cpu, selector: number, cpl: number, base = 0, limit = -1, attr = FLAT_CODE): void {
    cpu.loadSegmentCache(Seg.CS, selector, base, limit, attr);
    cpu.setCpl(cpl);
  }

  it('gives a code context seen since the last TLB flush its epoch back: user code after a system call', () => {
    const cpu = makeCpu();
    enter(cpu, 0x73, 3);
    const user = cpu.fetchEpoch;
    expect(cpu.fetchEpoch).toBe(user);
    enter(cpu, 0x60, 0);
    const kernel = cpu.fetchEpoch;
    expect(kernel).not.toBe(user);
    enter(cpu, 0x73, 3);
    expect(cpu.fetchEpoch).toBe(user);
    enter(cpu, 0x60, 0);
    expect(cpu.fetchEpoch).toBe(kernel);
  });

  it('tells contexts apart by CS base, limit, default size and CPL', () => {
    const cpu = makeCpu();
    enter(cpu, 0x08, 0);
    const seen = new Set([cpu.fetchEpoch]);
    for (const [base, limit, attr, cpl] of [
      [0x1000, -1, FLAT_CODE, 0],
      [0, 0xfffff, FLAT_CODE, 0],
      [0, -1, FLAT_CODE & ~Attr.DB, 0],
      [0, -1, FLAT_CODE, 3],
    ]) {
      enter(cpu, 0x08, cpl, base, limit, attr);
      expect(seen.has(cpu.fetchEpoch), `base ${base} limit ${limit} attr ${attr} cpl ${cpl}`).toBe(false);
      seen.add(cpu.fetchEpoch);
    }
  });

  it('starts a new epoch on every TLB flush that reaches code and on request, for every context', () => {
    const cpu = makeCpu();
    enter(cpu, 0x73, 3);
    const user = cpu.fetchEpoch;
    enter(cpu, 0x60, 0);
    const kernel = cpu.fetchEpoch;
    cpu.mmu.noteFetch(0x8048); // as the run loop records a lookup of code there
    cpu.mmu.invalidatePage(0x8048000);
    const afterFlush = cpu.fetchEpoch;
    expect([user, kernel]).not.toContain(afterFlush);
    enter(cpu, 0x73, 3);
    const userAfterFlush = cpu.fetchEpoch;
    expect([user, kernel, afterFlush]).not.toContain(userAfterFlush);
    cpu.newFetchEpoch();
    expect([user, kernel, afterFlush, userAfterFlush]).not.toContain(cpu.fetchEpoch);
  });

  it('keeps the global epoch of each context across flushes that keep global translations', () => {
    const cpu = makeCpu();
    enter(cpu, 0x73, 3);
    const user = [cpu.fetchEpoch, cpu.globalEpoch];
    enter(cpu, 0x60, 0);
    const kernel = [cpu.fetchEpoch, cpu.globalEpoch];
    expect(new Set([...user, ...kernel]).size).toBe(4);
    cpu.mmu.setCr3(0x5000); // a task switch
    expect(cpu.fetchEpoch).not.toBe(kernel[0]);
    expect(cpu.globalEpoch).toBe(kernel[1]);
    enter(cpu, 0x73, 3);
    expect([...user, ...kernel]).not.toContain(cpu.fetchEpoch);
    expect(cpu.globalEpoch).toBe(user[1]);
    // A global page code came from, dropped by INVLPG, ends the global epochs (and the others).
    const before = [cpu.fetchEpoch, cpu.globalEpoch];
    cpu.mmu.invalidatePage(0xc0100000);
    expect(cpu.fetchEpoch).toBe(before[0]);
    cpu.mmu.tlb[0xc0100] = 0xc0100000 | TlbBit.VALID | TlbBit.READ | TlbBit.GLOBAL;
    expect(cpu.mmu.noteFetch(0xc0100)).toBe(true);
    cpu.mmu.invalidatePage(0xc0100000);
    expect([...before, ...user, ...kernel]).not.toContain(cpu.fetchEpoch);
    expect([...before, ...user, ...kernel]).not.toContain(cpu.globalEpoch);
    const afterInvlpg = [cpu.fetchEpoch, cpu.globalEpoch];
    cpu.mmu.flushAll();
    expect(afterInvlpg).not.toContain(cpu.fetchEpoch);
    expect(afterInvlpg).not.toContain(cpu.globalEpoch);
  });

  it('forgets the oldest contexts beyond the few it keeps, never reusing an epoch for another', () => {
    const cpu = makeCpu();
    const epochs: number[] = [];
    for (let i = 0; i < 8; i++) {
      enter(cpu, 0x08, 0, i << 16);
      epochs.push(cpu.fetchEpoch);
    }
    expect(new Set(epochs).size).toBe(8);
    // The last context is still kept; the first was replaced and comes back with a new epoch.
    enter(cpu, 0x08, 0, 7 << 16);
    expect(cpu.fetchEpoch).toBe(epochs[7]);
    enter(cpu, 0x08, 0, 0);
    expect(epochs).not.toContain(cpu.fetchEpoch);
  });
});
