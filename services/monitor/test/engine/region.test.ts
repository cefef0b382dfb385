// Page functions (engine/region.ts) against the interpreter: the same program, run with every block
// compiled at once and with none compiled, must end in the same state after the same number of
// instructions at every budget, also when the program rewrites the code of a member. A page function
// runs only while the CPU is as it was made for (flat segments, the privilege's TLB masks).

import { beforeEach, describe, expect, it } from 'vitest';
import { Block, CODE_ATTRIBUTES, CODE_COUNT, CodeAttr, CodeMode } from '@plex86/x86';
import { Attr, Cpu } from '../../src/cpu/cpu.js';
import { le32 } from '../../src/acpi/aml.js';
import { Cr0, Seg } from '../../src/cpu/registers.js';
import { StopReason, type Engine, type InterruptLine } from '../../src/engine/engine.js';
import { MAX_REGION_RECORDS, regionMembers } from '../../src/engine/region.js';
import { flatMachine, type FlatMachine } from '../support/flat-machine.js';

const CODE = 0x10000;

/** A tiny assembler for the few forms used here, with labels for rel8/rel32 targets. */
class Code {
  readonly bytes: number[] = [];
  private readonly labels = new Map<string, number>();
  private readonly fixups: { at: number; size: 1 | 4; label: string; absolute: boolean }[] = [];

  get here(): number {
    return CODE + this.bytes.length;
  }
  label(name: string): this {
    this.labels.set(name, this.here);
    return this;
  }
  emit(...b: number[]): this {
    this.bytes.push(...b);
    return this;
  }
  imm32(v: number): this {
    return this.emit(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);
  }
  rel(op: number[], size: 1 | 4, label: string): this {
    this.emit(...op);
    this.fixups.push({ at: this.bytes.length, size, label, absolute: false });
    return this.emit(...new Array<number>(size).fill(0));
  }
  /** `op` followed by the 32-bit address of `label`. */
  abs(op: number[], label: string): this {
    this.emit(...op);
    this.fixups.push({ at: this.bytes.length, size: 4, label, absolute: true });
    return this.imm32(0);
  }
  address(label: string): number {
    const at = this.labels.get(label);
    if (at === undefined) throw new Error(`no label ${label}`);
    return at;
  }
  link(): Uint8Array {
    for (const f of this.fixups) {
      const value = f.absolute ? this.address(f.label) : this.address(f.label) - (CODE + f.at + f.size);
      for (let i = 0; i < f.size; i++) this.bytes[f.at + i] = (value >> (8 * i)) & 0xff;
    }
    return Uint8Array.from(this.bytes);
  }
}

/**
 * Nested loops with a call within the page and one to the next page, so control passes between
 * blocks in every way a region chains (fall-through, Jcc both ways, CALL, RET) and leaves it.
 * With `patch`, every outer round stores ECX into the immediate of `sub`'s XOR: a write into a
 * member of the region that is running. With `portOut`, the subroutine on the next page first writes
 * AL to port 80h (at `out`).
 */
function program(
  rounds: number,
  patch: boolean,
  portOut = false,
): { bytes: Uint8Array; immediate: number; out: number } {
  const c = new Code();
  c.emit(0xb9).imm32(rounds); // mov ecx, rounds
  c.label('outer').emit(0xba).imm32(3); // mov edx, 3
  c.label('inner').emit(0x01, 0xc8); // add eax, ecx
  c.emit(0xc1, 0xc0, 0x03); // rol eax, 3
  c.emit(0x4a); // dec edx
  c.rel([0x75], 1, 'inner'); // jnz inner
  c.rel([0xe8], 4, 'sub'); // call sub
  if (patch) c.abs([0x89, 0x0d], 'immediate'); // mov [immediate], ecx
  c.emit(0xf6, 0xc1, 0x07); // test cl, 7
  c.rel([0x75], 1, 'skip'); // jnz skip
  c.rel([0xe8], 4, 'far'); // call far (on the next page)
  c.label('skip').emit(0x49); // dec ecx
  c.rel([0x0f, 0x85], 4, 'outer'); // jnz outer
  c.emit(0xf4); // hlt
  c.label('sub').emit(0x35).label('immediate').imm32(0x55); // xor eax, 0x55
  c.emit(0xc3); // ret
  while (c.here < CODE + 0x1000) c.emit(0x90);
  c.label('far');
  if (portOut) c.label('out').emit(0xe6, 0x80); // out 0x80, al
  c.emit(0x05).imm32(0x1234567); // add eax, 0x1234567
  c.emit(0xc3); // ret
  return { bytes: c.link(), immediate: c.address('immediate'), out: portOut ? c.address('out') : -1 };
}

/** Where identityPaging puts the page directory and the page table. */
const PD = 0x1000;
const PT = 0x2000;

/** Turns paging on, the first 4 MiB mapped to themselves as user pages. */
function identityPaging({ cpu, view }: FlatMachine): void {
  view.setUint32(PD, PT | 7, true);
  for (let page = 0; page < 1024; page++) view.setUint32(PT + page * 4, (page << 12) | 7, true);
  cpu.setCr3(PD);
  cpu.setCr0(cpu.cr0 | Cr0.PG);
}

/**
 * The lowest CPL whose page functions the tests' machines lay out as nested loops
 * (Engine.nestedLayoutCpl): the tests of page functions run with either layout.
 */
let nestedLayoutCpl = 0;

function machine(
  code: Uint8Array,
  compiled: boolean,
  intr: ((cpu: Cpu) => InterruptLine) | undefined = undefined,
): { cpu: Cpu; engine: Engine } {
  const { cpu, engine } = flatMachine(intr);
  engine.compileThreshold = compiled ? 0 : Number.MAX_SAFE_INTEGER;
  engine.nestedLayoutCpl = nestedLayoutCpl;
  cpu.ram.set(code, CODE);
  cpu.r32[4] = 0x80000;
  cpu.eip = CODE;
  return { cpu, engine };
}

