import { ByteAttr } from '@plex86/x86';
import { beforeEach, describe, expect, it } from 'vitest';
import { Attr } from '../cpu/cpu.js';
import { Cr0, Cr4, Seg } from '../cpu/registers.js';
import { Machine } from '../machine/machine.js';
import { DebugError, MachineDebugger } from './machine-debugger.js';
import { debugServiceHandlers } from './service.js';
import {
  WireAddressSpace,
  WireBreakpointKind,
  WireExitReason,
  WireStopReason,
  WireWatchKind,
  type WireStopEvent,
} from './wire.js';

const CODE = 0x1000;
const DATA = 0x2000;
const GDT = 0x3000;

// A 32-bit loop: eax += 2 and stored at DATA, ebx counts iterations.
const PROGRAM = [
  [0xb8, 0x01, 0x00, 0x00, 0x00], // 1000 mov eax, 1
  [0x83, 0xc0, 0x02], //             1005 add eax, 2
  [0xa3, 0x00, 0x20, 0x00, 0x00], // 1008 mov [0x2000], eax
  [0x43], //                         100d inc ebx
  [0xeb, 0xf5], //                   100e jmp 1005
  [0xf4], //                         1010 hlt
].flat();

const FLAT_CODE = Attr.P | Attr.S | Attr.CODE | Attr.RW | Attr.ACCESSED | Attr.DB | Attr.G;
const FLAT_DATA = Attr.P | Attr.S | Attr.RW | Attr.ACCESSED | Attr.DB | Attr.G;

function flatMachine(blocks: 'sbe' | 'decode' = 'sbe'): Machine {
  const m = new Machine({ memory: 1 << 20, blocks });
  const cpu = m.cpu;
  m.mem.writeBytes(CODE, new Uint8Array(PROGRAM));
  // GDT: null, flat code (08), flat data (10), a not-present data segment (18).
  const gdt = new DataView(new ArrayBuffer(32));
  gdt.setUint32(8, 0x0000ffff, true);
  gdt.setUint32(12, 0x00cf9a00, true);
  gdt.setUint32(16, 0x0000ffff, true);
  gdt.setUint32(20, 0x00cf9200, true);
  gdt.setUint32(24, 0x0000ffff, true);
  gdt.setUint32(28, 0x00cf1200, true);
  m.mem.writeBytes(GDT, new Uint8Array(gdt.buffer));
  cpu.setGdt(GDT, 31);
  cpu.setCr0(cpu.cr0 | Cr0.PE);
  cpu.loadSegmentCache(Seg.CS, 0x08, 0, -1, FLAT_CODE);
  for (const seg of [Seg.DS, Seg.ES, Seg.SS, Seg.FS, Seg.GS]) cpu.loadSegmentCache(seg, 0x10, 0, -1, FLAT_DATA);
  cpu.setCpl(0);
  cpu.eip = CODE;
  cpu.r32[4] = 0x8000;
  m.blocks.flush();
  return m;
}

let machine: Machine;
let dbg: MachineDebugger;
let stops: WireStopEvent[];
let detached: boolean[];
let source: 'sbe' | 'decode' = 'sbe';

beforeEach(() => {
  machine = flatMachine(source);
  detached = [];
  dbg = new MachineDebugger(machine, { sliceInstructions: 10_000, onDetach: (resume) => detached.push(resume) });
  stops = [];
  dbg.onStop((s) => stops.push(s));
});

/** Continues and waits for the published stop. */
async function continueToStop(): Promise<WireStopEvent> {
  const before = stops.length;
  dbg.continue();
  for (let i = 0; i < 2000 && stops.length === before; i++) await new Promise((r) => setImmediate(r));
  expect(stops.length).toBe(before + 1);
  return stops[stops.length - 1];
}

/** Waits for the next published stop of a run already going. */
async function waitForStop(): Promise<WireStopEvent> {
  const before = stops.length;
  for (let i = 0; i < 2000 && stops.length === before; i++) await new Promise((r) => setImmediate(r));
  expect(stops.length).toBe(before + 1);
  return stops[stops.length - 1];
}

