// The interpreter's generated loop (engine/interpreter.ts) runs its most frequent forms inline: each
// must do what the generic handler does, at any IP the block is entered at.

import { Code, decodeInstruction, DecodeStatus, Instruction } from '@plex86/x86';
import { describe, expect, it } from 'vitest';
import { Attr, Cpu } from '../../src/cpu/cpu.js';
import { fastHandler, packedTwin } from '../../src/cpu/exec/fast.js';
import { Packed, packRecord, PACKED_STRIDE, routineId, ROUTINES } from '../../src/cpu/exec/packed.js';
import { HANDLERS } from '../../src/cpu/exec/table.js';
import '../../src/cpu/exec/index.js';
import { INLINE_ROUTINES, packedInterpreter } from '../../src/engine/interpreter.js';
import { PortSpace } from '../../src/io/port-space.js';
import { PhysicalMemory } from '../../src/memory/physical-memory.js';
import { vectorOf } from '../support/faults.js';

const RAM = 1 << 20;

function makeCpu(bits: 16 | 32): Cpu {
  const cpu = new Cpu(new PhysicalMemory({ ramSize: RAM }), new PortSpace());
  if (bits === 32) {
    cpu.setCr0(cpu.cr0 | 1);
    const attr = Attr.P | Attr.S | Attr.RW | Attr.ACCESSED | Attr.DB | Attr.G;
    for (let s = 0; s < 6; s++) cpu.loadSegmentCache(s, 0x10, 0, -1, s === 1 ? attr | Attr.CODE : attr);
  } else {
    for (let s = 0; s < 6; s++) cpu.loadRealSegment(s, 0);
  }
  return cpu;
}

