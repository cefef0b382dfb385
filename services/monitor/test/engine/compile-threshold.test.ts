// The run loop compiles a block once it has run as often as the threshold for the CPU's privilege says:
// CPL 0 code has a threshold of its own (Engine.kernelThreshold), the rest another (userThreshold).

import { describe, expect, it } from 'vitest';
import { StopReason } from '../../src/engine/engine.js';
import { le32 } from '../../src/acpi/aml.js';
import { flatMachine, type FlatMachine } from '../support/flat-machine.js';

const CODE = 0x10000;
const KERNEL = 400;
const USER = 100;

/**
 * mov ecx, iterations; .loop: dec ecx; jnz .loop; hlt — run at `cpl` up to the HLT (which it does not
 * run: at CPL 3 it would fault), with the thresholds above.
 */
function loop(cpl: 0 | 3, iterations: number): FlatMachine {
  const m = flatMachine();
  m.engine.kernelThreshold = KERNEL;
  m.engine.userThreshold = USER;
  m.cpu.ram.set([0xb9, ...le32(iterations), 0x49, 0x75, 0xfd, 0xf4], CODE);
  m.cpu.eip = CODE;
  m.cpu.setCpl(cpl);
  expect(m.engine.run(1 + 2 * iterations)).toBe(StopReason.BUDGET);
  expect(m.cpu.r32[1]).toBe(0);
  expect(m.cpu.eip).toBe(CODE + 8);
  return m;
}

describe('the compile threshold', () => {
  it('is the user threshold for code outside CPL 0', () => {
    expect(loop(3, USER / 2).engine.stats.compiledBlocks).toBe(0);
    const m = loop(3, 4 * USER);
    expect(m.engine.stats.compiledBlocks).toBe(1);
    // The loop ran in its page function from the run that reached the threshold on: 3/4 of its runs.
    expect(m.engine.stats.regionInstructions).toBeGreaterThan(4 * USER);
  });

  it('is the kernel threshold for CPL 0 code', () => {
    // Past the user threshold but short of the kernel's: interpreted.
    expect(loop(0, 2 * USER).engine.stats.compiledBlocks).toBe(0);
    const m = loop(0, 4 * KERNEL);
    expect(m.engine.stats.compiledBlocks).toBe(1);
    expect(m.engine.stats.regionInstructions).toBeGreaterThan(4 * KERNEL);
  });

  it('is set for every privilege at once through compileThreshold', () => {
    const { engine } = flatMachine();
    expect(engine.kernelThreshold).toBeGreaterThan(engine.userThreshold);
    engine.compileThreshold = 7;
    expect([engine.kernelThreshold, engine.userThreshold]).toEqual([7, 7]);
  });
});
