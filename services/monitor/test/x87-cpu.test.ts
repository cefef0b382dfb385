/**
 * The x87 FPU as the CPU runs it: test/programs/x87.asm computes in 32-bit protected mode and
 * prints what it observed ("name=hex"); the values are checked against IEEE arithmetic done here
 * and against what the SDM specifies for exceptions, pointers and the save formats.
 */

import { describe, expect, it } from 'vitest';
import { Seg } from '../src/cpu/registers.js';
import { Machine } from '../src/machine/machine.js';
import { assemble, EXIT_PORT, runRom } from './support/programs.js';

const VALUES = [1.5, 2.25, -0.125, 100.0, 0.0625, 7.0, -3.5, 1024.0];

function parse(output: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of output.split('\n')) {
    const match = /^(\w+)=([0-9a-f]{8})$/i.exec(line);
    if (match !== null) m.set(match[1], parseInt(match[2], 16));
  }
  return m;
}

/** The two dwords of a float64, high first. */
function f64(v: number): [number, number] {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, v, true);
  return [view.getUint32(4, true), view.getUint32(0, true)];
}

function f32(v: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setFloat32(0, v, true);
  return view.getUint32(0, true);
}

describe('x87 through the CPU', () => {
  let output = '';
  let r = new Map<string, number>();
  const get = (name: string): number => {
    const v = r.get(name);
    if (v === undefined) throw new Error(`the program did not report ${name}:\n${output}`);
    return v;
  };

  it('stops at a waiting instruction on FERR# with CR0.NE=0 and resumes with IGNNE# from port F0h', async () => {
    const machine = new Machine({ memory: 16 << 20, compileThreshold: 0 });
    machine.addDebugcon(0xe9, (b) => (output += String.fromCharCode(b)));
    machine.setExitPort(EXIT_PORT);
    machine.loadKernel(assemble('x87'));
    const cpu = machine.cpu;
    // The program runs up to the FWAIT behind an unmasked divide by zero with CR0.NE=0.
    const first = await machine.run(1_000_000);
    r = parse(output);
    expect(first.end, output).toBe('halted');
    expect(first.message).toMatch(/^plex86: an x87 instruction waits on FERR# .* at 0008:[0-9A-F]{8}$/);
    expect(cpu.ferrWaits).toBe(1);
    expect(cpu.fpu.ferr).toBe(true);
    // EIP stays on the FWAIT (9B), to be retried after the interrupt.
    const fwaitEip = cpu.eip;
    expect(cpu.mem.read8((cpu.segBase[Seg.CS] + fwaitEip) >>> 0)).toBe(0x9b);
    expect(output).not.toMatch(/ferr_vector/);
    // Without IGNNE# the retry stops again and calls the platform hook (IRQ13 on a PC).
    const ferrCalls: number[] = [];
    cpu.onFerr = () => ferrCalls.push(cpu.eip);
    cpu.halted = false;
    const again = await machine.run(1000);
    expect(again.end).toBe('halted');
    expect(cpu.ferrWaits).toBe(2);
    expect(ferrCalls).toEqual([fwaitEip]);
    // The IRQ13 handler's write to port F0h asserts IGNNE#, which lets the FWAIT complete with no
    // exception; the program then exits normally.
    machine.io.write8(0xf0, 0);
    expect(cpu.ignne).toBe(true);
    cpu.halted = false;
    const rest = await machine.run(100_000);
    expect(rest.end, output).toBe('exit-port');
    // The exit port reports (value << 1) | 1: main returned normally.
    expect(rest.status).toBe(1);
    r = parse(output);
    expect(get('ferr_vector')).toBe(0xff);
    // FNCLEX ended FERR#, and IGNNE# with it; a write to F0h without FERR# asserts nothing.
    expect(cpu.fpu.ferr).toBe(false);
    expect(cpu.ignne).toBe(false);
    machine.io.write8(0xf0, 0);
    expect(cpu.ignne).toBe(false);
  });

  it('reports an FPU and FXSR in CPUID, CR0.ET set and the reset state of SDM table 9-1', () => {
    expect(get('cpuid_fpu_fxsr')).toBe((1 << 24) | 1);
    expect(get('cr0_et')).toBe(1);
    expect(get('reset_cw') & 0xffff).toBe(0x0040);
    expect(get('reset_sw') & 0xffff).toBe(0);
    expect(get('reset_tw') & 0xffff).toBe(0x5555);
    expect(get('init_cw') & 0xffff).toBe(0x037f);
  });

  it('computes sums, square roots and products as IEEE arithmetic does', () => {
    const sum = VALUES.reduce((a, b) => a + b, 0);
    expect([get('sum_hi'), get('sum_lo')]).toEqual(f64(sum));
    expect([get('sqrt2_hi'), get('sqrt2_lo')]).toEqual(f64(Math.SQRT2));
    expect(get('mul_div_f32')).toBe(f32((3 * 0.25) / -2));
  });

  it('converts to integers in memory with the rounding control', () => {
    expect(get('fist_nearest')).toBe(1235);
    expect(get('fistp_chop')).toBe(1234);
    expect(get('fistp_m16_even')).toBe(0xfffe);
    const big = 0x7fffffff * 3;
    expect(get('fistp_m64_hi')).toBe(Math.floor(big / 2 ** 32));
    expect(get('fistp_m64_lo')).toBe(big % 2 ** 32);
    expect(get('fbstp_lo')).toBe(2);
    expect(get('fbstp_sign')).toBe(0x80);
    // The inexact FIST of 1234.75 left PE set; everything was popped again (TOP 0).
    expect(get('sw_after_conv')).toBe(0x0020);
  });

  it('sets EFLAGS from FCOMIP and the condition codes from FCOM', () => {
    expect(get('fcomi_cf_zf')).toBe(1);
    expect(get('fcom_c320')).toBe(0x4000);
  });

  it('records the instruction and data pointers and the opcode', () => {
    // FIP is the first byte of the instruction, its DS prefix included.
    expect(get('ptr_fip_ok')).toBe(get('ptr_fip_label'));
    // FCS in the low half, FOP (DD 05: FLD m64 with a disp32) in bits 16..26.
    expect(get('ptr_fcs_fop')).toBe((0x505 << 16) | 0x08);
    expect(get('ptr_fdp')).toBe(get('ptr_fdp_label'));
    expect(get('ptr_fds') & 0xffff).toBe(0x10);
    expect(get('ptr_fip_after_ctl')).toBe(get('ptr_fip_label'));
  });

  it('round-trips FSAVE/FRSTOR in the 32-bit and 16-bit formats', () => {
    expect(get('after_fsave_sw')).toBe(0);
    expect(get('fsave_tw') & 0xffff).toBe(0x0fff);
    expect(get('frstor_st0_hi')).toBe(f64(1)[0]);
    expect([get('frstor_st1_hi'), get('frstor_st1_lo')]).toEqual(f64(Math.PI));
    expect(get('fsave16_cw')).toBe(0x037f);
    expect(get('fsave16_st0_se')).toBe(0xc000);
    expect(get('frstor16_st0')).toBe(-2 >>> 0);
  });

  it('saves and restores the x87 part of the FXSAVE image, which must be 16-byte aligned', () => {
    expect(get('fxsave_cw')).toBe(0x037f);
    expect(get('fxsave_sw')).toBe(0x3000);
    // Abridged tag word: one bit per physical register, set when not empty (registers 6 and 7).
    expect(get('fxsave_ftw')).toBe(0xc0);
    expect(get('fxsave_st0_hi')).toBe(0x80000000);
    expect(get('fxsave_st0_se')).toBe(0x3fff);
    expect(get('fxrstor_st0_hi')).toBe(f64(1)[0]);
    expect(get('fxrstor_st1_hi')).toBe(f64(Math.PI)[0]);
    expect(get('fxsave_misaligned')).toBe(13);
  });

  it('gives infinity for a masked divide by zero and #MF at the next waiting instruction when unmasked', () => {
    expect(get('masked_zdiv_sw')).toBe(0x3804);
    expect(get('masked_zdiv_hi')).toBe(0x7ff00000);
    expect(get('mf_pending_vector')).toBe(0xff);
    expect(get('mf_fwait_vector')).toBe(16);
    expect(get('mf_fwait_eip')).toBe(0);
    expect(get('mf_fld_eip')).toBe(0);
    // FLD1 did not run: TOP is still 6, and B, ES and ZE are set.
    expect(get('mf_sw')).toBe(0xb084);
    expect(get('mf_before_mem_vector')).toBe(16);
    expect(get('mf_cleared_sw')).toBe(0x3800);
  });

  it('leaves the FPU unchanged when a memory operand faults', () => {
    expect(get('gp_load_vector')).toBe(13);
    expect(get('gp_store_vector')).toBe(13);
    expect(get('gp_fnsave_vector')).toBe(13);
    expect(get('gp_sw') & 0xffff).toBe(0x3800);
    expect(get('gp_tw') & 0xffff).toBe(0x3fff);
  });

  it('faults on operands that cross into a not-present page and leaves the FPU and memory alone', () => {
    expect(get('pf_store_vector')).toBe(14);
    expect(get('pf_store_error')).toBe(2);
    expect(get('pf_store_cr2')).toBe(0x300000);
    // No byte of the 10-byte store reached the present page.
    expect(get('pf_store_untouched')).toBe(0x11223344);
    expect(get('pf_load_vector')).toBe(14);
    expect(get('pf_frstor_vector')).toBe(14);
    // FLD1 and FLDPI are still on the stack: TOP 6, two valid registers, ST0 is pi.
    expect(get('pf_sw') & 0xffff).toBe(0x3000);
    expect(get('pf_tw') & 0xffff).toBe(0x0fff);
    expect(get('pf_st0_hi')).toBe(f64(Math.PI)[0]);
  });

  it('raises #NM for CR0.TS and CR0.EM, and for WAIT only with MP and TS', () => {
    expect(get('nm_ts_vector')).toBe(7);
    expect(get('nm_ts_eip')).toBe(0);
    expect(get('nm_ts_fxsave')).toBe(7);
    expect(get('nm_wait_no_mp')).toBe(0xff);
    expect(get('nm_wait_mp_vector')).toBe(7);
    expect(get('after_clts')).toBe(1);
    expect(get('nm_em_vector')).toBe(7);
    expect(get('nm_em_wait')).toBe(0xff);
  });
});

describe('x87 in real mode', () => {
  it('stores 20-bit linear instruction and operand pointers in the 16- and 32-bit environments', async () => {
    const run = await runRom(assemble('x87-real'), 100_000);
    expect(run.end, run.message).toBe('exit-port');
    const w = run.output
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => parseInt(l, 16));
    expect(w).toHaveLength(15);
    const [load16, load32] = w;
    // CS base 0xF0000, DS 0x1234: the operand at linear 0x12350.
    const fip16 = 0xf0000 + load16;
    const fip32 = 0xf0000 + load32;
    // 16-bit: FIP 15..0; FIP 19..16 and FOP (D9 06: FLD m32 with a disp16); FDP 15..0; FDP 19..16.
    expect(w.slice(2, 6)).toEqual([fip16 & 0xffff, ((fip16 >>> 16) << 12) | 0x106, 0x2350, 0x1000]);
    // 32-bit, as high and low words of four dwords: FIP, FIP 31..16 << 12 | FOP (D8 06), FDP, FDP 31..16 << 12.
    expect(w.slice(6, 14)).toEqual([
      0xffff,
      fip32 & 0xffff,
      0,
      ((fip32 >>> 16) << 12) | 0x006,
      0xffff,
      0x2350,
      0,
      0x1000,
    ]);
    // pi + pi rounded to an integer.
    expect(w[14]).toBe(6);
  });
});
