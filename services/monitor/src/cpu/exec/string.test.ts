import { decodeInstruction, DecodeStatus, Instruction } from '@plex86/x86';
import { describe, expect, it } from 'vitest';
import { PortSpace } from '../../io/port-space.js';
import { PhysicalMemory } from '../../memory/physical-memory.js';
import { Attr, Cpu } from '../cpu.js';
import { CPU_FAULT } from '../fault.js';
import { Cr0, Seg } from '../registers.js';
import './index.js';
import { setStringFastPath } from './string.js';
import { HANDLERS } from './table.js';

function makeCpu(): Cpu {
  const cpu = new Cpu(new PhysicalMemory({ ramSize: 1 << 20 }), new PortSpace());
  cpu.setCr0(cpu.cr0 | Cr0.PE);
  const flat = Attr.P | Attr.S | Attr.RW | Attr.ACCESSED | Attr.DB | Attr.G;
  for (let s = 0; s < 6; s++) cpu.loadSegmentCache(s, 0x10, 0, -1, s === Seg.CS ? flat | Attr.CODE : flat);
  return cpu;
}

/** Runs the string instruction to completion (re-executing after slices); returns the fault vector or -1. */
function runToEnd(cpu: Cpu, ins: Instruction): number {
  for (let guard = 0; guard < 100; guard++) {
    cpu.insEip = 0x1000;
    cpu.eip = 0x1000 + ins.length;
    cpu.exitBlock = false;
    try {
      HANDLERS[ins.code](cpu, ins);
    } catch (e) {
      if (e !== CPU_FAULT) throw e;
      return cpu.faultVector;
    }
    if (cpu.eip !== 0x1000) return -1;
  }
  throw new Error('string instruction did not finish');
}

describe('REP string instructions on RAM', () => {
  it('give the same registers, flags and memory with and without the bulk path', () => {
    let seed = 4242;
    const rnd = (n: number): number => {
      seed = (Math.imul(seed ^ (seed >>> 13), 0x5bd1e995) + 0x6b43a9b5) | 0;
      return (seed >>> 0) % n;
    };
    // rep/repne prefix, optional 67 (16-bit addressing), opcode: movs, cmps, stos, scas in all sizes.
    const opcodes = [0xa4, 0xa5, 0xa6, 0xa7, 0xaa, 0xab, 0xae, 0xaf];
    const a = makeCpu();
    const b = makeCpu();
    const ins = new Instruction();
    const bytes = new Uint8Array(4);
    const mismatches: string[] = [];
    for (let t = 0; t < 600; t++) {
      let n = 0;
      bytes[n++] = rnd(2) === 0 ? 0xf3 : 0xf2;
      const a16 = rnd(4) === 0;
      if (a16) bytes[n++] = 0x67;
      if (rnd(3) === 0) bytes[n++] = 0x66;
      bytes[n++] = opcodes[rnd(opcodes.length)];
      expect(decodeInstruction(bytes, 0, n, 0x1000, 32, ins)).toBe(DecodeStatus.Ok);
      // Regions near page ends, overlapping ones, and a 16-bit segment limit now and then.
      const base = 0x10000 + rnd(0x8000);
      const src = base + rnd(0x3000);
      const dst = rnd(3) === 0 ? src + rnd(8) - 4 : base + rnd(0x3000);
      const count = rnd(6) === 0 ? rnd(20000) : rnd(3000);
      const limited = rnd(5) === 0;
      const acc = rnd(3) === 0 ? 0 : 0x5a5a5a5a;
      for (const cpu of [a, b]) {
        cpu.r32[1] = count;
        cpu.r32[6] = a16 ? src & 0xffff : src;
        cpu.r32[7] = a16 ? dst & 0xffff : dst;
        cpu.r32[0] = acc;
        cpu.eflags = 2;
        const data = Attr.P | Attr.S | Attr.RW | Attr.ACCESSED | (limited ? 0 : Attr.DB | Attr.G);
        cpu.loadSegmentCache(Seg.ES, 0x10, a16 ? base & 0xf0000 : 0, limited ? 0xffff : -1, data);
        cpu.loadSegmentCache(Seg.DS, 0x10, a16 ? base & 0xf0000 : 0, limited ? 0xffff : -1, data);
      }
      // Same memory contents: mostly zero with sparse marks, so scans end at different places.
      for (let i = 0; i < 40; i++) {
        const at = base + rnd(0x6000);
        const v = rnd(3) === 0 ? 0x5a : rnd(256);
        a.mem.write8(at, v);
        b.mem.write8(at, v);
      }
      setStringFastPath(true);
      const va = runToEnd(a, ins);
      setStringFastPath(false);
      const vb = runToEnd(b, ins);
      setStringFastPath(true);
      const diffs: string[] = [];
      if (va !== vb) diffs.push(`fault ${va} != ${vb}`);
      for (let r = 0; r < 8; r++) if (a.r32[r] !== b.r32[r]) diffs.push(`r${r} ${a.r32[r]} != ${b.r32[r]}`);
      if ((a.eflags & 0x8d5) !== (b.eflags & 0x8d5)) diffs.push(`flags ${a.eflags} != ${b.eflags}`);
      if (Buffer.compare(a.mem.ram, b.mem.ram) !== 0) diffs.push('memory differs');
      if (diffs.length > 0) {
        mismatches.push(
          `${Array.from(bytes.subarray(0, n), (x) => x.toString(16)).join(' ')} count ${count}: ${diffs.join(', ')}`,
        );
        a.mem.ram.set(b.mem.ram);
      }
    }
    expect(mismatches.slice(0, 8)).toEqual([]);
  });
});
