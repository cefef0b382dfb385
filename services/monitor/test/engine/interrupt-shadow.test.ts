// STI (with IF clear) and MOV SS hold off interrupts for one instruction. The run loop runs that one
// instruction alone only when an interrupt is pending at that moment; otherwise the block after the
// STI runs whole, as after any other block.

import { describe, expect, it } from 'vitest';
import { StopReason, type InterruptLine } from '../../src/engine/engine.js';
import { flatMachine as flat, haltOnVector } from '../support/flat-machine.js';

const CODE = 0x10000;
const HANDLER = 0x30000;
const VECTOR = 0x20;

/** The flat machine with `code` at CODE and a HLT as the handler of VECTOR. */
function flatMachine(code: readonly number[], intr?: InterruptLine): ReturnType<typeof flat> {
  const machine = flat(intr && (() => intr));
  haltOnVector(machine, VECTOR, HANDLER);
  machine.cpu.r32[4] = 0x80000;
  machine.cpu.ram.set(code, CODE);
  machine.cpu.eip = CODE;
  return machine;
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
    const { cpu, engine, view } = flatMachine([0xfb, 0x40, 0x40, 0x40, 0xf4], line);
    expect(engine.run(1000)).toBe(StopReason.HALTED);
    expect(takenAt).toBe(2);
    expect(cpu.r32[0]).toBe(1);
    expect(cpu.eip).toBe(HANDLER + 1);
    // The return address the interrupt pushed: the second INC.
    expect(view.getUint32(cpu.r32[4] >>> 0, true)).toBe(CODE + 2);
  });
});
