// The CPU's quick x87 forms (cpu/exec/x87.ts: FLD and FST/FSTP m64real, FLDCW, FNSTCW, FNSTSW AX and
// the register forms) against x87Escape, the general path they stand in for: two CPUs are brought to
// the same random state (control word, stack, pending exceptions, CR0.TS) and run the same
// instruction, one through its handler and one through x87Escape; the FPU, the memory operand, AX,
// EFLAGS and the fault raised must come out the same.

import { decodeInstruction, DecodeStatus, Instruction } from '@plex86/x86';
import { describe, expect, it } from 'vitest';
import { Attr, Cpu } from '../../src/cpu/cpu.js';
import '../../src/cpu/exec/index.js';
import { HANDLERS } from '../../src/cpu/exec/table.js';
import { x87Escape } from '../../src/cpu/exec/x87.js';
import { CPU_FAULT } from '../../src/cpu/fault.js';
import { Cr0, Seg } from '../../src/cpu/registers.js';
import { PortSpace } from '../../src/io/port-space.js';
import { PhysicalMemory } from '../../src/memory/physical-memory.js';
import { Rng } from './diff.js';

const CODE = 0x1000;
/** EBX points at the operand loads read, ESI at the one stores write. */
const LOAD_AT = 0x3000;
const STORE_AT = 0x5000;

/** The instructions that have quick forms, with the register forms the C library's code runs most. */
const QUICK: readonly (readonly number[])[] = [
  [0xdd, 0x03], // fld qword [ebx]
  [0xdd, 0x16], // fst qword [esi]
  [0xdd, 0x1e], // fstp qword [esi]
  [0xd9, 0x2b], // fldcw [ebx]
  [0xd9, 0x3e], // fnstcw [esi]
  [0xdf, 0xe0], // fnstsw ax
  [0xd9, 0xc9], // fxch st1
  [0xdd, 0xd9], // fstp st1
  [0xdd, 0xd8], // fstp st0
  [0xd9, 0xc0], // fld st0
  [0xd9, 0xee], // fldz
  [0xd9, 0xe8], // fld1
  [0xdd, 0xe1], // fucom st1
  [0xdd, 0xe9], // fucomp st1
  [0xde, 0xc1], // faddp st1, st0
  [0xde, 0xc9], // fmulp st1, st0
  [0xd8, 0xf1], // fdiv st0, st1
  [0xd9, 0xe0], // fchs
  [0xdb, 0xe9], // fucomi st0, st1
  [0xdf, 0xf1], // fcomip st0, st1
  [0xdb, 0xe2], // fnclex
  [0xd9, 0xf8], // fprem
];

const FLD_EBX = [0xdd, 0x03];
const FLDCW_EBX = [0xd9, 0x2b];
const FDIVP = [0xde, 0xf9];

function makeCpu(): Cpu {
  const cpu = new Cpu(new PhysicalMemory({ ramSize: 1 << 20 }), new PortSpace());
  cpu.setCr0((cpu.cr0 | Cr0.PE | Cr0.NE) & ~(Cr0.EM | Cr0.TS));
  const flat = Attr.P | Attr.S | Attr.RW | Attr.ACCESSED | Attr.DB | Attr.G;
  for (let s = 0; s < 6; s++) cpu.loadSegmentCache(s, 0x10, 0, -1, s === Seg.CS ? flat | Attr.CODE : flat);
  cpu.r32[3] = LOAD_AT;
  cpu.r32[6] = STORE_AT;
  return cpu;
}

function decode(bytes: readonly number[]): Instruction {
  const code = Uint8Array.from(bytes);
  const ins = new Instruction();
  expect(decodeInstruction(code, 0, code.length, CODE, 32, ins)).toBe(DecodeStatus.Ok);
  return ins;
}

/** Runs `ins` at `eip` through `handler`; returns the vector of the fault it raised, or -1. */
function runOn(cpu: Cpu, ins: Instruction, handler: (cpu: Cpu, ins: Instruction) => void, eip = CODE): number {
  cpu.insEip = eip;
  cpu.eip = eip + ins.length;
  try {
    handler(cpu, ins);
  } catch (e) {
    if (e !== CPU_FAULT) throw e;
    return cpu.faultVector;
  }
  return -1;
}