/**
 * A machine for the flat-segment tests: the dwords 0x1111 at 0x20000 and 0x2222 at 0x21000 (what DS
 * based at 0x1000 reads at 0x20000), and EDX 0.
 */
function dataMachine(code: Uint8Array, compiled: boolean): { cpu: Cpu; engine: Engine } {
  const m = machine(code, compiled);
  const view = new DataView(m.cpu.ram.buffer, m.cpu.ram.byteOffset);
  view.setUint32(0x20000, 0x1111, true);
  view.setUint32(0x21000, 0x2222, true);
  m.cpu.r32[2] = 0;
  return m;
}

/** A loop that calls `target` `rounds` times, then HLT; `target` is for the caller to emit. */
function callLoop(rounds: number, target: string): Code {
  const c = new Code();
  c.emit(0xb9).imm32(rounds); // mov ecx, rounds
  c.label('loop').rel([0xe8], 4, target); // call target
  c.emit(0x49); // dec ecx
  c.rel([0x75], 1, 'loop'); // jnz loop
  return c.emit(0xf4); // hlt
}

/**
 * Page 1 calls `far` on page 2 in a loop of 20 rounds; `far` adds the dword at DS:EBX to EDX. Page 2
 * also has a call of `far` to enter alone. Both end with HLT. Run by the interpreter and with every
 * block compiled (dataMachine, EBX 0x20000), once from each of the runs `runs` gives for the address
 * of that call ([EIP, DS base], flat at 0); with the compiled machine's hand-offs before the last run.
 */
function farCallRuns(runs: (alone: number) => readonly (readonly [number, number])[]): {
  interpreted: { cpu: Cpu; engine: Engine };
  compiled: { cpu: Cpu; engine: Engine };
  handoffsBeforeLast: number;
} {
  const c = callLoop(20, 'far');
  while (c.here < CODE + 0x1000) c.emit(0x90);
  c.label('far').emit(0x03, 0x13); // add edx, [ebx]
  c.emit(0xc3); // ret
  c.label('alone').rel([0xe8], 4, 'far'); // call far
  c.emit(0xf4); // hlt
  const code = c.link();
  const list = runs(c.address('alone'));
  let handoffsBeforeLast = 0;
  const [interpreted, compiled] = [false, true].map((compile) => {
    const { cpu, engine } = dataMachine(code, compile);
    cpu.r32[3] = 0x20000;
    list.forEach(([eip, dsBase], i) => {
      if (i === list.length - 1) handoffsBeforeLast = engine.stats.regionHandoffs;
      cpu.loadSegmentCache(Seg.DS, 0x10, dsBase, -1, Attr.P | Attr.S | Attr.RW | Attr.ACCESSED | Attr.DB | Attr.G);
      cpu.halted = false;
      cpu.eip = eip;
      expect(engine.run(1e6)).toBe(StopReason.HALTED);
    });
    return { cpu, engine };
  }) as [{ cpu: Cpu; engine: Engine }, { cpu: Cpu; engine: Engine }];
  return { interpreted, compiled, handoffsBeforeLast };
}

function state(cpu: Cpu): string {
  const regs = Array.from(cpu.r32, (v) => (v >>> 0).toString(16)).join(' ');
  return `${cpu.instructions} eip ${(cpu.eip >>> 0).toString(16)} flags ${cpu.eflags.toString(16)} ${regs}`;
}

