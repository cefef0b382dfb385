// The run loop's shortcuts to the next block (the successor memo and the jump cache) must give way
// when the code at an EIP changes: a remapped page (new fetch epoch) or a write into the code.

import { xorshift32 } from '@plex86/x86/testing';
import { describe, expect, it } from 'vitest';
import { le32 } from '../../src/acpi/aml.js';
import type { Cpu } from '../../src/cpu/cpu.js';
import { Cr0, Cr4, Seg } from '../../src/cpu/registers.js';
import { StopReason, type Engine } from '../../src/engine/engine.js';
import { flatMachine, type FlatMachine } from '../support/flat-machine.js';

const PD = 0x1000;
const PT = 0x2000;
const LINEAR = 0x400000;
const CODE_A = 0x10000;
const CODE_B = 0x11000;

/** mov eax, imm32; hlt */
function movHlt(value: number): number[] {
  return [0xb8, ...le32(value), 0xf4];
}

function setup(): FlatMachine {
  const machine = flatMachine();
  const { cpu, engine, view } = machine;
  engine.compileThreshold = 0;
  cpu.ram.set(movHlt(0x1111), CODE_A);
  cpu.ram.set(movHlt(0x2222), CODE_B);
  view.setUint32(PD + (LINEAR >>> 22) * 4, PT | 7, true);
  view.setUint32(PT, CODE_A | 7, true);
  cpu.setCr3(PD);
  cpu.setCr0(cpu.cr0 | Cr0.PG);
  return machine;
}

function runAt(cpu: Cpu, engine: Engine, eip: number): number {
  cpu.halted = false;
  cpu.eip = eip;
  expect(engine.run(1000)).toBe(StopReason.HALTED);
  return cpu.r32[0];
}

