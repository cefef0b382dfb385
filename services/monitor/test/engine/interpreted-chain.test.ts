// Interpreted blocks run on into the blocks that follow them without the run loop (Engine.interpretOn):
// the guest must see what it sees when the run loop runs each block, the budget must hold, and an
// interrupt that port I/O raised must be taken right after that instruction.

import { describe, expect, it } from 'vitest';
import { StopReason, type InterruptLine } from '../../src/engine/engine.js';
import { le32 } from '../../src/acpi/aml.js';
import { flatMachine as flat, haltOnVector, type FlatMachine } from '../support/flat-machine.js';

const CODE = 0x10000;
const FAR = CODE + 0x1800;
const HANDLER = 0x30000;

/**
 * mov ebp, 5000; mov eax, 0x12345678; mov ebx, 1
 * .loop: call far; dec ebp; jnz .loop
 * hlt
 * (at CODE + 0x1800) far: add eax, ebx; xor ebx, eax; ret
 * Three blocks per iteration, on two pages.
 */
const CALL_LOOP: readonly number[] = [
  ...[0xbd, 0x88, 0x13, 0x00, 0x00, 0xb8, 0x78, 0x56, 0x34, 0x12, 0xbb, 0x01, 0x00, 0x00, 0x00],
  ...[0xe8, 0xec, 0x17, 0x00, 0x00, 0x4d, 0x75, 0xf8, 0xf4],
];
const CALLEE: readonly number[] = [0x01, 0xd8, 0x31, 0xc3, 0xc3];
const ITERATIONS = 5000;

/** The flat machine with the loop at CODE, whose blocks are never compiled: the interpreter runs them all. */
function flatMachine(intr?: InterruptLine): FlatMachine {
  const machine = flat(intr && (() => intr));
  const { cpu, engine } = machine;
  engine.compileThreshold = 2 ** 30;
  cpu.r32[4] = 0x80000;
  cpu.ram.set(CALL_LOOP, CODE);
  cpu.ram.set(CALLEE, FAR);
  cpu.eip = CODE;
  return machine;
}

/** Where farMachine's first loop lies (on a page of its own). */
const PHASE1 = CODE + 0x3000;

/**
 * The flat machine with the loop at CODE calling `far` `calls` times, compiling after 64 runs,
 * started at PHASE1, where a loop first calls `far` 200 times (so that it gets a page function) and
 * then runs `then`; with `chain`, interpreted blocks run on without the run loop (interpretOn).
 */
function farMachine(chain: boolean, calls: number, then: readonly number[]): FlatMachine {
  const m = flatMachine();
  m.engine.chainInterpreted = chain;
  m.engine.compileThreshold = 64;
  m.cpu.ram.set(
    [
      ...[0xbd, 0xc8, 0x00, 0x00, 0x00], // mov ebp, 200
      ...[0xe8, ...le32(FAR - (PHASE1 + 10))], // call far
      ...[0x4d, 0x75, 0xf8], // dec ebp; jnz (the call)
      ...then,
    ],
    PHASE1,
  );
  m.cpu.ram.set([0xbd, ...le32(calls)], CODE);
  m.cpu.eip = PHASE1;
  return m;
}