function code(e: unknown): string {
  return e instanceof DebugError ? e.code : `not a DebugError: ${String(e)}`;
}

describe.each(['sbe', 'decode'] as const)('MachineDebugger with the %s block source', (blocks) => {
  beforeEach(() => {
    source = blocks;
    machine = flatMachine(source);
    dbg = new MachineDebugger(machine, { sliceInstructions: 10_000, onDetach: (resume) => detached.push(resume) });
    dbg.onStop((s) => stops.push(s));
  });

  it('takes the machine with a halt and reads the register file', async () => {
    expect(() => dbg.readRegisters()).toThrow(/needs the VM halted/);
    const stop = await dbg.halt();
    expect(stop).toMatchObject({ sequence: 1n, reason: WireStopReason.HALT_REQUEST, address: BigInt(CODE), signal: 2 });
    const regs = dbg.readRegisters();
    expect(regs.eip).toBe(CODE);
    expect(regs.esp).toBe(0x8000);
    expect(regs.cs).toEqual({ selector: 8, base: 0, limit: 0xffffffff, attributes: FLAT_CODE & 0xf0ff });
    expect(regs.gdtr).toEqual({ base: GDT, limit: 31 });
    expect(regs.cr0 & Cr0.PE).toBe(Cr0.PE);
    expect(dbg.status()).toMatchObject({ halted: true, breakpointCount: 0, watchpointCount: 0 });
    expect((await dbg.halt()).sequence).toBe(1n);
  });

  it('steps one and several instructions', async () => {
    await dbg.halt();
    const one = await dbg.step(0);
    expect(one).toMatchObject({ reason: WireStopReason.STEP, address: BigInt(CODE + 5), signal: 5, sequence: 2n });
    expect(dbg.readRegisters().eax).toBe(1);
    const three = await dbg.step(3);
    expect(three.address).toBe(BigInt(CODE + 0xe));
    const regs = dbg.readRegisters();
    expect(regs.eax).toBe(3);
    expect(regs.ebx).toBe(1);
    expect(machine.mem.read32(DATA)).toBe(3);
    expect(stops.map((s) => s.sequence)).toEqual([1n, 2n, 3n]);
  });

  it('stops at breakpoints, including one inside a block, and runs past the one it is stopped on', async () => {
    await dbg.halt();
    dbg.insertBreakpoint(WireBreakpointKind.SOFTWARE, BigInt(CODE + 0xd));
    let stop = await continueToStop();
    expect(stop).toMatchObject({ reason: WireStopReason.BREAKPOINT, address: BigInt(CODE + 0xd) });
    expect(stop.detail).toEqual({
      $case: 'breakpoint',
      value: { kind: WireBreakpointKind.SOFTWARE, address: 0x100dn },
    });
    expect(dbg.readRegisters().ebx).toBe(0);
    expect(machine.mem.read32(DATA)).toBe(3);
    stop = await continueToStop();
    expect(stop.address).toBe(BigInt(CODE + 0xd));
    expect(dbg.readRegisters().ebx).toBe(1);
    expect(dbg.readRegisters().eax).toBe(5);

    dbg.insertBreakpoint(WireBreakpointKind.HARDWARE, BigInt(CODE + 8));
    stop = await continueToStop();
    expect(stop.detail).toEqual({
      $case: 'breakpoint',
      value: { kind: WireBreakpointKind.HARDWARE, address: 0x1008n },
    });
    // The add before it in the same block ran; the store at the breakpoint did not.
    expect(dbg.readRegisters().eax).toBe(7);
    expect(machine.mem.read32(DATA)).toBe(5);
    expect(dbg.status().breakpointCount).toBe(2);
    dbg.removeBreakpoint(WireBreakpointKind.HARDWARE, BigInt(CODE + 8));
    expect(() => dbg.removeBreakpoint(WireBreakpointKind.HARDWARE, BigInt(CODE + 8))).toThrow(/no breakpoint/);
  });

  it('counts instructions exactly across breakpoint stops', async () => {
    await dbg.halt();
    dbg.insertBreakpoint(WireBreakpointKind.SOFTWARE, BigInt(CODE + 0xd));
    const first = await continueToStop();
    const second = await continueToStop();
    // One loop iteration: inc, jmp, add, mov.
    expect(second.instructionsRetired - first.instructionsRetired).toBe(4n);
    expect(first.instructionsRetired).toBe(3n);
  });

  /** Lets the loop run long enough for its blocks to be chained and jump-cached, then halts it. */
  async function haltInHotLoop(): Promise<WireStopEvent> {
    await dbg.halt();
    dbg.continue();
    await new Promise((r) => setTimeout(r, 30));
    return dbg.halt();
  }

  const NEXT_IN_LOOP = new Map([
    [CODE + 5, CODE + 8],
    [CODE + 8, CODE + 0xd],
    [CODE + 0xd, CODE + 0xe],
    [CODE + 0xe, CODE + 5],
  ]);

  it('steps one instruction at a time after the loop ran hot (no chained block runs past the step)', async () => {
    let stop = await haltInHotLoop();
    expect(stop.instructionsRetired).toBeGreaterThan(100n);
    for (let i = 0; i < 8; i++) {
      const next = await dbg.step(1);
      expect(next.instructionsRetired - stop.instructionsRetired).toBe(1n);
      expect(next.address).toBe(BigInt(NEXT_IN_LOOP.get(Number(stop.address)) ?? -1));
      stop = next;
    }
  });

  it('stops right after the store that hits a write watch set in a hot loop', async () => {
    const halted = await haltInHotLoop();
    // Instructions from each loop position through the store at CODE + 8.
    const toStore = new Map([
      [CODE + 5, 2n],
      [CODE + 8, 1n],
      [CODE + 0xd, 4n],
      [CODE + 0xe, 3n],
    ]);
    dbg.insertWatchpoint(WireWatchKind.WRITE, BigInt(DATA), 4);
    const stop = await continueToStop();
    expect(stop.reason).toBe(WireStopReason.WATCHPOINT);
    expect(stop.address).toBe(BigInt(CODE + 0xd));
    expect(stop.instructionsRetired - halted.instructionsRetired).toBe(toStore.get(Number(halted.address)));
    // Each further lap stores again; blocks cached on earlier laps must not carry it past the check.
    let last = stop;
    for (let lap = 0; lap < 3; lap++) {
      const again = await continueToStop();
      expect(again.reason).toBe(WireStopReason.WATCHPOINT);
      expect(again.address).toBe(BigInt(CODE + 0xd));
      expect(again.instructionsRetired - last.instructionsRetired).toBe(4n);
      last = again;
    }
  });

  it('stops at a breakpoint every lap when its linear page was mapped elsewhere at insertion', async () => {
    const cpu = machine.cpu;
    // Identity paging for the code, data and stack pages, but linear CODE onto an empty page at first.
    machine.mem.write32(0x10000, 0x11000 | 0x3);
    for (const page of [DATA, GDT]) machine.mem.write32(0x11000 + (page >>> 12) * 4, page | 0x3);
    machine.mem.write32(0x11000 + (CODE >>> 12) * 4, 0x6000 | 0x3);
    cpu.setCr3(0x10000);
    cpu.setCr0(cpu.cr0 | Cr0.PG);
    await dbg.halt();
    dbg.insertBreakpoint(WireBreakpointKind.SOFTWARE, BigInt(CODE + 0xd));
    // The guest maps its code there after the breakpoint was set (a mark, if any, is on the old page).
    machine.mem.write32(0x11000 + (CODE >>> 12) * 4, CODE | 0x3);
    cpu.setCr3(0x10000);
    let last = await continueToStop();
    expect(last).toMatchObject({ reason: WireStopReason.BREAKPOINT, address: BigInt(CODE + 0xd) });
    for (let lap = 0; lap < 3; lap++) {
      const stop = await continueToStop();
      expect(stop).toMatchObject({ reason: WireStopReason.BREAKPOINT, address: BigInt(CODE + 0xd) });
      expect(stop.instructionsRetired - last.instructionsRetired).toBe(4n);
      last = stop;
    }
  });

  it('stops at a write watch or a breakpoint inserted while the loop runs hot', async () => {
    await dbg.halt();
    dbg.continue();
    await new Promise((r) => setTimeout(r, 30));
    dbg.insertWatchpoint(WireWatchKind.WRITE, BigInt(DATA), 4);
    let stop = await waitForStop();
    expect(stop).toMatchObject({ reason: WireStopReason.WATCHPOINT, address: BigInt(CODE + 0xd) });
    dbg.removeWatchpoint(WireWatchKind.WRITE, BigInt(DATA), 4);
    dbg.continue();
    await new Promise((r) => setTimeout(r, 30));
    dbg.insertBreakpoint(WireBreakpointKind.HARDWARE, BigInt(CODE + 0xe));
    stop = await waitForStop();
    expect(stop).toMatchObject({ reason: WireStopReason.BREAKPOINT, address: BigInt(CODE + 0xe) });
  });

  it('stops after a write to a watched range, and refuses unknown watch kinds', async () => {
    await dbg.halt();
    await dbg.step(2);
    dbg.insertWatchpoint(WireWatchKind.WRITE, BigInt(DATA), 4);
    dbg.insertWatchpoint(WireWatchKind.WRITE, BigInt(DATA), 4);
    expect(dbg.status().watchpointCount).toBe(1);
    const stop = await continueToStop();
    expect(stop.reason).toBe(WireStopReason.WATCHPOINT);
    expect(stop.detail).toEqual({
      $case: 'watchpoint',
      value: { kind: WireWatchKind.WRITE, address: BigInt(DATA), length: 4 },
    });
    // The store completed; execution stopped at the next instruction.
    expect(stop.address).toBe(BigInt(CODE + 0xd));
    expect(machine.mem.read32(DATA)).toBe(3);
    let err: unknown;
    try {
      dbg.insertWatchpoint(7, BigInt(DATA), 4);
    } catch (e) {
      err = e;
    }
    expect(code(err)).toBe('BAD_REQUEST');
    dbg.removeWatchpoint(WireWatchKind.WRITE, BigInt(DATA), 4);
    expect(() => dbg.removeWatchpoint(WireWatchKind.WRITE, BigInt(DATA), 4)).toThrow(/no watchpoint/);
  });

  it('halts a running guest and refuses halted-only requests meanwhile', async () => {
    await dbg.halt();
    dbg.continue();
    expect(dbg.status().halted).toBe(false);
    let err: unknown;
    try {
      dbg.readMemory(WireAddressSpace.LINEAR, BigInt(CODE), 4);
    } catch (e) {
      err = e;
    }
    expect(code(err)).toBe('FAILED_PRECONDITION');
    await new Promise((r) => setTimeout(r, 20));
    const stop = await dbg.halt();
    expect(stop.reason).toBe(WireStopReason.HALT_REQUEST);
    expect(stop.instructionsRetired).toBeGreaterThan(0n);
    expect(stops.at(-1)).toBe(stop);
    const regs = dbg.readRegisters();
    expect(BigInt(regs.eip)).toBe(stop.address);
  });

  it('ends a long step early on a halt request, answering both', async () => {
    await dbg.halt();
    const step = dbg.step(1_000_000);
    const halt = dbg.halt();
    const [stepStop, haltStop] = await Promise.all([step, halt]);
    expect(stepStop).toBe(haltStop);
    expect(haltStop.reason).toBe(WireStopReason.HALT_REQUEST);
    expect(haltStop.instructionsRetired).toBeLessThan(1_000_000n);
    expect(dbg.halted).toBe(true);
  });

  it('reports a halted CPU as an exit, after which only status and detach remain', async () => {
    await dbg.halt();
    const regs = dbg.readRegisters();
    dbg.writeRegisters({ ...regs, eip: CODE + 0x10 });
    const stop = await continueToStop();
    expect(stop.reason).toBe(WireStopReason.EXITED);
    expect(stop.signal).toBe(0);
    expect(stop.detail?.$case === 'exit' && stop.detail.value.reason).toBe(WireExitReason.GUEST_SHUTDOWN);
    expect(() => dbg.continue()).toThrow(/needs the VM halted/);
    expect(() => dbg.insertBreakpoint(WireBreakpointKind.SOFTWARE, 0n)).toThrow(/exited/);
    expect(dbg.status().halted).toBe(true);
    await dbg.detach(true);
    expect(detached).toEqual([false]);
  });

  it('reads and writes linear memory through paging without touching accessed bits', async () => {
    const cpu = machine.cpu;
    // Page directory at 0x10000, one page table at 0x11000 mapping linear 0x400000 to CODE.
    machine.mem.write32(0x10000 + (0x400000 >>> 22) * 4, 0x11000 | 0x3);
    machine.mem.write32(0x11000, CODE | 0x3);
    // A 4 MiB page at linear 0x800000 onto physical 0.
    machine.mem.write32(0x10000 + 2 * 4, 0x83);
    cpu.setCr3(0x10000);
    cpu.setCr4(cpu.cr4 | Cr4.PSE);
    await dbg.halt();
    // Without CR0.PG, linear is physical: 0x400000 is past the end of RAM.
    expect(dbg.readMemory(WireAddressSpace.LINEAR, 0x400000n, 1)).toHaveLength(0);
    cpu.setCr0(cpu.cr0 | Cr0.PG);
    expect([...dbg.readMemory(WireAddressSpace.LINEAR, 0x400000n, 5)]).toEqual(PROGRAM.slice(0, 5));
    expect(machine.mem.read32(0x11000) & 0x20).toBe(0);
    expect(dbg.readMemory(WireAddressSpace.LINEAR, 0x401000n, 4)).toHaveLength(0);
    expect(dbg.readMemory(WireAddressSpace.LINEAR, 0x400ffen, 4)).toHaveLength(2);
    expect([...dbg.readMemory(WireAddressSpace.LINEAR, BigInt(0x800000 + CODE), 1)]).toEqual([0xb8]);
    expect(dbg.readMemory(WireAddressSpace.LINEAR, BigInt(CODE), 1)).toHaveLength(0);
    expect([...dbg.readMemory(WireAddressSpace.PHYSICAL, BigInt(CODE), 1)]).toEqual([0xb8]);
    expect(dbg.writeMemory(WireAddressSpace.LINEAR, 0x400ffen, new Uint8Array([1, 2, 3]))).toBe(2);
    expect(machine.mem.read16(CODE + 0xffe)).toBe(0x0201);
    expect(dbg.readMemory(WireAddressSpace.PHYSICAL, 0x100000n, 4)).toHaveLength(0);
    let err: unknown;
    try {
      dbg.readMemory(0, 0n, 4);
    } catch (e) {
      err = e;
    }
    expect(code(err)).toBe('BAD_REQUEST');
    expect(() => dbg.readMemory(WireAddressSpace.LINEAR, 0n, 0x10001)).toThrow(/outside 1 to 65536/);
  });

  it('runs code the debugger rewrote, not the stale decoded block', async () => {
    await dbg.halt();
    dbg.insertBreakpoint(WireBreakpointKind.SOFTWARE, BigInt(CODE + 0xe));
    await continueToStop();
    expect(dbg.readRegisters().ebx).toBe(1);
    // inc ebx -> inc ecx
    expect(dbg.writeMemory(WireAddressSpace.LINEAR, BigInt(CODE + 0xd), new Uint8Array([0x41]))).toBe(1);
    await continueToStop();
    const regs = dbg.readRegisters();
    expect(regs.ebx).toBe(1);
    expect(regs.ecx).toBe(1);
  });

  it('writes registers, loading a changed data selector from the GDT and refusing bad ones unchanged', async () => {
    await dbg.halt();
    const regs = dbg.readRegisters();
    dbg.writeRegisters({
      ...regs,
      eax: 0xdeadbeef,
      eflags: 0x246,
      ds: { selector: 0, base: 0, limit: 0, attributes: 0 },
    });
    let now = dbg.readRegisters();
    expect(now.eax).toBe(0xdeadbeef);
    expect(now.eflags).toBe(0x246);
    expect(now.ds?.attributes).toBe(0x10000);
    dbg.writeRegisters({ ...now, ds: { selector: 0x10, base: 0, limit: 0, attributes: 0 } });
    now = dbg.readRegisters();
    expect(now.ds?.limit).toBe(0xffffffff);
    expect(now.ds?.base).toBe(0);
    for (const selector of [0x18, 0x40]) {
      expect(() => dbg.writeRegisters({ ...now, eax: 1, es: { selector, base: 0, limit: 0, attributes: 0 } })).toThrow(
        DebugError,
      );
    }
    expect(dbg.readRegisters().eax).toBe(0xdeadbeef);
    expect(() => dbg.writeRegisters({ ...now, cs: { selector: 0x10, base: 0, limit: 0, attributes: 0 } })).toThrow(
      /CS can be changed only/,
    );
  });

  it('keeps breakpoints as SBE attribute marks, never in guest memory', async () => {
    await dbg.halt();
    dbg.insertBreakpoint(WireBreakpointKind.SOFTWARE, BigInt(CODE + 0xd));
    await continueToStop();
    expect(machine.mem.read8(CODE + 0xd)).toBe(0x43);
    expect([...dbg.readMemory(WireAddressSpace.LINEAR, BigInt(CODE + 0xd), 1)]).toEqual([0x43]);
    const page = dbg.sbePage(CODE + 0xd);
    expect(page.physicalPage).toBe(CODE);
    if (blocks === 'sbe') {
      expect(page.attributes[0xd] & ByteAttr.BREAKPOINT).toBe(ByteAttr.BREAKPOINT);
      expect(page.attributes[0x5] & ByteAttr.BREAKPOINT).toBe(0);
    } else {
      expect(page.attributes).toHaveLength(0);
    }
    dbg.removeBreakpoint(WireBreakpointKind.SOFTWARE, BigInt(CODE + 0xd));
    await dbg.step(1);
    if (blocks === 'sbe') expect(dbg.sbePage(CODE).attributes[0xd] & ByteAttr.BREAKPOINT).toBe(0);
    expect(dbg.sbePage(0x400000).attributes).toHaveLength(0);
  });

  it('detaches: clears everything, gives the block source back, tells the owner', async () => {
    const lookup = machine.blocks.lookup;
    await dbg.halt();
    dbg.insertBreakpoint(WireBreakpointKind.SOFTWARE, BigInt(CODE + 0xd));
    dbg.insertWatchpoint(WireWatchKind.WRITE, BigInt(DATA), 4);
    expect(machine.blocks.lookup).not.toBe(lookup);
    dbg.continue();
    await dbg.detach(true);
    expect(dbg.status()).toMatchObject({ halted: false, breakpointCount: 0, watchpointCount: 0 });
    expect(machine.blocks.lookup).toBe(lookup);
    expect(detached).toEqual([true]);
  });

  it('holds the machine from the first halt until detach, for the VM run loop to wait on', async () => {
    expect(dbg.holding).toBe(false);
    expect(await dbg.whenReleased()).toBe(true);
    await dbg.halt();
    expect(dbg.holding).toBe(true);
    let released: boolean | undefined;
    void dbg.whenReleased().then((r) => (released = r));
    await dbg.step(1);
    await new Promise((r) => setImmediate(r));
    expect(released).toBeUndefined();
    await dbg.detach(false);
    await new Promise((r) => setImmediate(r));
    expect(released).toBe(false);
    expect(dbg.holding).toBe(false);
  });
});