describe.each([
  { layout: 'laid out as nested loops', cpl: 0 },
  { layout: 'passing control through one dispatch loop', cpl: 4 },
])('page functions $layout', ({ cpl }) => {
  beforeEach(() => {
    nestedLayoutCpl = cpl;
  });

  for (const patch of [false, true]) {
    const what = patch ? 'a program that rewrites a member' : 'nested loops and calls';
    it(`end ${what} as the interpreter does, at every budget`, () => {
      const { bytes: code, immediate } = program(40, patch);
      const a = machine(code, false);
      const b = machine(code, true);
      // Made once the blocks ran a few times, page functions borrow blocks of the other page: the
      // function of `far` the loop's blocks its RET returns to.
      const g = machine(code, true);
      g.engine.compileThreshold = 4;
      let stops = 0;
      // Budgets from 1 to 13 instructions, then the rest: the run loop must stop regions exactly
      // where it stops single blocks.
      for (let budget = 1; a.cpu.halted === false; budget = budget >= 13 ? 1 : budget + 1) {
        const ra = a.engine.run(budget);
        const rb = b.engine.run(budget);
        const rg = g.engine.run(budget);
        expect(state(b.cpu)).toBe(state(a.cpu));
        expect(rb).toBe(ra);
        expect(state(g.cpu)).toBe(state(a.cpu));
        expect(rg).toBe(ra);
        stops++;
      }
      expect(stops).toBeGreaterThan(100);
      expect(b.engine.stats.regions).toBeGreaterThan(0);
      expect(g.engine.stats.borrowedBlocks).toBeGreaterThan(0);
      const c = machine(code, true);
      // Without rewrites, compiled once every block of the loops ran a few times: a page function
      // takes the blocks of its page that are warm when it is made (and none that is in another).
      if (!patch) c.engine.compileThreshold = 8;
      expect(c.engine.run(1e6)).toBe(StopReason.HALTED);
      expect(state(c.cpu)).toBe(state(a.cpu));
      const d = machine(code, false);
      d.engine.run(1e6);
      if (patch) {
        // Each rewrite drops a member, and with it the page function, which is made again.
        expect(c.engine.stats.regions).toBeGreaterThan(40);
      } else {
        // Control passes between members inside the page function: far fewer blocks reach the run loop.
        expect(c.engine.stats.blocks).toBeLessThan(d.engine.stats.blocks / 3);
      }
      // The last outer round stored ECX = 1 into the XOR.
      expect(c.cpu.ram[immediate]).toBe(patch ? 1 : 0x55);
    });
  }

  it('run a return to a member on inside the page function, found by its EIP', () => {
    const c = callLoop(1000, 'sub');
    c.label('sub').emit(0x40); // inc eax
    c.emit(0xc3); // ret
    const code = c.link();
    const a = machine(code, false);
    const g = machine(code, true);
    // Compiled once the blocks ran a few times: one page function holds them all.
    g.engine.compileThreshold = 8;
    expect(a.engine.run(1e6)).toBe(StopReason.HALTED);
    expect(g.engine.run(1e6)).toBe(StopReason.HALTED);
    expect(state(g.cpu)).toBe(state(a.cpu));
    expect(g.cpu.r32[0]).toBe(1000);
    expect(g.engine.stats.regions).toBe(1);
    // A RET names no member: each would leave the function for a hand-off back into it otherwise.
    expect(g.engine.stats.regionHandoffs).toBeLessThan(10);
  });

  it('pass control on after the sensitive instructions that change nothing the run loop looks at', () => {
    // Each of PUSHFD, CLI, PUSH DS and RDTSC ends a block; the loop's five blocks stay inside the
    // page function, which counts the records before RDTSC as the interpreter does.
    const c = new Code();
    c.emit(0xb9).imm32(200); // mov ecx, 200
    c.label('loop').emit(0x9c); // pushfd
    c.emit(0xfa); // cli
    c.emit(0x1e); // push ds
    c.emit(0x5b); // pop ebx
    c.emit(0x5a); // pop edx
    c.emit(0x0f, 0x31); // rdtsc
    c.emit(0x01, 0xc6); // add esi, eax
    c.emit(0x49); // dec ecx
    c.rel([0x75], 1, 'loop'); // jnz loop
    c.emit(0xf4); // hlt
    const code = c.link();
    const a = machine(code, false);
    const b = machine(code, true);
    for (const m of [a, b]) m.cpu.eflags |= 0x200;
    for (let budget = 1; a.cpu.halted === false; budget = budget >= 13 ? 1 : budget + 1) {
      const ra = a.engine.run(budget);
      expect(b.engine.run(budget)).toBe(ra);
      expect(state(b.cpu)).toBe(state(a.cpu));
    }
    // Compiled once every block of the loop ran a few times: one page function holds them all.
    const whole = machine(code, true);
    whole.engine.compileThreshold = 8;
    whole.cpu.eflags |= 0x200;
    expect(whole.engine.run(1e6)).toBe(StopReason.HALTED);
    expect(state(whole.cpu)).toBe(state(a.cpu));
    expect(whole.cpu.eflags & 0x200).toBe(0);
    expect(whole.cpu.r32[3]).toBe(whole.cpu.segSel[Seg.DS]);
    // 200 rounds of five blocks, the first eight interpreted: without passing on, every block of
    // every round would reach the run loop.
    expect(whole.engine.stats.blocks).toBeLessThan(60);
    expect(whole.engine.stats.regionInstructions).toBeGreaterThan(whole.cpu.instructions * 0.9);
  });

  it('fault in a sensitive instruction that passes on as the interpreter does', () => {
    // Each round pushes EFLAGS and DS until ESP runs into a page that is not present: the PUSHFD's
    // page fault (with no IDT, a shutdown) comes from inside the page function, after the same
    // instructions as interpreted.
    const c = new Code();
    c.label('loop').emit(0x9c); // pushfd
    c.emit(0xfa); // cli
    c.emit(0x1e); // push ds
    c.emit(0x40); // inc eax
    c.rel([0xeb], 1, 'loop'); // jmp loop
    const code = c.link();
    const STACK = 0x30000;
    const [a, b] = [false, true].map((compiled) => {
      const m = flatMachine();
      m.engine.compileThreshold = compiled ? 2 : Number.MAX_SAFE_INTEGER;
      m.engine.nestedLayoutCpl = nestedLayoutCpl;
      identityPaging(m);
      m.view.setUint32(PT + ((STACK - 0x1000) >>> 12) * 4, 0, true);
      m.cpu.ram.set(code, CODE);
      m.cpu.r32[4] = STACK + 0x40;
      m.cpu.eip = CODE;
      expect(m.engine.run(1e6)).toBe(StopReason.SHUTDOWN);
      return m;
    }) as [FlatMachine, FlatMachine];
    expect(b.engine.stats.regionInstructions).toBeGreaterThan(20);
    expect(state(b.cpu)).toBe(state(a.cpu));
    expect(b.cpu.r32[0]).toBe(8);
    expect(b.cpu.cr2 >>> 0).toBe(STACK - 4);
    expect(a.cpu.cr2 >>> 0).toBe(STACK - 4);
    expect(b.engine.shutdownMessage).toBe(a.engine.shutdownMessage);
  });

  it('take an interrupt that port I/O raised right after that instruction, while they hand control to each other', () => {
    // The nested loops call a subroutine on the next page, which writes port 80h: once the successor
    // memos are made, the page functions of both pages enter each other without the run loop. The
    // interrupt line rises only at an instruction that returns to the run loop (port I/O here, or
    // STI, POPF, IRET for EFLAGS.IF) or between runs, so a hand-off need not look at it.
    const { bytes: code, out } = program(400, false, true);
    const free = machine(code, true);
    free.cpu.io.register(0x80, 1, 'test', {});
    expect(free.engine.run(1e6)).toBe(StopReason.HALTED);
    const total = free.cpu.instructions;
    expect(free.engine.stats.regionHandoffs).toBeGreaterThan(90);
    // With IF set, the write to port 80h made after half the run raises the line.
    const half = Math.floor(total / 2);
    let raisedAt = -1;
    let taken: { at: number; eip: number } | undefined;
    const { cpu, engine } = machine(code, true, (c) => ({
      pending: () => raisedAt >= 0,
      acknowledge: () => {
        taken = { at: c.instructions, eip: c.eip };
        throw new Error('acknowledged');
      },
    }));
    cpu.io.register(0x80, 1, 'test', {
      write8: () => {
        if (raisedAt < 0 && cpu.instructions >= half) raisedAt = cpu.instructions;
      },
    });
    cpu.eflags |= 0x200;
    expect(() => engine.run(1e6)).toThrow('acknowledged');
    expect(engine.stats.regionHandoffs).toBeGreaterThan(40);
    expect(raisedAt).toBeGreaterThanOrEqual(half);
    // The OUT is not counted yet while it runs; the interrupt comes before the ADD after it.
    expect(taken).toEqual({ at: raisedAt + 1, eip: out + 2 });
  });

  it('stop at the CS limit where the run loop does, not run on to a member beyond it', () => {
    // top: dec ecx; jnz top; then at X: inc edx; hlt.
    const code = Uint8Array.of(0x49, 0x75, 0xfd, 0x42, 0xf4);
    const X = CODE + 3;
    const outcomes = [false, true].map((compiled) => {
      const m = machine(code, compiled);
      // Two rounds under a flat limit: both blocks run, and with compiling on, become members.
      for (let round = 0; round < 2; round++) {
        m.cpu.halted = false;
        m.cpu.eip = CODE;
        m.cpu.r32[1] = 5;
        expect(m.engine.run(1000)).toBe(StopReason.HALTED);
      }
      // Now X lies beyond CS's limit: falling through to it is a #GP (with no IDT, a shutdown).
      const attr = Attr.P | Attr.S | Attr.RW | Attr.ACCESSED | Attr.DB | Attr.CODE;
      m.cpu.loadSegmentCache(Seg.CS, 0x10, 0, X - 1, attr);
      m.cpu.halted = false;
      m.cpu.eip = CODE;
      m.cpu.r32[1] = 5;
      return { reason: m.engine.run(1000), state: state(m.cpu), regions: m.engine.stats.regions };
    });
    expect(outcomes[0].reason).toBe(StopReason.SHUTDOWN);
    expect(outcomes[1].reason).toBe(StopReason.SHUTDOWN);
    expect(outcomes[1].state).toBe(outcomes[0].state);
    expect(outcomes[1].regions).toBeGreaterThan(0);
  });

  it('run a loop of one block inside its page function, not one hand-off per round', () => {
    // top: add eax, ecx; dec ecx; jnz top; hlt. The loop block is hot alone: its page function has
    // one member, which jumps back to itself.
    const code = Uint8Array.of(0x01, 0xc8, 0x49, 0x75, 0xfb, 0xf4);
    const [a, b] = [false, true].map((compiled) => {
      const m = machine(code, compiled);
      m.cpu.r32[1] = 1000;
      expect(m.engine.run(1e6)).toBe(StopReason.HALTED);
      return m;
    });
    expect(state(b.cpu)).toBe(state(a.cpu));
    expect(b.engine.stats.regionInstructions).toBeGreaterThan(2990);
    expect(a.engine.stats.blocks).toBeGreaterThan(1000);
    // The first round, the compiled rounds in one call, the HLT block.
    expect(b.engine.stats.blocks).toBeLessThan(10);
  });

  for (const [jcc, name] of [
    [0x75, 'jnz'],
    [0x74, 'jz'],
  ] as const) {
    it(`run a loop inside its newest page function when it goes through a block of an older one (${name})`, () => {
      // The first loop runs through `shared` and makes the page's first function; the second loop
      // takes it every other round and gets hot later, in a second function, which borrows `shared`:
      // the second loop then stays in it. When the second function is made, the JNZ last went to the
      // ADD (only its target names `shared`) and the JZ to `shared` (its successor memo).
      const c = new Code();
      c.abs([0xbe], 'back1'); // mov esi, back1
      c.emit(0xb9).imm32(100); // mov ecx, 100
      c.label('loop1').rel([0xe9], 4, 'shared'); // jmp shared
      c.label('back1').emit(0x49); // dec ecx
      c.rel([0x75], 1, 'loop1'); // jnz loop1
      c.emit(0xf4); // hlt
      c.abs([0xbe], 'back2'); // mov esi, back2
      c.emit(0xb9).imm32(100); // mov ecx, 100
      c.label('loop2').emit(0x42); // inc edx
      c.emit(0xf6, 0xc2, 0x01); // test dl, 1
      c.rel([jcc], 1, 'shared'); // jnz/jz shared
      c.emit(0x83, 0xc0, 0x05); // add eax, 5
      c.rel([0xeb], 1, 'back2'); // jmp back2
      c.label('back2').emit(0x49); // dec ecx
      c.rel([0x75], 1, 'loop2'); // jnz loop2
      c.emit(0xf4); // hlt
      c.label('shared').emit(0x01, 0xd0); // add eax, edx
      c.emit(0xc1, 0xc0, 0x03); // rol eax, 3
      c.emit(0xff, 0xe6); // jmp esi
      const code = c.link();
      const runs = [false, true, true].map((compiled, k) => {
        const m = machine(code, compiled);
        m.engine.compileThreshold = compiled ? 16 : Number.MAX_SAFE_INTEGER;
        m.engine.borrowBlocks = k < 2;
        expect(m.engine.run(1e6)).toBe(StopReason.HALTED);
        const before = m.engine.stats.regionHandoffs;
        m.cpu.halted = false;
        expect(m.engine.run(1e6)).toBe(StopReason.HALTED);
        return { ...m, handoffs: m.engine.stats.regionHandoffs - before };
      });
      const [interpreted, borrowing, alone] = runs as [(typeof runs)[0], (typeof runs)[0], (typeof runs)[0]];
      expect(state(borrowing.cpu)).toBe(state(interpreted.cpu));
      expect(state(alone.cpu)).toBe(state(interpreted.cpu));
      // Without borrowing, control passes from the second function to the first and back in every
      // other round once both are made.
      expect(alone.handoffs).toBeGreaterThan(70);
      expect(borrowing.handoffs).toBeLessThan(5);
    });
  }

  it('run code made for flat data segments only while ES, SS and DS are flat, with a 32-bit stack', () => {
    // top: mov eax, [ebx]; add edx, eax; push eax; pop esi; dec ecx; jnz top; hlt
    const code = Uint8Array.of(0x8b, 0x03, 0x01, 0xc2, 0x50, 0x5e, 0x49, 0x75, 0xf7, 0xf4);
    const data = Seg.DS;
    const attr = Attr.P | Attr.S | Attr.RW | Attr.ACCESSED | Attr.G;
    // Each round changes the data segments, then runs the loop 50 times: flat; DS based at 0x1000; SS
    // a 16-bit stack (PUSH and POP move SP only); flat again.
    const rounds: ((cpu: Cpu) => void)[] = [
      () => undefined,
      (cpu) => cpu.loadSegmentCache(data, 0x10, 0x1000, -1, attr | Attr.DB),
      (cpu) => {
        cpu.loadSegmentCache(data, 0x10, 0, -1, attr | Attr.DB);
        cpu.loadSegmentCache(Seg.SS, 0x10, 0, -1, attr);
        cpu.r32[4] = 0x7fff0000 | 0x8000;
      },
      (cpu) => cpu.loadSegmentCache(Seg.SS, 0x10, 0, -1, attr | Attr.DB),
    ];
    const [a, b] = [false, true].map((compiled) => {
      const m = dataMachine(code, compiled);
      const inRegions: number[] = [];
      for (const change of rounds) {
        change(m.cpu);
        m.cpu.halted = false;
        m.cpu.eip = CODE;
        m.cpu.r32[1] = 50;
        m.cpu.r32[3] = 0x20000;
        const before = m.engine.stats.regionInstructions;
        expect(m.engine.run(1e6)).toBe(StopReason.HALTED);
        inRegions.push(m.engine.stats.regionInstructions - before);
        m.cpu.r32[4] = 0x80000;
      }
      return {
        state: state(m.cpu),
        stack: new DataView(m.cpu.ram.buffer, m.cpu.ram.byteOffset).getUint32(0x7ffc, true),
        inRegions,
      };
    });
    expect(b.state).toBe(a.state);
    // EDX: 50 dwords through a flat DS, 50 through DS based at 0x1000, 100 through a flat one again.
    expect(b.state).toContain(` ${(150 * 0x1111 + 50 * 0x2222).toString(16)} `);
    // The 16-bit stack round pushed at SS:SP - 4, not below ESP.
    expect(b.stack).toBe(0x1111);
    expect(b.inRegions[0]).toBeGreaterThan(200);
    expect(b.inRegions[1]).toBe(0);
    expect(b.inRegions[2]).toBe(0);
    expect(b.inRegions[3]).toBeGreaterThan(200);
  });

  it('read and write bytes and words inline as the interpreter does: unaligned, across pages, into code', () => {
    const c = new Code();
    c.emit(0xb9).imm32(30); // mov ecx, 30
    c.emit(0xbb).imm32(0x20000); // mov ebx, 0x20000
    c.label('top').emit(0x0f, 0xb6, 0x03); // movzx eax, byte [ebx]
    c.emit(0x01, 0xc2); // add edx, eax
    c.emit(0x0f, 0xb7, 0x83).imm32(0xfff); // movzx eax, word [ebx + 0xfff]: across the page end
    c.emit(0x01, 0xc2); // add edx, eax
    c.emit(0x0f, 0xbf, 0x43, 0x01); // movsx eax, word [ebx + 1]: unaligned
    c.emit(0x01, 0xc2); // add edx, eax
    c.emit(0x88, 0x14, 0x0b); // mov [ebx + ecx], dl
    c.emit(0x66, 0x89, 0x54, 0x4b, 0x01); // mov [ebx + ecx*2 + 1], dx: unaligned
    c.emit(0x66, 0x89, 0x93).imm32(0xffe); // mov [ebx + 0xffe], dx: the last word of the page
    c.emit(0xf6, 0xc1, 0x07); // test cl, 7
    c.rel([0x75], 1, 'skip'); // jnz skip
    c.abs([0x88, 0x0d], 'imm8'); // mov [imm8], cl: into code on this page, every eighth round
    c.label('skip').rel([0xe8], 4, 'sub'); // call sub
    c.emit(0x49); // dec ecx
    c.rel([0x75], 1, 'top'); // jnz top
    c.emit(0xf4); // hlt
    // Far enough from the loop that a write into it leaves the loop's blocks alone.
    while (c.here < CODE + 0x400) c.emit(0x90);
    c.label('sub').emit(0x83, 0xc2).label('imm8').emit(0x11); // add edx, 0x11
    c.emit(0xc3); // ret
    const code = c.link();
    const [a, b] = [false, true].map((compiled) => {
      const m = machine(code, compiled);
      for (let i = 0; i < 0x1010; i++) m.cpu.ram[0x20000 + i] = (i * 37) & 0xff;
      expect(m.engine.run(1e6)).toBe(StopReason.HALTED);
      return { m, data: Array.from(m.cpu.ram.subarray(0x20000, 0x21010)) };
    });
    expect(state(b.m.cpu)).toBe(state(a.m.cpu));
    expect(b.data).toEqual(a.data);
    expect(b.m.cpu.ram[c.address('imm8')]).toBe(8);
    expect(b.m.engine.stats.regions).toBeGreaterThan(1);
    expect(b.m.engine.stats.regionInstructions).toBeGreaterThan(300);
  });

  it('check jumps against a CS limit that came after their page function was made for flat segments', () => {
    // top: dec ecx; jnz top; jmp X; ...; X: hlt, with X beyond the limit of the last round.
    const c = new Code();
    c.label('top').emit(0x49); // dec ecx
    c.rel([0x75], 1, 'top'); // jnz top
    c.rel([0xe9], 4, 'x'); // jmp x
    while (c.here < CODE + 0x100) c.emit(0x90);
    c.label('x').emit(0xf4); // hlt
    const code = c.link();
    const outcomes = [false, true].map((compiled) => {
      const m = machine(code, compiled);
      const limited = Attr.P | Attr.S | Attr.RW | Attr.ACCESSED | Attr.DB | Attr.CODE;
      const rounds = [-1, -1, c.address('x') - 1];
      const reasons = rounds.map((limit) => {
        m.cpu.loadSegmentCache(Seg.CS, 0x10, 0, limit, limit === -1 ? limited | Attr.G : limited);
        m.cpu.halted = false;
        m.cpu.eip = CODE;
        m.cpu.r32[1] = 20;
        return m.engine.run(1000);
      });
      return { reasons, state: state(m.cpu), regions: m.engine.stats.regions };
    });
    expect(outcomes[0].reasons).toEqual([StopReason.HALTED, StopReason.HALTED, StopReason.SHUTDOWN]);
    expect(outcomes[1].reasons).toEqual(outcomes[0].reasons);
    // The #GP is the JMP's: EIP stays on it.
    expect(outcomes[1].state).toBe(outcomes[0].state);
    expect(outcomes[1].regions).toBeGreaterThan(0);
  });

  it('take flat data segments for granted only where no member can load a segment register', () => {
    // Flat code is checked for at entry only: a segment load must end its block (the scanner ends
    // blocks at sensitive instructions) and the region's run (chains() refuses sensitive members).
    let loads = 0;
    for (let code = 0; code < CODE_COUNT; code++) {
      const attrs = CODE_ATTRIBUTES[code] as number;
      if ((attrs & CodeAttr.SEGMENT_LOAD) === 0) continue;
      loads++;
      expect((attrs & CodeAttr.SENSITIVE) !== 0, `code ${code}`).toBe(true);
    }
    expect(loads).toBeGreaterThan(10);
  });

  it('hand control to a page function made for flat data segments only while they are flat', () => {
    // Under flat segments, `far` runs once (and with compiling on, becomes flat code); then the loop
    // runs with DS based at 0x1000: its own page function is not flat code.
    const { interpreted: a, compiled: b } = farCallRuns((alone) => [
      [alone, 0],
      [CODE, 0x1000],
    ]);
    expect(state(b.cpu)).toBe(state(a.cpu));
    expect(b.cpu.r32[2]).toBe(0x1111 + 20 * 0x2222);
    expect(b.engine.stats.regions).toBeGreaterThan(1);
  });

  it('keep hand-off links to both places a function on another page returns to', () => {
    // Two calls in a row of `far` on the next page: its RET goes back to page 1 at two EIPs in turn.
    // Without borrowing, every call and return is a hand-off.
    const c = new Code();
    c.emit(0xb9).imm32(100); // mov ecx, 100
    c.label('loop').rel([0xe8], 4, 'far'); // call far
    c.rel([0xe8], 4, 'far'); // call far
    c.emit(0x49); // dec ecx
    c.rel([0x75], 1, 'loop'); // jnz loop
    c.emit(0xf4); // hlt
    while (c.here < CODE + 0x1000) c.emit(0x90);
    c.label('far').emit(0x01, 0xc8); // add eax, ecx
    c.emit(0xc3); // ret
    const code = c.link();
    const [a, b] = [false, true].map((compiled) => {
      const m = machine(code, compiled);
      m.engine.borrowBlocks = false;
      expect(m.engine.run(1e6)).toBe(StopReason.HALTED);
      return m;
    });
    expect(state(b.cpu)).toBe(state(a.cpu));
    expect(b.engine.stats.regionHandoffs).toBeGreaterThan(390);
    // One lookup for each link the first time it is followed; a member with one link would look
    // one up at every return.
    expect(b.engine.stats.regionRelinks).toBeLessThan(10);
  });

  it('follow a hand-off link made under flat segments only while they are flat', () => {
    // The loop's page function is made while DS is not flat, so it may run under either; `far`'s is
    // made for flat segments. A run under flat segments links the loop to it; a later run with DS
    // based at 0x1000 must not follow that link into code that ignores the base.
    const {
      interpreted: a,
      compiled: b,
      handoffsBeforeLast,
    } = farCallRuns((alone) => [
      [alone, 0],
      [CODE, 0x1000],
      [CODE, 0],
      [CODE, 0x1000],
    ]);
    expect(state(b.cpu)).toBe(state(a.cpu));
    expect(b.cpu.r32[2]).toBe(0x1111 + 40 * 0x2222 + 20 * 0x1111);
    // The flat run handed control to `far`'s function and back.
    expect(handoffsBeforeLast).toBeGreaterThanOrEqual(40);
  });

  it('run one block per call while chaining is off, as a debugger needs', () => {
    const code = program(20, false).bytes;
    const a = machine(code, false);
    a.engine.run(1e6);
    const b = machine(code, true);
    b.engine.lookupEveryBlock(true);
    b.engine.run(1e6);
    expect(state(b.cpu)).toBe(state(a.cpu));
    expect(b.engine.stats.blocks).toBe(a.engine.stats.blocks);
  });

  it('give a handler it calls the instruction count of the members that ran before it', () => {
    // A loop, then RDTSC (a handler, reading the count) in the same page function: the records the
    // function counted so far must be in the count the handler reads.
    const c = new Code();
    c.emit(0xb9).imm32(50); // mov ecx, 50
    c.label('top').emit(0x01, 0xcb); // add ebx, ecx
    c.emit(0x49); // dec ecx
    c.rel([0x75], 1, 'top'); // jnz top
    c.emit(0x0f, 0x31); // rdtsc
    c.emit(0xf4); // hlt
    const code = c.link();
    const tsc = [false, true].map((compiled) => {
      const m = machine(code, false);
      // A first run gives every block hits; then the first block to run again compiles all of them
      // into one page function.
      expect(m.engine.run(1e6)).toBe(StopReason.HALTED);
      if (compiled) m.engine.compileThreshold = 2;
      m.cpu.halted = false;
      m.cpu.eip = CODE;
      expect(m.engine.run(1e6)).toBe(StopReason.HALTED);
      if (compiled) expect(m.engine.stats.regions).toBe(1);
      return { eax: m.cpu.r32[0] >>> 0, state: state(m.cpu) };
    });
    expect(tsc[1].eax).toBe(tsc[0].eax);
    expect(tsc[1].state).toBe(tsc[0].state);
  });

  it('end at the budget in a loop that calls a handler on every pass', () => {
    // A guest polling a device spins through a handler call per pass; the count handed to each
    // call must still use up the budget the function was given, or the run never returns.
    // (A million passes, so that a run that overshoots its budget ends at HLT instead of spinning.)
    const c = new Code();
    c.emit(0xb9).imm32(1_000_000); // mov ecx, 1000000
    c.label('top').emit(0x90); // nop (a handler)
    c.emit(0x43); // inc ebx
    c.emit(0x49); // dec ecx
    c.rel([0x75], 1, 'top'); // jnz top
    c.emit(0xf4); // hlt
    const m = machine(c.link(), false);
    expect(m.engine.run(1000)).toBe(StopReason.BUDGET);
    m.engine.compileThreshold = 2;
    const before = m.cpu.instructions;
    expect(m.engine.run(300_000)).toBe(StopReason.BUDGET);
    expect(m.engine.stats.regions).toBe(1);
    const ran = m.cpu.instructions - before;
    expect(ran).toBeGreaterThanOrEqual(300_000);
    expect(ran).toBeLessThan(300_000 + 4);
    // Four instructions a pass after the first, all counted.
    expect(Math.abs((m.cpu.r32[3] >>> 0) - (m.cpu.instructions - 1) / 4)).toBeLessThanOrEqual(1);
  });
  it('leave the registers as a handler that faults halfway left them', () => {
    // REP MOVSD (a handler call inside the page function) through ES with a limit that holds 16 of
    // its 64 dwords: the #GP comes after 16 moves, with ECX, ESI and EDI where the 16th left them.
    const c = new Code();
    c.emit(0xb9).imm32(64); // mov ecx, 64
    c.emit(0xbe).imm32(0x20000); // mov esi, 0x20000
    c.emit(0xbf).imm32(0x30000); // mov edi, 0x30000
    c.emit(0xf3, 0xa5); // rep movsd
    c.emit(0xf4); // hlt
    const code = c.link();
    const [a, b] = [false, true].map((compiled) => {
      const m = machine(code, compiled);
      // The first run makes the page function (under a limit that holds all 64), the second runs it.
      const data = Attr.P | Attr.S | Attr.RW | Attr.ACCESSED | Attr.DB;
      for (const dwords of [64, 16]) {
        m.cpu.loadSegmentCache(Seg.ES, 0x10, 0, 0x30000 + dwords * 4 - 1, data);
        m.cpu.halted = false;
        m.cpu.eip = CODE;
        expect(m.engine.run(1e6)).toBe(dwords === 64 ? StopReason.HALTED : StopReason.SHUTDOWN);
      }
      return m;
    });
    expect(b.engine.stats.regionInstructions).toBeGreaterThan(0);
    expect(b.cpu.r32[1]).toBe(48);
    expect(state(b.cpu)).toBe(state(a.cpu));
  });

  it('give the flag getters the flags of the records before them', () => {
    // SHL leaves CF in EFLAGS, which ADC reads through cpu.getCf(); JP reads PF through cpu.getPf():
    // neither comes straight from the operands of an ALU operation before it.
    const c = new Code();
    c.emit(0xb9).imm32(300); // mov ecx, 300
    c.emit(0xb8).imm32(0x9e3779b9); // mov eax, 0x9e3779b9
    c.label('top').emit(0xd1, 0xe0); // shl eax, 1
    c.emit(0x83, 0xd2, 0x00); // adc edx, 0
    c.emit(0x01, 0xc8); // add eax, ecx
    c.rel([0x7a], 1, 'skip'); // jp skip
    c.emit(0x43); // inc ebx
    c.label('skip').emit(0x49); // dec ecx
    c.rel([0x75], 1, 'top'); // jnz top
    c.emit(0xf4); // hlt
    const code = c.link();
    const a = machine(code, false);
    const b = machine(code, true);
    for (let budget = 1; a.cpu.halted === false; budget = budget >= 7 ? 1 : budget + 1) {
      expect(b.engine.run(budget)).toBe(a.engine.run(budget));
      expect(state(b.cpu)).toBe(state(a.cpu));
    }
    expect(b.engine.stats.regionInstructions).toBeGreaterThan(1000);
    // Some rounds carried, some had even parity.
    expect(b.cpu.r32[2]).toBeGreaterThan(50);
    expect(b.cpu.r32[3]).toBeGreaterThan(50);
    expect(b.cpu.r32[3]).toBeLessThan(250);
  });
});

