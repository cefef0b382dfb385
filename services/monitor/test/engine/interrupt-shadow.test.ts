// STI (with IF clear) and MOV SS hold off interrupts for one instruction. The run loop runs that one
// instruction alone only when an interrupt is pending at that moment; otherwise the block after the
// STI runs whole, as after any other block.

import { describe, expect, it } from 'vitest';
import { Attr, Cpu } from '../../src/cpu/cpu.js';
import { Seg } from '../../src/cpu/registers.js';
import { Engine, resolveHandler, StopReason, type InterruptLine } from '../../src/engine/engine.js';
import { SbeBlockSource } from '../../src/engine/sbe-source.js';
import { PortSpace } from '../../src/io/port-space.js';
import { PhysicalMemory } from '../../src/memory/physical-memory.js';

const CODE = 0x10000;
const GDT = 0x20000;
const IDT = 0x21000;
const HANDLER = 0x30000;
const VECTOR = 0x20;

/** A flat 32-bit protected-mode machine with `code` at CODE and a HLT as the handler of VECTOR. */
function flatMachine(code: readonly number[], intr?: InterruptLine): { cpu: Cpu; engine: Engine } {
  const mem = new PhysicalMemory({ ramSize: 1 << 20 });
  const cpu = new Cpu(mem, new PortSpace());
  const blocks = new SbeBlockSource(mem, resolveHandler);
  blocks.onInvalidate = () => cpu.requestExit();
  const engine = new Engine(cpu, blocks, intr);
  const attr = Attr.P | Attr.S | Attr.RW | Attr.ACCESSED | Attr.DB | Attr.G;
  cpu.setCr0(cpu.cr0 | 1);
  for (let s = 0; s < 6; s++) cpu.loadSegmentCache(s, 0x10, 0, -1, s === Seg.CS ? attr | Attr.CODE : attr);
  const view = new DataView(cpu.ram.buffer, cpu.ram.byteOffset);
  view.setUint32(GDT + 0x10, 0x0000ffff, true);
  view.setUint32(GDT + 0x14, 0x00cf9a00, true);
  cpu.setGdt(GDT, 0x17);
  const gate = IDT + VECTOR * 8;
  view.setUint32(gate, (0x10 << 16) | (HANDLER & 0xffff), true);
  view.setUint32(gate + 4, (HANDLER & 0xffff0000) | 0x8e00, true);
  cpu.setIdt(IDT, 0x7ff);
  cpu.ram[HANDLER] = 0xf4;
  cpu.r32[4] = 0x80000;
  mem.ram.set(code, CODE);
  cpu.eip = CODE;
  return { cpu, engine };
}

/**
 * mov ebp, 3000
 * .loop: cli; sti; add eax, 1; add ebx, 2; dec ebp; jnz .loop
 * cli; hlt
 * Two blocks per iteration: CLI and STI (a block ends after STI), then the rest.
 */
const STI_LOOP: readonly number[] = [
  ...[0xbd, 0xb8, 0x0b, 0x00, 0x00],
  ...[0xfa, 0xfb, 0x83, 0xc0, 0x01, 0x83, 0xc3, 0x02, 0x4d, 0x75, 0xf5],
  ...[0xfa, 0xf4],
];
const ITERATIONS = 3000;

describe('the interrupt shadow after STI', () => {
  it('lets the block after STI run whole when no interrupt is pending', () => {
    const { cpu, engine } = flatMachine(STI_LOOP, { pending: () => false, acknowledge: () => VECTOR });
    // Blocks of the loop get hot: the one after STI runs in its page function only when entered whole.
    engine.compileThreshold = 64;
    expect(engine.run(1_000_000)).toBe(StopReason.HALTED);
    expect(cpu.r32[0]).toBe(ITERATIONS);
    expect(cpu.r32[3]).toBe(2 * ITERATIONS);
    expect(cpu.instructions).toBe(1 + ITERATIONS * 6 + 2);
    // Split after each STI, the loop would take three blocks per iteration (the lone ADD, then the
    // rest of the block entered in its middle, which is interpreted): 9067 blocks, 14678
    // instructions in page functions.
    expect(engine.stats.blocks).toBeLessThan(2 * ITERATIONS + 100);
    expect(engine.stats.regionInstructions).toBeGreaterThan(5.5 * ITERATIONS);
  });

  it('takes an interrupt pending at STI after exactly one more instruction', () => {
    // sti; inc eax; inc eax; inc eax; hlt
    let takenAt = -1;
    const line: InterruptLine = {
      pending: () => takenAt < 0,
      acknowledge: () => {
        takenAt = cpu.instructions;
        return VECTOR;
      },
    };
    const { cpu, engine } = flatMachine([0xfb, 0x40, 0x40, 0x40, 0xf4], line);
    expect(engine.run(1000)).toBe(StopReason.HALTED);
    expect(takenAt).toBe(2);
    expect(cpu.r32[0]).toBe(1);
    expect(cpu.eip).toBe(HANDLER + 1);
    // The return address the interrupt pushed: the second INC.
    const view = new DataView(cpu.ram.buffer, cpu.ram.byteOffset);
    expect(view.getUint32(cpu.r32[4] >>> 0, true)).toBe(CODE + 2);
  });
});