describe('interpreted blocks that follow one another', () => {
  it('run without the run loop and leave the guest as the run loop does', () => {
    const chained = flatMachine();
    const stepped = flatMachine();
    stepped.engine.chainInterpreted = false;
    for (const { engine } of [chained, stepped]) expect(engine.run(1_000_000)).toBe(StopReason.HALTED);

    expect(chained.cpu.r32).toEqual(stepped.cpu.r32);
    expect(chained.cpu.st).toEqual(stepped.cpu.st);
    expect(chained.cpu.instructions).toBe(stepped.cpu.instructions);
    expect(chained.cpu.instructions).toBe(3 + ITERATIONS * 6 + 1);
    // Each block is counted once, chained or not.
    expect(chained.engine.stats.blocks).toBe(stepped.engine.stats.blocks);
    expect(stepped.engine.stats.chainedBlocks).toBe(0);
    // All but the first blocks of the loop (before the successor memos are made) and the HLT run chained.
    expect(chained.engine.stats.chainedBlocks).toBeGreaterThan(3 * ITERATIONS - 10);
  });

  it('run on after PUSHFD and CLI, and stop after POPFD, which may set EFLAGS.IF', () => {
    // .loop: pushfd; cli; popfd; dec ebp; jnz .loop; hlt: each of the three ends a block.
    const LOOP = [0x9c, 0xfa, 0x9d, 0x4d, 0x75, 0xfa, 0xf4];
    const machines = [flatMachine(), flatMachine()];
    const [chained, stepped] = machines as [FlatMachine, FlatMachine];
    stepped.engine.chainInterpreted = false;
    for (const { cpu, engine } of machines) {
      cpu.ram.set(LOOP, CODE);
      cpu.r32[5] = 100;
      cpu.setFlagBits(0x200, 0x200);
      expect(engine.run(1_000_000)).toBe(StopReason.HALTED);
    }
    expect(chained.cpu.r32).toEqual(stepped.cpu.r32);
    expect(chained.cpu.st).toEqual(stepped.cpu.st);
    expect(chained.cpu.eflags & 0x200).toBe(0x200);
    expect(chained.engine.stats.blocks).toBe(stepped.engine.stats.blocks);
    // Per round, the blocks of PUSHFD, CLI and POPFD run chained after the loop's jump (the run loop
    // would take only the first); the block after POPFD comes from the run loop.
    expect(chained.engine.stats.chainedBlocks).toBeGreaterThan(3 * 100 - 10);
    expect(chained.engine.stats.chainedBlocks).toBeLessThanOrEqual(3 * 100);
  });

  it('end in a page function, and start after one, as the run loop does, at every budget', () => {
    // A loop on another page first calls `far` 200 times, so that it gets a page function (after 64
    // runs), then jumps to CODE, where a loop of 40 calls stays interpreted: each of its chains
    // reaches `far` and enters its function, whose RET goes back to interpreted code.
    const jmpCode = [0xe9, ...le32(CODE - (PHASE1 + 18))];
    const [chained, stepped] = [true, false].map((chain) => farMachine(chain, 40, jmpCode)) as [
      FlatMachine,
      FlatMachine,
    ];
    let stops = 0;
    for (let budget = 1; !stepped.cpu.halted; budget = budget >= 13 ? 1 : budget + 1) {
      const reason = stepped.engine.run(budget);
      expect(chained.engine.run(budget)).toBe(reason);
      expect(chained.cpu.instructions).toBe(stepped.cpu.instructions);
      expect(chained.cpu.r32).toEqual(stepped.cpu.r32);
      expect(chained.cpu.eip).toBe(stepped.cpu.eip);
      stops++;
    }
    expect(chained.cpu.instructions).toBe(3 + 200 * 6 + 1 + 1 + 40 * 6 + 1);
    expect(stops).toBeGreaterThan(100);
    expect(chained.engine.stats.regionInstructions).toBe(stepped.engine.stats.regionInstructions);
    expect(chained.engine.stats.chainedBlocks).toBeGreaterThan(60);
    expect(chained.engine.stats.blocks).toBe(stepped.engine.stats.blocks);
  });

  it('pass control between page functions and interpreted blocks thousands of times in one run', () => {
    // `far` gets a page function from a loop of 200 calls; then, with nothing compiled any more, the
    // loop at CODE calls it 30000 times: control goes from interpreted code to the function and back
    // 60000 times without the run loop.
    const [chained, stepped] = [true, false].map((chain) => {
      const m = farMachine(chain, 30000, [0xf4]); // hlt
      expect(m.engine.run(1_000_000)).toBe(StopReason.HALTED);
      m.engine.compileThreshold = 2 ** 30;
      m.cpu.halted = false;
      m.cpu.eip = CODE;
      expect(m.engine.run(1_000_000)).toBe(StopReason.HALTED);
      return m;
    }) as [FlatMachine, FlatMachine];
    expect(chained.cpu.instructions).toBe(1 + 200 * 6 + 1 + 3 + 30000 * 6 + 1);
    expect(chained.cpu.r32).toEqual(stepped.cpu.r32);
    expect(chained.engine.stats.blocks).toBe(stepped.engine.stats.blocks);
    expect(chained.engine.stats.regionInstructions).toBeGreaterThan(30000 * 3);
  });

  it('stop at the budget, as the run loop does, within one block', () => {
    const { cpu, engine } = flatMachine();
    expect(engine.run(2000)).toBe(StopReason.BUDGET);
    // The loop's longest block has three instructions.
    expect(cpu.instructions).toBeGreaterThanOrEqual(2000);
    expect(cpu.instructions).toBeLessThan(2003);
    expect(engine.stats.chainedBlocks).toBeGreaterThan(900);
    expect(engine.run(1_000_000)).toBe(StopReason.HALTED);
    expect(cpu.instructions).toBe(3 + ITERATIONS * 6 + 1);
  });

  it('take an interrupt that port I/O raised right after that instruction', () => {
    // The callee starts with OUT 80h, AL, whose 300th run raises the line: the chain stops after
    // the OUT (port I/O does not pass on) and the run loop takes the interrupt before the ADD.
    const RAISE = 300;
    let outs = 0;
    let taken: { at: number; eip: number } | undefined;
    const line: InterruptLine = {
      pending: () => outs >= RAISE && taken === undefined,
      acknowledge: () => {
        taken = { at: cpu.instructions, eip: cpu.eip };
        return 0x20;
      },
    };
    const machine = flatMachine(line);
    const { cpu, engine } = machine;
    cpu.ram.set([0xe6, 0x80, ...CALLEE], FAR);
    cpu.io.register(0x80, 1, 'test', { write8: () => void outs++ });
    // Vector 0x20 goes to a HLT, and IF is set.
    haltOnVector(machine, 0x20, HANDLER);
    cpu.setFlagBits(0x200, 0x200);

    expect(engine.run(1_000_000)).toBe(StopReason.HALTED);
    // Three instructions before the loop, seven per round (CALL, OUT, ADD, XOR, RET, DEC, JNZ), and
    // the CALL and the OUT of the last round.
    expect(taken).toEqual({ at: 3 + (RAISE - 1) * 7 + 2, eip: FAR + 2 });
    expect(cpu.eip).toBe(HANDLER + 1);
    expect(engine.stats.chainedBlocks).toBeGreaterThan(3 * RAISE - 10);
  });
});