describe('debugServiceHandlers', () => {
  it('serves the debugger in the DebugService shape and maps refusals through toError', async () => {
    const h = debugServiceHandlers(dbg, (e) => new Error(`${e.code}: ${e.message}`));
    await expect(h.readRegisters({ requestId: 'a' })).rejects.toThrow(/^FAILED_PRECONDITION: /);
    const { stop } = await h.haltExecution({ requestId: 'b' });
    expect(stop.reason).toBe(WireStopReason.HALT_REQUEST);
    expect((await h.readRegisters({ requestId: 'c' })).registers.eip).toBe(CODE);
    await h.insertBreakpoint({ requestId: 'd', kind: WireBreakpointKind.SOFTWARE, address: BigInt(CODE + 5) });
    const data = (
      await h.readMemory({ requestId: 'e', space: WireAddressSpace.LINEAR, address: BigInt(CODE), length: 2 })
    ).data;
    expect([...data]).toEqual([0xb8, 0x01]);
    await h.continueExecution({ requestId: 'f' });
    for (let i = 0; i < 2000 && !(await h.getDebugStatus({ requestId: 'g' })).halted; i++) {
      await new Promise((r) => setImmediate(r));
    }
    const status = await h.getDebugStatus({ requestId: 'h' });
    expect(status.lastStop?.reason).toBe(WireStopReason.BREAKPOINT);
    expect((await h.stepInstructions({ requestId: 'i', count: 1 })).stop.address).toBe(BigInt(CODE + 8));
    await expect(
      h.removeWatchpoint({ requestId: 'j', kind: WireWatchKind.WRITE, address: 0n, length: 1 }),
    ).rejects.toThrow(/^NOT_FOUND/);
    await h.detachDebugger({ requestId: 'k', resume: false });
    expect(detached).toEqual([false]);
  });
});