describe('block shortcuts', () => {
  it('follow a page remapped under the same EIP once the TLB entry is dropped', () => {
    const { cpu, engine } = setup();
    for (let i = 0; i < 3; i++) expect(runAt(cpu, engine, LINEAR)).toBe(0x1111);
    new DataView(cpu.ram.buffer, cpu.ram.byteOffset).setUint32(PT, CODE_B | 7, true);
    // Without INVLPG the stale translation still holds, as on the processor.
    expect(runAt(cpu, engine, LINEAR)).toBe(0x1111);
    cpu.mmu.invalidatePage(LINEAR);
    for (let i = 0; i < 3; i++) expect(runAt(cpu, engine, LINEAR)).toBe(0x2222);
  });

  it('outlive an INVLPG of a page no code came from, and not one of a code page', () => {
    const { cpu, engine } = setup();
    for (let i = 0; i < 3; i++) expect(runAt(cpu, engine, LINEAR)).toBe(0x1111);
    const epoch = cpu.fetchEpoch;
    // A data page (copy-on-write in a forking guest): the memos of the code stay.
    cpu.mmu.invalidatePage(LINEAR + 0x5000);
    expect(cpu.fetchEpoch).toBe(epoch);
    expect(runAt(cpu, engine, LINEAR)).toBe(0x1111);
    new DataView(cpu.ram.buffer, cpu.ram.byteOffset).setUint32(PT, CODE_B | 7, true);
    cpu.mmu.invalidatePage(LINEAR);
    expect(cpu.fetchEpoch).not.toBe(epoch);
    expect(runAt(cpu, engine, LINEAR)).toBe(0x2222);
  });

  it('outlive a CR3 load on a global page, as its translation does, and not on other pages', () => {
    const { cpu, engine, blocks } = setup();
    const lookups = (): number => blocks.cache.stats.hits + blocks.cache.stats.misses;
    const view = new DataView(cpu.ram.buffer, cpu.ram.byteOffset);
    const GLOBAL = 0x100;
    // A second page directory maps LINEAR to CODE_B.
    const PD2 = 0x3000;
    const PT2 = 0x4000;
    view.setUint32(PD2 + (LINEAR >>> 22) * 4, PT2 | 7, true);
    view.setUint32(PT2, CODE_B | 7, true);
    // Non-global: the CR3 load switches to the other code.
    for (let i = 0; i < 3; i++) expect(runAt(cpu, engine, LINEAR)).toBe(0x1111);
    cpu.setCr3(PD2);
    expect(runAt(cpu, engine, LINEAR)).toBe(0x2222);
    cpu.setCr3(PD);
    expect(runAt(cpu, engine, LINEAR)).toBe(0x1111);
    // Global (PTE.G with CR4.PGE): the translation and the memos survive the CR3 load.
    cpu.setCr4(cpu.cr4 | Cr4.PGE);
    view.setUint32(PT, CODE_A | 7 | GLOBAL, true);
    for (let i = 0; i < 3; i++) expect(runAt(cpu, engine, LINEAR)).toBe(0x1111);
    const before = lookups();
    cpu.setCr3(PD2);
    for (let i = 0; i < 3; i++) expect(runAt(cpu, engine, LINEAR)).toBe(0x1111);
    expect(lookups()).toBe(before);
    // INVLPG drops the global translation: the code of the current page directory runs.
    cpu.mmu.invalidatePage(LINEAR);
    expect(runAt(cpu, engine, LINEAR)).toBe(0x2222);
  });

  it('carry over a CR3 load where the TLB maps the code as before, and not where it maps it elsewhere', () => {
    const { cpu, engine, blocks, view } = setup();
    const lookups = (): number => blocks.cache.stats.hits + blocks.cache.stats.misses;
    // At LINEAR: mov eax, 1; jmp +0 (a block of its own); add eax, 2; jmp LINEAR + 0x1000. At
    // LINEAR + 0x1000 (CODE_B in the first directory, CODE_C in the second): add eax, imm; hlt.
    const CODE_C = 0x12000;
    cpu.ram.set([0xb8, ...le32(1), 0xeb, 0x00, 0x83, 0xc0, 0x02, 0xe9, ...le32(0x1000 - 15)], CODE_A);
    cpu.ram.set([0x05, ...le32(0x100), 0xf4], CODE_B);
    cpu.ram.set([0x05, ...le32(0x200), 0xf4], CODE_C);
    view.setUint32(PT + 4, CODE_B | 7, true);
    const PD2 = 0x3000;
    const PT2 = 0x4000;
    view.setUint32(PD2 + (LINEAR >>> 22) * 4, PT2 | 7, true);
    view.setUint32(PT2, CODE_A | 7, true);
    view.setUint32(PT2 + 4, CODE_C | 7, true);
    for (let i = 0; i < 3; i++) expect(runAt(cpu, engine, LINEAR)).toBe(0x103);
    const before = lookups();
    // Each CR3 load starts a new epoch and empties the TLB: the first block is looked up (its page
    // walked), the one after it on the same page is not; the block on the next page, which the
    // other directory maps elsewhere, is.
    cpu.setCr3(PD2);
    expect(runAt(cpu, engine, LINEAR)).toBe(0x203);
    expect(lookups() - before).toBe(2);
    cpu.setCr3(PD);
    expect(runAt(cpu, engine, LINEAR)).toBe(0x103);
    expect(lookups() - before).toBe(4);
    // A debugger's fresh epoch is not carried over, though the TLB still maps all three blocks.
    engine.lookupEveryBlock(true);
    engine.lookupEveryBlock(false);
    expect(runAt(cpu, engine, LINEAR)).toBe(0x103);
    expect(lookups() - before).toBe(7);
  });

  it('are all forgotten when fetch epochs run out and start again', () => {
    const { cpu, engine } = setup();
    const view = new DataView(cpu.ram.buffer, cpu.ram.byteOffset);
    // A second page directory maps LINEAR to CODE_B; both map the next page to CODE_C. Every CR3
    // load takes a new epoch; epochs that came back would find memos and jump-cache entries made
    // under the other directory.
    const PD2 = 0x3000;
    const PT2 = 0x4000;
    const CODE_C = 0x12000;
    cpu.ram.set(movHlt(0x3333), CODE_C);
    view.setUint32(PD2 + (LINEAR >>> 22) * 4, PT2 | 7, true);
    view.setUint32(PT2, CODE_B | 7, true);
    view.setUint32(PT + 4, CODE_C | 7, true);
    view.setUint32(PT2 + 4, CODE_C | 7, true);
    cpu.epochLimit = 8;
    const rnd = xorshift32(7);
    for (let i = 0; i < 400; i++) {
      const second = (rnd() & 1) !== 0;
      cpu.setCr3(second ? PD2 : PD);
      const far = (rnd() & 3) === 0;
      expect(runAt(cpu, engine, far ? LINEAR + 0x1000 : LINEAR)).toBe(far ? 0x3333 : second ? 0x2222 : 0x1111);
    }
    expect(cpu.epochRestarts).toBeGreaterThan(50);
  });

  it('drop a block whose code the guest overwrote', () => {
    const { cpu, engine } = setup();
    for (let i = 0; i < 3; i++) expect(runAt(cpu, engine, LINEAR)).toBe(0x1111);
    cpu.write32(Seg.DS, LINEAR + 1, 0x3333);
    for (let i = 0; i < 3; i++) expect(runAt(cpu, engine, LINEAR)).toBe(0x3333);
    expect(engine.stats.compiledBlocks).toBeGreaterThan(1);
  });
});