/** A double's bit pattern of every class: normal (some exact integers), zero, denormal, infinity, NaN. */
function randomDouble(rng: Rng): [number, number] {
  const sign = rng.u32() & 0x80000000;
  switch (rng.u32() % 8) {
    case 0:
      return [sign, 0];
    case 1:
      return [sign | (rng.u32() & 0xfffff), rng.u32()];
    case 2:
      return [sign | 0x7ff00000, 0];
    case 3:
      return [sign | 0x7ff00000 | (rng.u32() & 0xfffff) | 1, rng.u32()];
    case 4: {
      // A small integer, which stores back exactly.
      const view = new DataView(new ArrayBuffer(8));
      view.setFloat64(0, (rng.u32() % 100000) - 50000, true);
      return [view.getUint32(4, true), view.getUint32(0, true)];
    }
    default: {
      const e = 1 + (rng.u32() % 2046);
      return [(sign | (e << 20) | (rng.u32() & 0xfffff)) >>> 0, rng.u32()];
    }
  }
}

function putDouble(cpu: Cpu, at: number, [hi, lo]: [number, number]): void {
  cpu.mem.write32(at, lo);
  cpu.mem.write32(at + 4, hi);
}

/** What an instruction can change, as one string to compare. */
function state(cpu: Cpu, fault: number): string {
  const fpu = cpu.fpu;
  const operand = Array.from({ length: 8 }, (_, i) => cpu.mem.read8(STORE_AT + i));
  return JSON.stringify({
    fault,
    ctl: Array.from(fpu.ctl),
    se: Array.from(fpu.se),
    hi: Array.from(fpu.hi),
    lo: Array.from(fpu.lo),
    operand,
    eax: cpu.r32[0],
    eflags: cpu.eflags,
    ferrWaiting: cpu.ferrWaiting,
  });
}

describe('the quick x87 forms', () => {
  it('leave what x87Escape leaves, from random states', () => {
    const rng = new Rng(0x5eed87);
    const quick = makeCpu();
    const general = makeCpu();
    const fninit = decode([0xdb, 0xe3]);
    const mismatches: string[] = [];
    const faults = new Set<number>();
    for (let round = 0; round < 3000; round++) {
      // The control word: any precision and rounding, now and then an exception unmasked.
      const cw = 0x40 | (rng.u32() & 0xf00) | (rng.u32() % 4 === 0 ? rng.u32() & 0x3f : 0x3f);
      const depth = rng.u32() % 9;
      const setup: [number, number][] = Array.from({ length: depth }, () => randomDouble(rng));
      const divide = rng.u32() % 3 === 0;
      const ts = rng.u32() % 16 === 0;
      const operand = randomDouble(rng);
      const bytes = QUICK[rng.u32() % QUICK.length] as readonly number[];
      const ins = decode(bytes);
      const after: string[] = [];
      for (const cpu of [quick, general]) {
        cpu.setCr0(cpu.cr0 & ~Cr0.TS);
        runOn(cpu, fninit, x87Escape);
        cpu.mem.write32(LOAD_AT, cw);
        runOn(cpu, decode(FLDCW_EBX), x87Escape);
        for (const value of setup) {
          putDouble(cpu, LOAD_AT, value);
          runOn(cpu, decode(FLD_EBX), x87Escape);
        }
        // A quotient rounded to the precision control (which FST m64real may have to round again,
        // with C1 set when it was rounded up), or an exception.
        if (divide) runOn(cpu, decode(FDIVP), x87Escape);
        if (ts) cpu.setCr0(cpu.cr0 | Cr0.TS);
        putDouble(cpu, LOAD_AT, operand);
        putDouble(cpu, STORE_AT, [0x11223344, 0x55667788]);
        cpu.r32[0] = 0x12345678;
      }
      // At an IP of its own, which the instruction pointer it leaves must show.
      const eip = CODE + 0x100 + round;
      const fault = runOn(quick, ins, HANDLERS[ins.code] as (cpu: Cpu, ins: Instruction) => void, eip);
      faults.add(fault);
      after.push(state(quick, fault));
      after.push(state(general, runOn(general, ins, x87Escape, eip)));
      if (after[0] !== after[1]) {
        mismatches.push(`round ${round}, ${bytes.map((b) => b.toString(16)).join(' ')}:\n  ${after.join('\n  ')}`);
      }
    }
    expect(mismatches.slice(0, 3)).toEqual([]);
    // The rounds reach the checks' other outcomes too: #NM with CR0.TS, #MF with an exception pending.
    expect([...faults].sort((a, b) => a - b)).toEqual([-1, 7, 16]);
    // The quick forms are installed: x87Escape is not the handler of any of them.
    for (const bytes of QUICK) expect(HANDLERS[decode(bytes).code]).not.toBe(x87Escape);
  });
});
