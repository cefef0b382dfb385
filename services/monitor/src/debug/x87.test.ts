import { describe, expect, it } from 'vitest';
import { CTL_EMPTY, CTL_FCS, CTL_FIP, CTL_FOP, CTL_TOP, Fpu } from '../fpu/fpu.js';
import { Machine } from '../machine/machine.js';
import { MachineDebugger } from './machine-debugger.js';
import { readX87, writeX87 } from './x87.js';

/** An FPU holding 1.0 in ST(0) (physical register 7) and -2.0 in ST(1) (physical 0). */
function loadedFpu(): Fpu {
  const fpu = new Fpu();
  fpu.ctl[CTL_TOP] = 7;
  fpu.se[7] = 0x3fff;
  fpu.hi[7] = 0x80000000;
  fpu.se[0] = 0xc000;
  fpu.hi[0] = 0x80000000;
  fpu.ctl[CTL_EMPTY] = 0xff & ~0x81;
  fpu.ctl[CTL_FIP] = 0x1234;
  fpu.ctl[CTL_FCS] = 0x08;
  fpu.ctl[CTL_FOP] = 0x1e8;
  return fpu;
}

describe('x87 state for the debugger', () => {
  it('reads ST(i) in stack order with FSAVE-style words', () => {
    const x = readX87(loadedFpu());
    expect(Buffer.from(x.st[0]).toString('hex')).toBe('0000000000000080ff3f');
    expect(Buffer.from(x.st[1]).toString('hex')).toBe('000000000000008000c0');
    expect(x.status & 0x3800).toBe(0x3800);
    // Physical 0 and 7 valid, the rest empty.
    expect(x.tag).toBe(0x3ffc);
    expect(x.control).toBe(0x37f);
    expect(x).toMatchObject({ instructionOffset: 0x1234, instructionSelector: 8, lastOpcode: 0x1e8 });
  });

  it('writes back what it reads, and a changed ST(1) lands in its physical register', () => {
    const state = readX87(loadedFpu());
    const fpu = new Fpu();
    writeX87(fpu, state);
    expect(readX87(fpu)).toEqual(state);
    state.st[1] = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0xc0, 0, 0x40]);
    writeX87(fpu, state);
    expect(fpu.se[0]).toBe(0x4000);
    expect(fpu.hi[0]).toBe(0xc0000000);
  });

  it('shows in the debugger registers when the machine has an FPU', async () => {
    const machine = new Machine({ memory: 1 << 20 });
    const fpu = loadedFpu();
    const dbg = new MachineDebugger(machine, { fpu });
    await dbg.halt();
    const regs = dbg.readRegisters();
    expect(regs.x87?.tag).toBe(0x3ffc);
    const st = regs.x87?.st ?? [];
    st[0] = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0x80, 0, 0x40]);
    dbg.writeRegisters(regs);
    expect(fpu.se[7]).toBe(0x4000);
  });
});
