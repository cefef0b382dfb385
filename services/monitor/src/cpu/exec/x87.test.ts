// How x87Escape reaches a memory operand: in place in RAM when the TLB maps it on one page, else
// through the FPU's scratch buffer and the CPU's accesses (a page crossing, a page with code).

import { decodeInstruction, DecodeStatus, Instruction } from '@plex86/x86';
import { describe, expect, it } from 'vitest';
import { PortSpace } from '../../io/port-space.js';
import { PhysicalMemory } from '../../memory/physical-memory.js';
import { Attr, Cpu } from '../cpu.js';
import { CTL_FOP } from '../../fpu/fpu.js';
import { Cr0, Seg } from '../registers.js';
import './index.js';
import { HANDLERS } from './table.js';
import { escapeOpcode } from './x87.js';

const CODE = 0x1000;

/** A CPU in flat 32-bit protected mode with its FPU initialised (FNINIT). */
function makeCpu(): Cpu {
  const cpu = new Cpu(new PhysicalMemory({ ramSize: 1 << 20 }), new PortSpace());
  cpu.setCr0((cpu.cr0 | Cr0.PE) & ~(Cr0.EM | Cr0.TS));
  const flat = Attr.P | Attr.S | Attr.RW | Attr.ACCESSED | Attr.DB | Attr.G;
  for (let s = 0; s < 6; s++) cpu.loadSegmentCache(s, 0x10, 0, -1, s === Seg.CS ? flat | Attr.CODE : flat);
  run(cpu, [0xdb, 0xe3]);
  return cpu;
}

/** Runs one x87 instruction, its bytes placed at CODE as a fetch would find them. */
function run(cpu: Cpu, bytes: readonly number[]): void {
  const code = Uint8Array.from(bytes);
  cpu.mem.ram.set(code, CODE);
  const ins = new Instruction();
  expect(decodeInstruction(code, 0, code.length, CODE, 32, ins)).toBe(DecodeStatus.Ok);
  cpu.insEip = CODE;
  cpu.eip = CODE + ins.length;
  HANDLERS[ins.code](cpu, ins);
}

function writeF64(cpu: Cpu, phys: number, v: number): void {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, v, true);
  for (let i = 0; i < 8; i++) cpu.mem.write8(phys + i, view.getUint8(i));
}

function readF64(cpu: Cpu, phys: number): number {
  const view = new DataView(new ArrayBuffer(8));
  for (let i = 0; i < 8; i++) view.setUint8(i, cpu.mem.read8(phys + i));
  return view.getFloat64(0, true);
}

// fld qword [ebx]; fmul qword [ebx]; fstp qword [esi]
const FLD_EBX = [0xdd, 0x03];
const FMUL_EBX = [0xdc, 0x0b];
const FSTP_ESI = [0xdd, 0x1e];

/**
 * Paging on, the first 4 MiB mapped to themselves but for the linear pages in `moved`, which map to
 * other physical pages: an operand across a page boundary then lies in two pages apart in RAM.
 */
function page(cpu: Cpu, moved: ReadonlyMap<number, number>): void {
  const dir = 0x80000;
  const table = 0x81000;
  cpu.mem.write32(dir, table | 3);
  for (let i = 0; i < 1024; i++) cpu.mem.write32(table + 4 * i, ((moved.get(i << 12) ?? i << 12) | 3) >>> 0);
  cpu.setCr3(dir);
  cpu.setCr0(cpu.cr0 | Cr0.PG);
}

describe('the FOP of an escape instruction', () => {
  it("is its escape byte's low bits and its ModRM byte, through every path of the decoder", () => {
    // Unprefixed, after one prefix the decoder's fast path takes (DS), and after an address-size
    // prefix (16-bit addressing in 32-bit code), which the general path decodes.
    const mismatches: string[] = [];
    let decoded = 0;
    for (const prefix of [[], [0x3e], [0x67]]) {
      for (let escape = 0xd8; escape <= 0xdf; escape++) {
        for (let modrm = 0; modrm < 256; modrm++) {
          const bytes = Uint8Array.from([...prefix, escape, modrm, 0x24, 0x10, 0x20, 0x30, 0x40, 0x50]);
          const ins = new Instruction();
          if (decodeInstruction(bytes, 0, bytes.length, CODE, 32, ins) !== DecodeStatus.Ok) continue;
          decoded++;
          const fop = ((escape & 7) << 8) | modrm;
          if (escapeOpcode(ins) !== fop)
            mismatches.push(`${[...bytes.subarray(0, prefix.length + 2)].map((b) => b.toString(16))}`);
        }
      }
    }
    expect(mismatches).toEqual([]);
    // Every memory form and most register forms decode.
    expect(decoded).toBeGreaterThan(3 * 8 * 192);
  });
});

describe('x87 memory operands', () => {
  it('load, compute with and store a float64 on one page', () => {
    const cpu = makeCpu();
    page(cpu, new Map());
    writeF64(cpu, 0x3000, 1.5);
    cpu.r32[3] = 0x3000;
    cpu.r32[6] = 0x5000;
    run(cpu, FLD_EBX);
    run(cpu, FMUL_EBX);
    run(cpu, FSTP_ESI);
    expect(readF64(cpu, 0x5000)).toBe(2.25);
    expect(cpu.mem.read8(0x4fff)).toBe(0);
    expect(cpu.mem.read8(0x5008)).toBe(0);
    // FDP is the operand's offset, FOP the escape's low bits and ModRM (FSTP qword [esi]).
    expect(cpu.fpu.dp).toBe(0x5000);
    expect(cpu.fpu.ctl[CTL_FOP]).toBe(0x51e);
  });

  it('load and store a float64 across a page boundary, whose halves lie apart in RAM', () => {
    const cpu = makeCpu();
    // Linear 0x4000 and 0x6000 map to physical 0x20000 and 0x21000.
    page(
      cpu,
      new Map([
        [0x4000, 0x20000],
        [0x6000, 0x21000],
      ]),
    );
    const view = new DataView(new ArrayBuffer(8));
    view.setFloat64(0, 1.5, true);
    for (let i = 0; i < 8; i++) cpu.mem.write8(i < 4 ? 0x3ffc + i : 0x20000 + i - 4, view.getUint8(i));
    cpu.r32[3] = 0x3ffc;
    cpu.r32[6] = 0x5ffa;
    run(cpu, FLD_EBX);
    run(cpu, FMUL_EBX);
    run(cpu, FSTP_ESI);
    view.setFloat64(0, 2.25, true);
    const stored = [0x5ffa, 0x5ffb, 0x5ffc, 0x5ffd, 0x5ffe, 0x5fff, 0x21000, 0x21001].map((p) => cpu.mem.read8(p));
    expect(stored).toEqual([...new Uint8Array(view.buffer)]);
    expect(cpu.mem.read16(0x6000)).toBe(0);
  });

  it('stores into a page with scanned code through the CPU, which reports the write', () => {
    const cpu = makeCpu();
    const written: number[] = [];
    cpu.mem.setCodeWriteListener((phys, length) => written.push(phys, length));
    cpu.mem.markCode(0x7);
    writeF64(cpu, 0x3000, -0.125);
    cpu.r32[3] = 0x3000;
    cpu.r32[6] = 0x7000;
    run(cpu, FLD_EBX);
    run(cpu, FSTP_ESI);
    expect(readF64(cpu, 0x7000)).toBe(-0.125);
    expect(written).toEqual([0x7000, 4, 0x7004, 4]);
  });
});