describe("the machine's run loop under the debugger", () => {
  // 1100 mov al, 3; out 0xf4, al (the exit port: status 7); jmp $
  const EXIT_PROGRAM = [0xb0, 0x03, 0xe6, 0xf4, 0xeb, 0xfe];
  const EXIT_CODE = 0x1100;

  async function turns(n: number): Promise<void> {
    for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
  }

  it('does not run the engine while the debugger holds the machine, and runs on after detach', async () => {
    machine.mem.writeBytes(EXIT_CODE, new Uint8Array(EXIT_PROGRAM));
    machine.setExitPort(0xf4);
    machine.cpu.eip = EXIT_CODE;
    await dbg.halt();
    let ended = false;
    const run = machine.run().finally(() => (ended = true));
    await turns(20);
    expect(ended).toBe(false);
    expect(machine.cpu.instructions).toBe(0);
    const stop = await dbg.step(1);
    expect(stop.address).toBe(BigInt(EXIT_CODE + 2));
    expect(dbg.readRegisters().eax & 0xff).toBe(3);
    await turns(20);
    expect(ended).toBe(false);
    await dbg.detach(true);
    const result = await run;
    expect(result).toMatchObject({ end: 'exit-port', status: 7, instructions: 2 });
  });

  it('parks a running run loop when a debugger halts it, and lets it go on detach', async () => {
    const run = machine.run(Infinity, 10_000);
    await turns(10);
    await dbg.halt();
    const at = machine.cpu.instructions;
    expect(at).toBeGreaterThan(0);
    await turns(20);
    expect(machine.cpu.instructions).toBe(at);
    await dbg.detach(true);
    await turns(20);
    expect(machine.cpu.instructions).toBeGreaterThan(at);
    machine.requestStop('test over');
    expect((await run).end).toBe('stopped');
  });

  it('ends a held run on a stop request, and ends the run when the debugger lets go without resuming', async () => {
    await dbg.halt();
    const run = machine.run();
    await turns(5);
    machine.requestStop('the user quit');
    expect(await run).toMatchObject({ end: 'stopped', message: 'plex86: the user quit', instructions: 0 });

    const other = flatMachine();
    const second = new MachineDebugger(other);
    await second.halt();
    const run2 = other.run();
    await turns(5);
    await second.detach(false);
    expect(await run2).toMatchObject({ end: 'stopped', message: 'plex86: the VM ended under the debugger' });
  });

  it('fires timers while the debugger runs the guest', async () => {
    let firedAt = -1;
    const timer = machine.clock.timer('test', (now) => (firedAt = now));
    // 10000 instructions from now at 5 ns each.
    machine.clock.arm(timer, machine.clock.now() + 50_000);
    await dbg.halt();
    const run = machine.run();
    dbg.continue();
    for (let i = 0; i < 2000 && firedAt < 0; i++) await turns(1);
    await dbg.halt();
    expect(firedAt).toBeGreaterThanOrEqual(50_000);
    await dbg.detach(true);
    machine.requestStop('test over');
    await run;
  });
});