describe('the packed interpreter', () => {
  it('has a case for each of its 64 inline forms', () => {
    expect(new Set(INLINE_ROUTINES).size).toBe(64);
  });

  for (const bits of [16, 32] as const) {
    it(`runs its inline forms as the generic handlers do, on random ${bits}-bit instructions and state`, () => {
      let seed = bits * 104729;
      const rnd = (): number => {
        seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x9e3779b9) | 0;
        return seed >>> 0;
      };
      const inline = new Set(INLINE_ROUTINES);
      // An inline form that went through the routine table instead of its case fails the test.
      const saved = INLINE_ROUTINES.map((id) => ROUTINES[id]);
      for (const id of INLINE_ROUTINES) {
        ROUTINES[id] = () => {
          throw new Error(`routine ${id} was called, not run inline`);
        };
      }
      const a = makeCpu(bits);
      const c = makeCpu(bits);
      const interpret = packedInterpreter(c);
      const bytes = new Uint8Array(16);
      const ins = new Instruction();
      // The record sits after another, as a block's do in the arena.
      const packed = new Int32Array(2 * PACKED_STRIDE);
      const mask = bits === 16 ? 0xffff : -1;
      const seen = new Set<number>();
      const mismatches: string[] = [];
      let tried = 0;
      try {
        for (let n = 0; n < 400_000 && tried < 4000; n++) {
          for (let i = 0; i < 16; i++) bytes[i] = rnd() & 0xff;
          if (decodeInstruction(bytes, 0, 16, 0x1000, bits, ins) !== DecodeStatus.Ok) continue;
          const fast = fastHandler(ins);
          const twin = fast === undefined ? undefined : packedTwin(fast, ins);
          if (twin === undefined || !inline.has(routineId(twin))) continue;
          tried++;
          seen.add(routineId(twin));
          packRecord(ins, routineId(twin), packed, PACKED_STRIDE);
          for (let r = 0; r < 8; r++) {
            const v = rnd() | 0;
            a.r32[r] = v;
            c.r32[r] = v;
          }
          const flags = (rnd() & 0x8d5) | 2;
          a.eflags = flags;
          c.eflags = flags;
          for (let i = 0; i < 64; i++) {
            const addr = rnd() % RAM;
            const v = rnd() & 0xff;
            a.mem.write8(addr, v);
            c.mem.write8(addr, v);
          }
          // The block is entered at its own IP or 0x40 bytes further on.
          const delta = rnd() & 0x40;
          a.eip = (0x1000 + delta + ins.length) & mask;
          const va = vectorOf(a, () => HANDLERS[ins.code](a, ins));
          const before = c.instructions;
          const vc = vectorOf(c, () => interpret(c, [ins], packed, PACKED_STRIDE, 1, delta, mask));
          const diffs: string[] = [];
          if (va !== vc) diffs.push(`fault ${va} != ${vc}`);
          if (c.instructions - before !== (vc === -1 ? 1 : 0)) diffs.push(`counted ${c.instructions - before}`);
          for (let r = 0; r < 8; r++) if (a.r32[r] !== c.r32[r]) diffs.push(`r${r} ${a.r32[r]} != ${c.r32[r]}`);
          if (va === -1 && (a.eflags & 0x8d5) !== (c.eflags & 0x8d5)) diffs.push(`flags ${a.eflags} != ${c.eflags}`);
          if (va === -1 && a.eip !== c.eip) diffs.push(`eip ${a.eip} != ${c.eip}`);
          if (c.insEip !== ((0x1000 + delta) & mask)) diffs.push(`insEip ${c.insEip}`);
          if (Buffer.compare(a.mem.ram, c.mem.ram) !== 0) diffs.push('memory differs');
          if (diffs.length > 0) {
            mismatches.push(`${Code[ins.code]} delta ${delta}: ${diffs.join(', ')}`);
            c.mem.ram.set(a.mem.ram);
          }
        }
      } finally {
        INLINE_ROUTINES.forEach((id, k) => {
          ROUTINES[id] = saved[k] as (typeof ROUTINES)[number];
        });
      }
      expect(mismatches.slice(0, 10)).toEqual([]);
      expect(tried).toBe(4000);
      // 16-bit code reaches the [base + displacement] forms only with an address-size prefix.
      expect(seen.size).toBeGreaterThan(bits === 32 ? 55 : 30);
    });
  }

  /** The block of 32-bit code `bytes` at 0x1000, decoded and packed. */
  function block(bytes: readonly number[]): { records: Instruction[]; packed: Int32Array } {
    const code = Uint8Array.from(bytes);
    const records: Instruction[] = [];
    const packed = new Int32Array(code.length * PACKED_STRIDE);
    let off = 0;
    while (off < code.length) {
      const ins = new Instruction();
      expect(decodeInstruction(code, off, code.length, 0x1000 + off, 32, ins)).toBe(DecodeStatus.Ok);
      const handler = fastHandler(ins) ?? HANDLERS[ins.code];
      packRecord(ins, routineId(packedTwin(handler, ins) ?? handler), packed, records.length * PACKED_STRIDE);
      records.push(ins);
      off += ins.length;
    }
    return { records, packed };
  }

  it('runs on after a read that asks for an exit (a device) up to the next record that tests for one', () => {
    // mov eax, [ebx]; inc ecx; mov [esi], ecx; inc edx: all four run inline.
    const { records, packed } = block([0x8b, 0x03, 0x41, 0x89, 0x0e, 0x42]);
    expect(
      records.every((_, i) => INLINE_ROUTINES.includes(packed[i * PACKED_STRIDE + Packed.ROUTINE] as number)),
    ).toBe(true);
    const cpu = makeCpu(32);
    const interpret = packedInterpreter(cpu);
    const device = RAM - 0x1000;
    cpu.mem.mapMmio(device, 0x1000, { read8: () => (cpu.requestExit(), 0x5a), write8: () => undefined });
    cpu.r32[3] = device;
    cpu.r32[6] = 0x2000;
    cpu.r32[1] = 7;
    cpu.r32[2] = 0;
    interpret(cpu, records, packed, 0, records.length, 0, -1);
    // The exit waits for the write, which tests it: the block stops after it, as page functions do.
    expect(cpu.instructions).toBe(3);
    expect(cpu.exitBlock).toBe(true);
    expect(cpu.r32[0]).toBe(0x5a5a5a5a);
    expect(cpu.mem.read32(0x2000)).toBe(8);
    expect(cpu.eip).toBe(0x1005);
    expect(cpu.r32[2]).toBe(0);
  });

  describe('records that skip the IP bookkeeping (registers and flags only; memory without a jump)', () => {
    // mov eax, 0x2000; add eax, ebx; mov ecx, [eax]; xor edx, edx; inc edx
    const BYTES = [0xb8, 0x00, 0x20, 0x00, 0x00, 0x01, 0xd8, 0x8b, 0x08, 0x31, 0xd2, 0x42];
    const IPS = [0x1000, 0x1005, 0x1007, 0x1009, 0x100b];
    const END = 0x100c;

    it('leave EIP after the last record and insEip on it when the block ends with them', () => {
      const { records, packed } = block(BYTES);
      // After two, after the load (which sets insEip only) and after all five.
      for (const n of [2, 3, 5]) {
        const cpu = makeCpu(32);
        cpu.r32[3] = 0x10;
        cpu.eip = 0;
        packedInterpreter(cpu)(cpu, records, packed, 0, n, 0, -1);
        expect(cpu.instructions).toBe(n);
        expect(cpu.eip).toBe(n === 5 ? END : (IPS[n] as number));
        expect(cpu.insEip).toBe(IPS[n - 1]);
        expect(cpu.r32[0]).toBe(0x2010);
        if (n === 5) expect(cpu.r32[2]).toBe(1);
      }
    });

    it('leave the faulting record its own IP after them', () => {
      const { records, packed } = block(BYTES);
      const cpu = makeCpu(32);
      // DS ends below 0x2010: the load through it faults.
      cpu.loadSegmentCache(3, 0x10, 0, 0x1fff, Attr.P | Attr.S | Attr.RW | Attr.ACCESSED | Attr.DB);
      cpu.r32[3] = 0x10;
      expect(vectorOf(cpu, () => packedInterpreter(cpu)(cpu, records, packed, 0, 5, 0, -1))).toBe(13);
      expect(cpu.insEip).toBe(IPS[2]);
      expect(cpu.instructions).toBe(2);
    });
  });
});
