/**
 * Helpers for the platform tests: a machine whose chips are driven through its port space, virtual
 * time advanced as if instructions had run, and the 8259A programmed the way Linux's init_8259A does.
 */

import { join } from 'node:path';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Machine, type MachineConfig } from '../../src/machine/machine.js';
import { PROGRAMS_DIR, runTool } from '../support/programs.js';

/** Linux's vectors for the legacy IRQs on i386: IRQ n is 0x30 + n. */
export const MASTER_BASE = 0x30;
export const SLAVE_BASE = 0x38;

export function pcMachine(config: Partial<MachineConfig> = {}): Machine {
  return new Machine({ memory: 16 << 20, rtcStartTime: Date.UTC(2026, 10, 21, 3, 4, 5), ...config });
}

/** Lets `ns` of virtual time pass as executed instructions would, then fires the due timers. */
export function advance(m: Machine, ns: number): void {
  m.cpu.instructions += Math.ceil(ns / m.clock.nsPerInstruction);
  m.clock.runDue();
}

/** init_8259A(auto_eoi = 0): ICW1 11h, vectors 30h/38h, cascade on IR2, 8086 mode; then masks. */
export function initPicLikeLinux(m: Machine, masterMask = 0xff, slaveMask = 0xff): void {
  const io = m.io;
  io.write8(0x21, 0xff);
  io.write8(0xa1, 0xff);
  io.write8(0x20, 0x11);
  io.write8(0x21, MASTER_BASE);
  io.write8(0x21, 1 << 2);
  io.write8(0x21, 0x01);
  io.write8(0xa0, 0x11);
  io.write8(0xa1, SLAVE_BASE);
  io.write8(0xa1, 2);
  io.write8(0xa1, 0x01);
  io.write8(0x21, masterMask);
  io.write8(0xa1, slaveMask);
}

/** Reads the in-service registers the way Linux's i8259A_irq_real does (OCW3 0Bh, then back to IRR). */
export function readIsr(m: Machine): number {
  m.io.write8(0x20, 0x0b);
  m.io.write8(0xa0, 0x0b);
  const v = m.io.read8(0x20) | (m.io.read8(0xa0) << 8);
  m.io.write8(0x20, 0x0a);
  m.io.write8(0xa0, 0x0a);
  return v;
}

export function readIrr(m: Machine): number {
  return m.io.read8(0x20) | (m.io.read8(0xa0) << 8);
}

/**
 * Assembles test/platform/programs/<name>.asm (flat binary, with test/programs on the include path),
 * with `defines` as nasm -D symbols.
 */
export function assemblePlatformProgram(name: string, defines: Record<string, number | string> = {}): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'plex86-platform-'));
  const out = join(dir, `${name}.bin`);
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
        join(import.meta.dirname, 'programs', `${name}.asm`),
      ],
      'nasm',
    );
    return new Uint8Array(readFileSync(out));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
