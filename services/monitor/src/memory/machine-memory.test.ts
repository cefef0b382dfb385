import { describe, expect, it } from 'vitest';
import { Cpu } from '../cpu/cpu.js';
import { Seg } from '../cpu/registers.js';
import { PortSpace } from '../io/port-space.js';
import { ADDRESS_PAGES, MACHINE_LAYOUT } from './machine-memory.js';
import { PhysicalMemory } from './physical-memory.js';

describe('machine memory', () => {
  it('keeps its areas apart, each large enough for what it holds', () => {
    const areas: [number, number][] = [
      [MACHINE_LAYOUT.regs, 32],
      [MACHINE_LAYOUT.state, 64],
      [MACHINE_LAYOUT.segLimit, 36],
      [MACHINE_LAYOUT.segBase, 36],
      [MACHINE_LAYOUT.segAccess, 9],
      [MACHINE_LAYOUT.tlbMasks, 16],
      [MACHINE_LAYOUT.segAttr, 18],
      [MACHINE_LAYOUT.tlb, ADDRESS_PAGES * 4],
      [MACHINE_LAYOUT.codePages, ADDRESS_PAGES * 4],
    ];
    areas.sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < areas.length; i++) {
      const [start, size] = areas[i - 1] as [number, number];
      expect(start + size).toBeLessThanOrEqual((areas[i] as [number, number])[0]);
    }
    const last = areas[areas.length - 1] as [number, number];
    expect(last[0] + last[1]).toBeLessThanOrEqual(MACHINE_LAYOUT.ram);
  });

  it('is what the CPU state, the TLB, the code map and RAM are views of', () => {
    const mem = new PhysicalMemory({ ramSize: 1 << 20 });
    const cpu = new Cpu(mem, new PortSpace());
    const bytes = new DataView(mem.machineMemory.buffer);
    cpu.r32[3] = 0x12345678;
    expect(bytes.getInt32(MACHINE_LAYOUT.regs + 12, true)).toBe(0x12345678);
    cpu.eip = 0xcafe;
    expect(bytes.getInt32(MACHINE_LAYOUT.state, true)).toBe(0xcafe);
    cpu.loadSegmentCache(Seg.DS, 0x10, 0x1000, 0xfff, 0x93);
    expect(bytes.getInt32(MACHINE_LAYOUT.segBase + 4 * Seg.DS, true)).toBe(0x1000);
    expect(bytes.getInt32(MACHINE_LAYOUT.segLimit + 4 * Seg.DS, true)).toBe(0xfff);
    expect(bytes.getUint8(MACHINE_LAYOUT.segAccess + Seg.DS)).toBe(cpu.segAccess[Seg.DS]);
    expect(bytes.getUint16(MACHINE_LAYOUT.segAttr + 2 * Seg.DS, true)).toBe(0x93);
    cpu.setCpl(3);
    expect(bytes.getInt32(MACHINE_LAYOUT.tlbMasks, true)).toBe(cpu.readMask);
    expect(bytes.getInt32(MACHINE_LAYOUT.tlbMasks + 12, true)).toBe(cpu.writeWant);
    cpu.tlb[5] = 0x7007;
    expect(bytes.getInt32(MACHINE_LAYOUT.tlb + 20, true)).toBe(0x7007);
    mem.markCode(9);
    expect(bytes.getUint32(MACHINE_LAYOUT.codePages + 36, true)).not.toBe(0);
    cpu.write32(Seg.DS, 0x10, 0x0badf00d);
    expect(bytes.getUint32(MACHINE_LAYOUT.ram + 0x1010, true)).toBe(0x0badf00d);
  });

  it('two machines do not share state', () => {
    const a = new Cpu(new PhysicalMemory({ ramSize: 1 << 20 }), new PortSpace());
    const b = new Cpu(new PhysicalMemory({ ramSize: 1 << 20 }), new PortSpace());
    a.r32[0] = 1;
    b.r32[0] = 2;
    a.ram[0] = 7;
    expect([a.r32[0], b.r32[0], b.ram[0]]).toEqual([1, 2, 0]);
  });
});