/** The code at LINEAR + 0x1000 that jumps to LINEAR, run `times` times; EAX as each run ends. */
function jumpIn(cpu: Cpu, engine: Engine, times: number): number[] {
  const results: number[] = [];
  for (let i = 0; i < times; i++) results.push(runAt(cpu, engine, LINEAR + 0x1000));
  return results;
}

/** setup(), with a JMP rel32 to LINEAR on the next page of the mapping. */
function setupJump(): { cpu: Cpu; engine: Engine } {
  const { cpu, engine } = setup();
  const CODE_C = 0x13000;
  const rel = -0x1000 - 5;
  cpu.ram.set([0xe9, rel & 0xff, (rel >>> 8) & 0xff, (rel >>> 16) & 0xff, rel >>> 24], CODE_C);
  new DataView(cpu.ram.buffer, cpu.ram.byteOffset).setUint32(PT + 4, CODE_C | 7, true);
  return { cpu, engine };
}

/** Maps LINEAR to CODE_B (mov eax, 0x2222; hlt) and drops the old translation, as the guest would. */
function remapTarget(cpu: Cpu): void {
  new DataView(cpu.ram.buffer, cpu.ram.byteOffset).setUint32(PT, CODE_B | 7, true);
  cpu.mmu.invalidatePage(LINEAR);
}

describe('hand-off links between page functions', () => {
  it('give way when the target page is remapped', () => {
    const { cpu, engine } = setupJump();
    expect(jumpIn(cpu, engine, 4)).toEqual([0x1111, 0x1111, 0x1111, 0x1111]);
    // The later runs went from one page function to the other without the run loop.
    expect(engine.stats.regionHandoffs).toBeGreaterThanOrEqual(2);
    remapTarget(cpu);
    expect(jumpIn(cpu, engine, 3)).toEqual([0x2222, 0x2222, 0x2222]);
  });

  it('give way when the target code is overwritten', () => {
    const { cpu, engine } = setupJump();
    expect(jumpIn(cpu, engine, 4)).toEqual([0x1111, 0x1111, 0x1111, 0x1111]);
    const handoffs = engine.stats.regionHandoffs;
    cpu.write32(Seg.DS, LINEAR + 1, 0x3333);
    expect(jumpIn(cpu, engine, 3)).toEqual([0x3333, 0x3333, 0x3333]);
    expect(engine.stats.regionHandoffs).toBeGreaterThan(handoffs);
  });

  it('follow a return through the jump cache when the returning member holds another address', () => {
    const { cpu, engine } = setup();
    engine.borrowBlocks = false;
    const ITERATIONS = 50;
    // At LINEAR + 0x1000: mov ecx, ITERATIONS; .loop: call LINEAR; call LINEAR; dec ecx; jnz .loop; hlt.
    // At LINEAR: add eax, 1; ret. The function's return goes to either call's next record in turn.
    const rel = (from: number): number[] => {
      const r = -0x1000 - from;
      return [r & 0xff, (r >>> 8) & 0xff, (r >>> 16) & 0xff, r >>> 24];
    };
    const CODE_C = 0x13000;
    cpu.ram.set([0xb9, ITERATIONS, 0, 0, 0, 0xe8, ...rel(10), 0xe8, ...rel(15), 0x49, 0x75, 0xf3, 0xf4], CODE_C);
    cpu.ram.set([0x83, 0xc0, 0x01, 0xc3], CODE_A);
    const pt = new DataView(cpu.ram.buffer, cpu.ram.byteOffset);
    pt.setUint32(PT + 4, CODE_C | 7, true);
    pt.setUint32(PT + 8, 0x12000 | 7, true);
    cpu.r32[4] = LINEAR + 0x3000;
    cpu.r32[0] = 0;
    cpu.eip = LINEAR + 0x1000;
    expect(engine.run(100_000)).toBe(StopReason.HALTED);
    expect(cpu.r32[0]).toBe(2 * ITERATIONS);
    // Two calls and two returns pass between the pages' functions on each pass; after the first
    // passes, every one of them is a hand-off, the returns too, though each finds the other
    // return address in the memo.
    expect(engine.stats.regionHandoffs).toBeGreaterThan(4 * (ITERATIONS - 3));
  });
});

