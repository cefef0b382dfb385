/**
 * The ACPI fixed hardware through the machine's port space, as Linux's ACPICA drives it: PM1a
 * status bits cleared by writing 1, enable bits raising the SCI on IRQ 9, SCI_EN always set, sleep
 * requests through SLP_TYP/SLP_EN, the 24-bit PM timer on the virtual clock, and the reset register.
 * Guest programs then power the machine off and reset it through the run loop.
 */

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ACPI_RESET_PORT,
  PM1A_CNT_BLK,
  PM1A_EVT_BLK,
  PM_TIMER_HZ,
  PM_TMR_BLK,
  Pm1Control,
  Pm1Event,
  SLP_TYP_S5,
} from '../../src/acpi/pm.js';
import type { Machine } from '../../src/machine/machine.js';
import { PROGRAMS_DIR, runTool } from '../support/programs.js';
import { advance, initPicLikeLinux, pcMachine, readIrr } from '../platform/support.js';

const PM1A_EN = PM1A_EVT_BLK + 2;
const SCI_BIT = 1 << 9;

/** A machine whose PIC is set up like Linux's, with IRQ 9 (and the cascade) unmasked. */
function machineWithPic(): Machine {
  const m = pcMachine();
  initPicLikeLinux(m, 0xff & ~(1 << 2), 0xff & ~(1 << 1));
  return m;
}

/** The PM timer count `ns` of virtual time after power-on. */
function expectedTicks(ns: number): number {
  return Math.floor((ns * PM_TIMER_HZ) / 1e9) % 0x1000000;
}