describe('region members', () => {
  /** A block at page offset `offset` that ran `hits` times, with `count` records. */
  function block(offset: number, count: number, hits: number): Block {
    const b = new Block();
    b.physAddr = CODE + offset;
    b.startIp = CODE + offset;
    b.mode = CodeMode.Bits32;
    b.count = count;
    b.hits = hits;
    b.routines = [];
    return b;
  }

  /** The members' page offsets, the hot block's first. */
  const offsets = (members: Block[]) => [
    (members[0] as Block).physAddr - CODE,
    ...members
      .slice(1)
      .map((b) => b.physAddr - CODE)
      .sort((x, y) => x - y),
  ];

  it('take the warm blocks of the page that are in no page function', () => {
    const hot = block(0, 10, 1000);
    const inRegion = block(0x100, 50, 900);
    const warmTier = block(0x200, 50, 800);
    const fresh = block(0x300, 50, 700);
    const cold = block(0x400, 50, 10);
    // In a page function; a block in the warm tier (a WebAssembly slot) counts as in none.
    inRegion.compiled = { warmSlot: -1 };
    warmTier.compiled = { warmSlot: 7 };
    const members = regionMembers(hot, [hot, inRegion, warmTier, fresh, cold], 100);
    expect(offsets(members)).toEqual([0, 0x200, 0x300]);
  });

  it('take the hottest first when more warm code than one region holds', () => {
    const hot = block(0, 10, 1000);
    const big = (offset: number, hits: number) => block(offset, (MAX_REGION_RECORDS - 10) / 2, hits);
    const members = regionMembers(hot, [hot, big(0x100, 300), big(0x200, 900), big(0x300, 500)], 100);
    expect(offsets(members)).toEqual([0, 0x200, 0x300]);
  });
});