describe('blocks a page function borrows from another page', () => {
  /**
   * The target first runs on its own as often as a block that is compiled, which makes it hot enough
   * to be borrowed; the jumping page's function, made at its third run, takes it in with a check of
   * its translation instead of handing off to the target's own function.
   */
  function setupBorrow(): { cpu: Cpu; engine: Engine } {
    const { cpu, engine } = setupJump();
    engine.compileThreshold = 3;
    for (let i = 0; i < 3; i++) expect(runAt(cpu, engine, LINEAR)).toBe(0x1111);
    return { cpu, engine };
  }

  it('run the code of the page they jump to without a hand-off', () => {
    const { cpu, engine } = setupBorrow();
    // The jump's third run makes its function.
    expect(jumpIn(cpu, engine, 4)).toEqual([0x1111, 0x1111, 0x1111, 0x1111]);
    expect(engine.stats.borrowedBlocks).toBe(1);
    const before = engine.stats.regionInstructions;
    expect(jumpIn(cpu, engine, 1)).toEqual([0x1111]);
    // The jump, MOV and HLT ran in one page function: no hand-off from the jump's to the target's.
    expect(engine.stats.regionInstructions - before).toBe(3);
    expect(engine.stats.regionHandoffs).toBe(0);
  });

  it('give way when the page of the borrowed block is remapped', () => {
    const { cpu, engine } = setupBorrow();
    expect(jumpIn(cpu, engine, 4)).toEqual([0x1111, 0x1111, 0x1111, 0x1111]);
    remapTarget(cpu);
    expect(jumpIn(cpu, engine, 3)).toEqual([0x2222, 0x2222, 0x2222]);
  });

  it('give way when the borrowed code is overwritten', () => {
    const { cpu, engine } = setupBorrow();
    expect(jumpIn(cpu, engine, 4)).toEqual([0x1111, 0x1111, 0x1111, 0x1111]);
    cpu.write32(Seg.DS, LINEAR + 1, 0x3333);
    expect(jumpIn(cpu, engine, 3)).toEqual([0x3333, 0x3333, 0x3333]);
  });
});

describe('a block entered at another IP', () => {
  it('runs its records at the IP it was entered at (the same code page mapped twice)', () => {
    const { cpu, engine, blocks } = setup();
    // call next; next: pop eax; add eax, 0x10; jmp done; (16 bytes of int3) done: hlt. CALL pushes
    // the next record's IP, and the relative JMP lands on HLT only if its target moves with the IP.
    const code = [0xe8, 0, 0, 0, 0, 0x58, 0x83, 0xc0, 0x10, 0xeb, 0x10, ...new Array<number>(16).fill(0xcc), 0xf4];
    cpu.ram.set(code, CODE_A);
    const second = LINEAR + 0x1000;
    const pt = new DataView(cpu.ram.buffer, cpu.ram.byteOffset);
    pt.setUint32(PT + 4, CODE_A | 7, true);
    // A stack page above both mappings.
    pt.setUint32(PT + 8, 0x12000 | 7, true);
    cpu.r32[4] = LINEAR + 0x3000;
    for (let i = 0; i < 3; i++) expect(runAt(cpu, engine, LINEAR) >>> 0).toBe(LINEAR + 5 + 0x10);
    const scanned = blocks.cache.stats.blocksScanned;
    for (let i = 0; i < 3; i++) expect(runAt(cpu, engine, second) >>> 0).toBe(second + 5 + 0x10);
    expect(cpu.eip >>> 0).toBe(second + code.length);
    // The second mapping ran the blocks scanned for the first.
    expect(blocks.cache.stats.blocksScanned).toBe(scanned);
  });
});
