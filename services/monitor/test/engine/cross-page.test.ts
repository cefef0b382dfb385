// An instruction that crosses into the next page ends a block that holds it once the TLB knows
// where the next page is (Block.crossPage); until then, and whenever the next page is not mapped as
// when the block was scanned, it is fetched byte by byte through the TLB and decoded only when its
// bytes differ from the last time (engine/cross-page.ts): the guest must see written or remapped
// code at once, and a fault on the second page must name that page.

import { describe, expect, it } from 'vitest';
import { le32 } from '../../src/acpi/aml.js';
import type { Cpu } from '../../src/cpu/cpu.js';
import { Cr0 } from '../../src/cpu/registers.js';
import { StopReason, type Engine } from '../../src/engine/engine.js';
import { flatMachine, haltOnVector, type FlatMachine } from '../support/flat-machine.js';

const PD = 0x1000;
const PT = 0x2000;
const START = 0x10000;
const CROSSING = 0x10ffe;
const SECOND = 0x11000;
const OTHER = 0x12000;
const HANDLER = 0x30000;
const STACK = 0x80000;
const ITERATIONS = 1000;
const IMM = 0x01020304;

/**
 * Paging on, the first MiB mapped to itself. At START: mov ecx, ITERATIONS; jmp CROSSING. At
 * CROSSING: add eax, IMM (five bytes, three of them on the next page); dec ecx; jnz CROSSING; hlt.
 * A page fault goes to a HLT at HANDLER.
 */
function setup(): FlatMachine {
  const machine = flatMachine();
  const { cpu, view } = machine;
  haltOnVector(machine, 14, HANDLER);
  view.setUint32(PD, PT | 7, true);
  for (let page = 0; page < 256; page++) view.setUint32(PT + page * 4, (page << 12) | 7, true);
  cpu.setCr3(PD);
  cpu.setCr0(cpu.cr0 | Cr0.PG);
  const jmp = CROSSING - (START + 10);
  cpu.ram.set([0xb9, ...le32(ITERATIONS), 0xe9, ...le32(jmp)], START);
  // add eax, IMM; dec ecx; jnz CROSSING (from the next IP, SECOND + 6); hlt
  cpu.ram.set([0x05, ...le32(IMM), 0x49, 0x75, 0xf8, 0xf4], CROSSING);
  return machine;
}

function run(cpu: Cpu, engine: Engine): number {
  cpu.halted = false;
  cpu.eip = START;
  cpu.r32[0] = 0;
  cpu.r32[4] = STACK;
  expect(engine.run(1_000_000)).toBe(StopReason.HALTED);
  return cpu.r32[0] >>> 0;
}

