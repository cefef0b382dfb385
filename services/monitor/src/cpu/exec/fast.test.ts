import { Code, decodeInstruction, DecodeStatus, Instruction } from '@plex86/x86';
import { describe, expect, it } from 'vitest';
import { PortSpace } from '../../io/port-space.js';
import { PhysicalMemory } from '../../memory/physical-memory.js';
import { Attr, Cpu } from '../cpu.js';
import { CPU_FAULT } from '../fault.js';
import { Cr0 } from '../registers.js';
import { fastCodes, fastHandler } from './fast.js';
import './index.js';
import { HANDLERS } from './table.js';

const RAM = 1 << 20;

function makeCpu(bits: 16 | 32): Cpu {
  const cpu = new Cpu(new PhysicalMemory({ ramSize: RAM }), new PortSpace());
  if (bits === 32) {
    cpu.setCr0(cpu.cr0 | Cr0.PE);
    const attr = Attr.P | Attr.S | Attr.RW | Attr.ACCESSED | Attr.DB | Attr.G;
    for (let s = 0; s < 6; s++) cpu.loadSegmentCache(s, 0x10, 0, -1, s === 1 ? attr | Attr.CODE : attr);
  } else {
    for (let s = 0; s < 6; s++) cpu.loadRealSegment(s, 0);
  }
  return cpu;
}

/** Runs one handler and returns the vector it raised, or -1. */
function exec(cpu: Cpu, handler: (c: Cpu, i: Instruction) => void, ins: Instruction): number {
  try {
    handler(cpu, ins);
    return -1;
  } catch (e) {
    if (e !== CPU_FAULT) throw e;
    return cpu.faultVector;
  }
}

describe('specialised handlers', () => {
  it('exist for the hot forms', () => {
    expect(fastCodes()).toContain(Code.Add_rm32_r32);
    expect(fastCodes()).toContain(Code.Jne_rel8_32);
    expect(fastCodes().length).toBeGreaterThan(150);
  });

  for (const bits of [16, 32] as const) {
    it(`behave exactly like the generic handlers on random ${bits}-bit instructions and state`, () => {
      let seed = bits * 7919;
      const rnd = (): number => {
        seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x9e3779b9) | 0;
        return seed >>> 0;
      };
      const a = makeCpu(bits);
      const b = makeCpu(bits);
      const bytes = new Uint8Array(16);
      const ins = new Instruction();
      const seen = new Set<number>();
      const mismatches: string[] = [];
      let tried = 0;
      for (let n = 0; n < 200_000 && tried < 6000; n++) {
        for (let i = 0; i < 16; i++) bytes[i] = rnd() & 0xff;
        if (decodeInstruction(bytes, 0, 16, 0x1000, bits, ins) !== DecodeStatus.Ok) continue;
        const fast = fastHandler(ins);
        if (fast === undefined) continue;
        tried++;
        seen.add(ins.code);
        // Same random state in both CPUs: registers, a lazy flag state from a random ALU result, memory.
        for (let r = 0; r < 8; r++) {
          const v = rnd() | 0;
          a.r32[r] = v;
          b.r32[r] = v;
        }
        const flags = (rnd() & 0x8d5) | 2;
        a.eflags = flags;
        b.eflags = flags;
        const lz = [0, 0x8d52001, 0x8d50803, 0x8d41001][rnd() & 3];
        const res = rnd() | 0;
        const opa = rnd() | 0;
        const opb = rnd() | 0;
        a.setLazy(lz, res, opa, opb);
        b.setLazy(lz, res, opa, opb);
        for (let i = 0; i < 64; i++) {
          const addr = rnd() % RAM;
          const v = rnd() & 0xff;
          a.mem.write8(addr, v);
          b.mem.write8(addr, v);
        }
        a.eip = 0x1000 + ins.length;
        b.eip = 0x1000 + ins.length;
        const va = exec(a, HANDLERS[ins.code], ins);
        const vb = exec(b, fast, ins);
        const diffs: string[] = [];
        if (va !== vb) diffs.push(`fault ${va} != ${vb}`);
        for (let r = 0; r < 8; r++) if (a.r32[r] !== b.r32[r]) diffs.push(`r${r} ${a.r32[r]} != ${b.r32[r]}`);
        if (va === -1 && (a.eflags & 0x8d5) !== (b.eflags & 0x8d5)) diffs.push(`flags ${a.eflags} != ${b.eflags}`);
        if (a.eip !== b.eip) diffs.push(`eip ${a.eip} != ${b.eip}`);
        if (Buffer.compare(a.mem.ram, b.mem.ram) !== 0) diffs.push('memory differs');
        if (diffs.length > 0) {
          mismatches.push(
            `${Code[ins.code]} ${Array.from(bytes.subarray(0, ins.length), (x) => x.toString(16)).join(' ')}: ${diffs.join(', ')}`,
          );
          a.mem.ram.set(b.mem.ram);
        }
      }
      expect(mismatches.slice(0, 10)).toEqual([]);
      expect(tried).toBe(6000);
      expect(seen.size).toBeGreaterThan(100);
    });
  }

  it('give IMUL the generic carry, overflow and result at the edges of the truncation', () => {
    const edges = [0, 1, -1, 2, 3, 0x7fff, 0x8000, -0x8000, 0xffff, 0x10000, 0xb505, 46341, 0x7fffffff, -0x80000000];
    const forms = [
      [0x0f, 0xaf, 0xc1], // imul eax, ecx
      [0x66, 0x0f, 0xaf, 0xc1], // imul ax, cx
      [0x69, 0xc1, 0, 0x80, 0, 0], // imul eax, ecx, 0x8000
      [0x66, 0x6b, 0xc1, 0xfe], // imul ax, cx, -2
    ];
    const a = makeCpu(32);
    const b = makeCpu(32);
    const ins = new Instruction();
    const mismatches: string[] = [];
    let overflows = 0;
    for (const bytes of forms) {
      expect(decodeInstruction(Uint8Array.from(bytes), 0, bytes.length, 0x1000, 32, ins)).toBe(DecodeStatus.Ok);
      const fast = fastHandler(ins) as (c: Cpu, i: Instruction) => void;
      expect(fast).toBeDefined();
      for (const x of edges) {
        for (const y of edges) {
          for (const cpu of [a, b]) {
            cpu.r32[0] = x;
            cpu.r32[1] = y;
            cpu.eflags = 0x8d5 | 2;
          }
          HANDLERS[ins.code](a, ins);
          fast(b, ins);
          if ((a.eflags & 1) !== 0) overflows++;
          if (a.r32[0] !== b.r32[0] || a.eflags !== b.eflags) {
            mismatches.push(`${Code[ins.code]} ${x} * ${y}: ${a.r32[0]}/${a.eflags} != ${b.r32[0]}/${b.eflags}`);
          }
        }
      }
    }
    expect(mismatches).toEqual([]);
    // Both outcomes of the truncation were seen.
    expect(overflows).toBeGreaterThan(50);
    expect(overflows).toBeLessThan(forms.length * edges.length ** 2 - 50);
  });
});