describe('page functions and privilege', () => {
  // Identity paging of the first 4 MiB with user pages, except the data page, which the test makes a
  // user or a supervisor page. Page A jumps to page B, which reads the data page and loops (HLT is
  // privileged), so a run ends with its budget or, on a page fault with no IDT, with a shutdown.
  const A = 0x10000;
  const B = 0x11000;
  const DATA = 0x12000;

  function pagedMachine(): FlatMachine {
    const m = flatMachine();
    const { cpu, engine, view } = m;
    engine.compileThreshold = 0;
    engine.borrowBlocks = false;
    cpu.ram.set([0xe9, ...le32(B - (A + 5))], A); // jmp B
    cpu.ram.set([0xa1, ...le32(DATA), 0xeb, 0xfe], B); // mov eax, [DATA]; jmp $
    view.setUint32(DATA, 0x5a5a, true);
    identityPaging(m);
    return m;
  }

  function dataPage({ cpu, view }: FlatMachine, user: boolean): void {
    view.setUint32(PT + (DATA >>> 12) * 4, DATA | (user ? 7 : 3), true);
    cpu.mmu.invalidatePage(DATA);
  }

  /** Runs from `eip` at `cpl`; EAX holds what was read, 0 if nothing. */
  function runAt({ cpu, engine }: FlatMachine, eip: number, cpl: number): StopReason {
    cpu.setCpl(cpl);
    cpu.r32[0] = 0;
    cpu.eip = eip;
    return engine.run(1000);
  }

  it('enter a page function only at the privilege whose TLB masks it has as constants', () => {
    const m = pagedMachine();
    dataPage(m, false);
    // At CPL 0, B's page function reads the supervisor page (its first run compiles it).
    for (let round = 0; round < 2; round++) expect(runAt(m, B, 0)).toBe(StopReason.BUDGET);
    expect(m.cpu.r32[0]).toBe(0x5a5a);
    expect(m.engine.stats.regionInstructions).toBeGreaterThan(0);
    // At CPL 3 the read is a page fault, although the TLB holds the page's supervisor translation:
    // B runs interpreted, with the user masks.
    expect(runAt(m, B, 3)).toBe(StopReason.SHUTDOWN);
    expect(m.cpu.r32[0]).toBe(0);
  });

  it('hand control only to a page function made for the same privilege', () => {
    const m = pagedMachine();
    dataPage(m, true);
    // B's page function is made at CPL 0, A's at CPL 3, where A then passes control to B.
    for (let round = 0; round < 2; round++) expect(runAt(m, B, 0)).toBe(StopReason.BUDGET);
    for (let round = 0; round < 2; round++) expect(runAt(m, A, 3)).toBe(StopReason.BUDGET);
    expect(m.cpu.r32[0]).toBe(0x5a5a);
    // The data page becomes a supervisor page, and its translation is in the TLB after a run at CPL 0.
    dataPage(m, false);
    expect(runAt(m, B, 0)).toBe(StopReason.BUDGET);
    expect(m.cpu.r32[0]).toBe(0x5a5a);
    // From A's page function at CPL 3, B runs interpreted and faults.
    expect(runAt(m, A, 3)).toBe(StopReason.SHUTDOWN);
    expect(m.cpu.r32[0]).toBe(0);
  });
});