describe('an instruction that crosses a page', () => {
  it('is fetched by itself until the TLB knows the next page, then runs in a block', () => {
    const { cpu, engine, blocks } = setup();
    expect(run(cpu, engine)).toBe((ITERATIONS * IMM) >>> 0);
    // The first time, the second page had not been translated: one fetch byte by byte, one decode
    // per byte as the decoder asks for them.
    expect(engine.stats.slowFetches).toBe(1);
    expect(engine.crossPage.decodes).toBe(5);
    // The block holds the instruction alone: a block ends at its page's end.
    const block = blocks.cache.peek(CROSSING, 1);
    expect(block?.crossPage).toBe(SECOND >>> 12);
    expect(block?.count).toBe(1);
  });

  it('is scanned again when code is written on either of its pages', () => {
    const { cpu, engine } = setup();
    expect(run(cpu, engine)).toBe((ITERATIONS * IMM) >>> 0);
    cpu.mem.write8(SECOND + 2, 0x7f); // the immediate's top byte, on the second page
    expect(run(cpu, engine)).toBe((ITERATIONS * 0x7f020304) >>> 0);
    cpu.mem.write8(CROSSING, 0x2d); // sub eax, imm32
    expect(run(cpu, engine)).toBe((-ITERATIONS * 0x7f020304) >>> 0);
    expect(engine.stats.slowFetches).toBe(1);
  });

  it('is fetched by itself while the next page is not mapped as when its block was scanned', () => {
    const { cpu, engine, view } = setup();
    expect(run(cpu, engine)).toBe((ITERATIONS * IMM) >>> 0);
    // The second page now maps OTHER, whose copy differs in the immediate's top byte: the kept block,
    // which the cache holds for the instruction's address, does not run, and each fetch reads the
    // bytes through the new translation.
    cpu.ram.set(cpu.ram.subarray(SECOND, SECOND + 0x10), OTHER);
    cpu.ram[OTHER + 2] = 0x66;
    view.setUint32(PT + (SECOND >>> 12) * 4, OTHER | 7, true);
    cpu.mmu.invalidatePage(SECOND);
    const before = engine.stats.slowFetches;
    expect(run(cpu, engine)).toBe((ITERATIONS * 0x66020304) >>> 0);
    expect(engine.stats.slowFetches - before).toBe(ITERATIONS);
  });

  it('leaves a page function that holds it when the next page is mapped elsewhere', () => {
    const { cpu, engine, blocks, view } = setup();
    // START: mov ecx, ITERATIONS; jmp INNER. INNER (on the first page): inc edx; jmp CROSSING.
    // After the crossing ADD: dec ecx; jnz INNER; hlt. INNER and the ADD run in one page function,
    // which passes control from one to the other without the run loop.
    const inner = 0x10f00;
    cpu.ram.set([0xb9, ...le32(ITERATIONS), 0xe9, ...le32(inner - (START + 10))], START);
    cpu.ram.set([0x42, 0xe9, ...le32(CROSSING - (inner + 6))], inner);
    cpu.ram.set([0x49, 0x0f, 0x85, ...le32(inner - (SECOND + 10)), 0xf4], SECOND + 3);
    engine.compileThreshold = 64;
    expect(run(cpu, engine)).toBe((ITERATIONS * IMM) >>> 0);
    const crossing = blocks.cache.peek(CROSSING, 1);
    expect(crossing?.crossPage).toBe(SECOND >>> 12);
    expect(crossing?.compiled).not.toBeNull();
    expect(crossing?.compiled).toBe(blocks.cache.peek(inner, 1)?.compiled);
    // The same bytes on OTHER but the immediate's top byte; the second page maps there now.
    cpu.ram.set(cpu.ram.subarray(SECOND, SECOND + 0x10), OTHER);
    cpu.ram[OTHER + 2] = 0x66;
    view.setUint32(PT + (SECOND >>> 12) * 4, OTHER | 7, true);
    cpu.mmu.invalidatePage(SECOND);
    expect(run(cpu, engine)).toBe((ITERATIONS * 0x66020304) >>> 0);
  });

  it('follows its second page to other code once the translation is dropped', () => {
    const { cpu, engine, view } = setup();
    expect(run(cpu, engine)).toBe((ITERATIONS * IMM) >>> 0);
    cpu.ram.set(cpu.ram.subarray(SECOND, SECOND + 0x10), OTHER);
    cpu.ram[OTHER + 2] = 0x55; // the immediate's top byte in the other page's copy
    view.setUint32(PT + (SECOND >>> 12) * 4, OTHER | 7, true);
    cpu.mmu.invalidatePage(SECOND);
    expect(run(cpu, engine)).toBe((ITERATIONS * 0x55020304) >>> 0);
  });

  it('faults on its second page with that page in CR2, also after it was kept', () => {
    const { cpu, engine, view } = setup();
    expect(run(cpu, engine)).toBe((ITERATIONS * IMM) >>> 0);
    view.setUint32(PT + (SECOND >>> 12) * 4, SECOND | 6, true); // not present
    cpu.mmu.invalidatePage(SECOND);
    cpu.halted = false;
    cpu.eip = START;
    cpu.r32[4] = STACK;
    expect(engine.run(1_000_000)).toBe(StopReason.HALTED);
    expect(cpu.eip).toBe(HANDLER + 1);
    expect(cpu.cr2 >>> 0).toBe(SECOND);
    // The error code (a read of a page not present, at CPL 0) and the return address: the ADD.
    expect(view.getUint32(cpu.r32[4] >>> 0, true)).toBe(0);
    expect(view.getUint32((cpu.r32[4] + 4) >>> 0, true)).toBe(CROSSING);
  });
});