function assemble(defines: Record<string, number> = {}): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'plex86-acpi-'));
  const out = join(dir, 'acpi-sleep.bin');
  try {
    runTool(
      'nasm',
      [
        '-Werror',
        '-f',
        'bin',
        '-I',
        `${PROGRAMS_DIR}/`,
        ...Object.entries(defines).map(([k, v]) => `-D${k}=${v}`),
        '-o',
        out,
        join(import.meta.dirname, 'programs', 'acpi-sleep.asm'),
      ],
      'nasm',
    );
    return new Uint8Array(readFileSync(out));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('ACPI PM1a event block', () => {
  it('sets PWRBTN_STS on a button press, raises the SCI only while enabled, and clears on a written 1', () => {
    const m = machineWithPic();
    m.acpi.pressPowerButton();
    expect(m.io.read16(PM1A_EVT_BLK) & Pm1Event.PWRBTN).toBe(Pm1Event.PWRBTN);
    expect(readIrr(m) & SCI_BIT).toBe(0);
    expect(m.acpi.sci).toBe(false);

    m.io.write16(PM1A_EN, Pm1Event.PWRBTN);
    expect(m.io.read16(PM1A_EN)).toBe(Pm1Event.PWRBTN);
    expect(m.acpi.sci).toBe(true);
    expect(readIrr(m) & SCI_BIT).toBe(SCI_BIT);

    // Writing 0s (and other bits) leaves it set; writing its 1 clears it and drops the SCI.
    m.io.write16(PM1A_EVT_BLK, Pm1Event.WAK | Pm1Event.GBL);
    expect(m.io.read16(PM1A_EVT_BLK) & Pm1Event.PWRBTN).toBe(Pm1Event.PWRBTN);
    m.io.write16(PM1A_EVT_BLK, Pm1Event.PWRBTN);
    expect(m.io.read16(PM1A_EVT_BLK) & Pm1Event.PWRBTN).toBe(0);
    expect(m.acpi.sci).toBe(false);
  });

  it('takes byte and dword accesses across the status and enable registers', () => {
    const m = machineWithPic();
    m.io.write8(PM1A_EN + 1, Pm1Event.PWRBTN >>> 8);
    expect(m.io.read16(PM1A_EN)).toBe(Pm1Event.PWRBTN);
    m.acpi.pressPowerButton();
    expect(m.io.read8(PM1A_EVT_BLK + 1)).toBe(Pm1Event.PWRBTN >>> 8);
    // A dword read sees PM1_STS in the low half and PM1_EN in the high half.
    expect(m.io.read32(PM1A_EVT_BLK) >>> 0).toBe(((Pm1Event.PWRBTN << 16) | Pm1Event.PWRBTN) >>> 0);
    // The low status byte holds no power button bit: writing 1s there leaves it alone.
    m.io.write8(PM1A_EVT_BLK, 0xff);
    expect(m.io.read16(PM1A_EVT_BLK) & Pm1Event.PWRBTN).toBe(Pm1Event.PWRBTN);
    m.io.write8(PM1A_EVT_BLK + 1, Pm1Event.PWRBTN >>> 8);
    expect(m.io.read16(PM1A_EVT_BLK) & Pm1Event.PWRBTN).toBe(0);
    // Enable bits of events this machine does not have stay clear.
    m.io.write16(PM1A_EN, 0xffff);
    expect(m.io.read16(PM1A_EN)).toBe(Pm1Event.TMR | Pm1Event.GBL | Pm1Event.PWRBTN | Pm1Event.RTC);
    // RTC_EN reads back (Linux checks when it installs its RTC handler) but no RTC event ever sets.
    m.io.write16(PM1A_EN, Pm1Event.RTC);
    expect(m.io.read16(PM1A_EN)).toBe(Pm1Event.RTC);
    expect(m.acpi.sci).toBe(false);
  });
});

describe('ACPI PM timer', () => {
  it('counts at 3.579545 MHz of virtual time in 24 bits and cannot be written', () => {
    const m = pcMachine();
    expect(m.io.read32(PM_TMR_BLK)).toBe(0);
    advance(m, 1e9);
    const oneSecond = m.io.read32(PM_TMR_BLK);
    expect(oneSecond).toBe(expectedTicks(m.clock.now()));
    expect(oneSecond).toBeGreaterThanOrEqual(PM_TIMER_HZ);
    expect(oneSecond).toBeLessThan(PM_TIMER_HZ + 2);
    m.io.write32(PM_TMR_BLK, 0);
    expect(m.io.read32(PM_TMR_BLK)).toBe(oneSecond);
    // 5 s is 17.9 million ticks: the count has wrapped at 2^24 and bits 24-31 read 0.
    advance(m, 4e9);
    const wrapped = m.io.read32(PM_TMR_BLK);
    expect(wrapped).toBe(expectedTicks(m.clock.now()));
    expect(wrapped).toBeLessThan(5 * PM_TIMER_HZ - 0x1000000 + 2);
    expect(m.io.read16(PM_TMR_BLK)).toBe(wrapped & 0xffff);
    expect(m.io.read8(PM_TMR_BLK + 3)).toBe(0);
  });

  it('sets TMR_STS when bit 23 changes and, with TMR_EN, raises the SCI at that moment', () => {
    const m = machineWithPic();
    const half = (0x800000 / PM_TIMER_HZ) * 1e9;
    m.io.write16(PM1A_EN, Pm1Event.TMR);
    advance(m, half - 1000);
    expect(m.io.read16(PM1A_EVT_BLK) & Pm1Event.TMR).toBe(0);
    expect(readIrr(m) & SCI_BIT).toBe(0);
    // The device armed a timer for the change, so the SCI comes without anyone reading the ports.
    advance(m, 2000);
    expect(m.acpi.sci).toBe(true);
    expect(readIrr(m) & SCI_BIT).toBe(SCI_BIT);
    expect(m.io.read16(PM1A_EVT_BLK) & Pm1Event.TMR).toBe(Pm1Event.TMR);
    m.io.write16(PM1A_EVT_BLK, Pm1Event.TMR);
    expect(m.io.read16(PM1A_EVT_BLK) & Pm1Event.TMR).toBe(0);
    expect(m.acpi.sci).toBe(false);
    // The next change of bit 23 (back to 0 at 2^24) sets it again.
    advance(m, half);
    expect(m.io.read16(PM1A_EVT_BLK) & Pm1Event.TMR).toBe(Pm1Event.TMR);
    expect(m.acpi.sci).toBe(true);
    // Disabled, the status stays visible but the SCI drops and no timer is left armed.
    m.io.write16(PM1A_EN, 0);
    expect(m.acpi.sci).toBe(false);
    expect(m.clock.nextDeadline()).toBeGreaterThan(m.clock.now() + 1e12);
  });
});

describe('ACPI PM1a control block', () => {
  it('reads SCI_EN as 1 whatever is written, keeps SLP_TYP, and never reads SLP_EN back', () => {
    const m = pcMachine();
    expect(m.io.read16(PM1A_CNT_BLK)).toBe(Pm1Control.SCI_EN);
    m.io.write16(PM1A_CNT_BLK, 3 << Pm1Control.SLP_TYP_SHIFT);
    expect(m.io.read16(PM1A_CNT_BLK)).toBe((3 << Pm1Control.SLP_TYP_SHIFT) | Pm1Control.SCI_EN);
    expect(m.poweredOff).toBe(false);
  });

  it('powers off on SLP_EN with the \\_S5 type, also through byte writes of the high half', () => {
    const m = pcMachine();
    m.io.write16(PM1A_CNT_BLK, (SLP_TYP_S5 << Pm1Control.SLP_TYP_SHIFT) | Pm1Control.SCI_EN);
    expect(m.poweredOff).toBe(false);
    m.io.write8(PM1A_CNT_BLK + 1, ((SLP_TYP_S5 << Pm1Control.SLP_TYP_SHIFT) | Pm1Control.SLP_EN) >>> 8);
    expect(m.poweredOff).toBe(true);
  });

  it('refuses the other sleep types with a message and keeps running', () => {
    const m = pcMachine();
    const notices: string[] = [];
    m.onNotice = (text) => notices.push(text);
    m.io.write16(PM1A_CNT_BLK, (1 << Pm1Control.SLP_TYP_SHIFT) | Pm1Control.SLP_EN);
    m.io.write16(PM1A_CNT_BLK, (3 << Pm1Control.SLP_TYP_SHIFT) | Pm1Control.SLP_EN);
    expect(m.poweredOff).toBe(false);
    expect(notices).toHaveLength(2);
    expect(notices[0]).toMatch(/sleep type 1 \(SLP_TYP\).*only 5, soft-off.*ignored/);
    expect(notices[1]).toMatch(/sleep type 3 /);
    expect(m.acpi.refusedSleeps[1]).toBe(1);
    expect(m.acpi.refusedSleeps[3]).toBe(1);
  });
});

describe('ACPI reset register', () => {
  it('resets on a write with RST_CPU set (the FADT RESET_VALUE 06h) and ignores other values', () => {
    const m = pcMachine();
    const asked: string[] = [];
    m.onReset = (s) => asked.push(s);
    m.io.write8(ACPI_RESET_PORT, 0x02);
    expect(m.io.read8(ACPI_RESET_PORT)).toBe(0x02);
    expect(asked).toEqual([]);
    m.io.write8(ACPI_RESET_PORT, 0x06);
    expect(asked).toEqual(['ACPI reset register']);
    expect(m.resetSource).toBe('ACPI reset register');
  });
});

describe('ACPI sleep and reset from a guest program', () => {
  it('ends the run with status 0 and says so when the guest enters S5', async () => {
    const m = pcMachine();
    m.setExitPort(0xf4);
    m.loadKernel(assemble());
    const run = await m.run(10_000_000);
    expect(run.end).toBe('power-off');
    expect(run.status).toBe(0);
    expect(run.message).toBe('plex86: the guest powered the machine off');
  });

  it('lets a guest that asked for S3 run on to its exit port', async () => {
    const m = pcMachine();
    const notices: string[] = [];
    m.onNotice = (text) => notices.push(text);
    m.setExitPort(0xf4);
    m.loadKernel(assemble({ SLP_TYP: 3 }));
    const run = await m.run(10_000_000);
    expect(run.end).toBe('exit-port');
    expect(run.status).toBe(3);
    expect(notices).toHaveLength(1);
  });

  it('ends the run as a reset when the guest writes the reset register', async () => {
    const m = pcMachine();
    m.setExitPort(0xf4);
    m.loadKernel(assemble({ RESET: 1 }));
    const run = await m.run(10_000_000);
    expect(run.end).toBe('reset');
    expect(run.status).toBe(0);
    expect(run.message).toMatch(/reset the machine \(ACPI reset register\)/);
  });
});
