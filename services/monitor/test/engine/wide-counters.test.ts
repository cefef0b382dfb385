/**
 * Counters that pass 2^31 while a guest runs (the instruction count, the TSC offset, warped time,
 * the run loop's block and instruction counts) keep the object layout they started with. V8 stores
 * a number field that has held only small integers as such; the first larger value gives every
 * object of the class a new layout (map), and all optimised code that read such an object is thrown
 * away: on the default Linux guest, every page function at once, about 2.1 billion instructions in.
 */

import { setFlagsFromString } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { Attr } from '../../src/cpu/cpu.js';
import { Seg } from '../../src/cpu/registers.js';
import type { Machine } from '../../src/machine/machine.js';
import { pcMachine } from '../platform/support.js';

// %HaveSameMap compares the hidden classes of two objects; the flag must be on before it is parsed.
setFlagsFromString('--allow-natives-syntax');
const sameMap = new Function('a', 'b', 'return %HaveSameMap(a, b);') as (a: object, b: object) => boolean;

const LOOP = 0x1000;

/** Runs `count` instructions of a real-mode loop (inc eax; jmp short back) on `m`, counting from `from`. */
async function runLoop(m: Machine, from: number, count: number): Promise<Machine> {
  const cpu = m.cpu;
  cpu.mem.ram.set([0x66, 0x40, 0xeb, 0xfc], LOOP);
  cpu.loadSegmentCache(Seg.CS, 0, 0, 0xffff, Attr.P | Attr.S | Attr.RW | Attr.ACCESSED | Attr.CODE);
  cpu.eip = LOOP;
  cpu.instructions = from;
  const run = await m.run(count);
  expect(run.instructions).toBe(count);
  expect(cpu.r32[0]).toBe(count / 2);
  return m;
}

describe('counters past 2^31', () => {
  it('keep the layout of the CPU, the run loop, its statistics and the clock', async () => {
    // Layouts also settle on a machine's first run (fields that start empty); compare after one.
    const settled = await runLoop(pcMachine(), 0, 5000);
    const fresh = pcMachine();
    // Reported counters read +0, not the -0 that makes them doubles.
    expect(fresh.cpu.instructions).toBe(0);
    expect(fresh.engine.stats.blocks).toBe(0);
    expect(sameMap(settled.cpu, fresh.cpu)).toBe(true);

    const m = pcMachine();
    // Counters near 2^31 (warped time beyond it) that the run takes past it.
    m.engine.stats.blocks = 2 ** 31 - 10;
    m.engine.stats.chainedBlocks = 2 ** 31 - 10;
    m.engine.stats.slowFetches = 2 ** 31 - 10;
    m.clock.warpTo(m.clock.now() + 2 ** 32 * m.clock.nsPerInstruction);
    const wide = await runLoop(m, 2 ** 31 - 1000, 5000);
    expect(wide.cpu.instructions).toBeGreaterThan(2 ** 31);
    expect(wide.engine.stats.blocks).toBeGreaterThan(2 ** 31);
    expect(wide.engine.stats.chainedBlocks).toBeGreaterThan(2 ** 31);
    expect(wide.cpu.tscOffset).toBeGreaterThan(2 ** 31);

    expect(sameMap(wide.cpu, fresh.cpu)).toBe(true);
    expect(sameMap(wide.engine, fresh.engine)).toBe(true);
    expect(sameMap(wide.engine.stats, fresh.engine.stats)).toBe(true);
    expect(sameMap(wide.clock, fresh.clock)).toBe(true);
  });
});
