/** IN and OUT, with the protected-mode I/O permission check (IOPL, then the TSS I/O bitmap). */

import type { Cpu } from '../cpu.js';
import { Vector } from '../fault.js';
import { Seg } from '../registers.js';
import { SysType } from '../segments.js';
import { on } from './table.js';

/**
 * Raises #GP(0) unless the current privilege may access `bytes` ports from `port`: always in real
 * mode; with CPL <= IOPL in protected mode; otherwise (and always in virtual-8086 mode) only if the
 * 32-bit TSS's I/O permission bitmap clears every bit of the range.
 */
export function checkIoPermission(cpu: Cpu, port: number, bytes: number): void {
  if (!cpu.protectedMode) return;
  if (!cpu.v86 && cpu.cpl <= cpu.iopl) return;
  const type = cpu.segAttr[Seg.TR] & 0xf;
  const limit = cpu.segLimit[Seg.TR] >>> 0;
  if ((type !== SysType.TSS32_BUSY && type !== SysType.TSS32_AVAILABLE) || limit < 0x67) cpu.raise(Vector.GP, 0);
  const base = cpu.segBase[Seg.TR];
  const mapBase = cpu.systemRead16((base + 0x66) | 0);
  const at = mapBase + (port >>> 3);
  if (at + 1 > limit) cpu.raise(Vector.GP, 0);
  const bits = cpu.systemRead16((base + at) | 0);
  const mask = ((1 << bytes) - 1) << (port & 7);
  if ((bits & mask) !== 0) cpu.raise(Vector.GP, 0);
}

on('In_AL_imm8', (cpu, ins) => {
  checkIoPermission(cpu, ins.rawImmediate & 0xff, 1);
  cpu.r8[0] = cpu.io.read8(ins.rawImmediate & 0xff);
});
on('In_AX_imm8', (cpu, ins) => {
  checkIoPermission(cpu, ins.rawImmediate & 0xff, 2);
  cpu.r16[0] = cpu.io.read16(ins.rawImmediate & 0xff);
});
on('In_EAX_imm8', (cpu, ins) => {
  checkIoPermission(cpu, ins.rawImmediate & 0xff, 4);
  cpu.r32[0] = cpu.io.read32(ins.rawImmediate & 0xff);
});
on('Out_imm8_AL', (cpu, ins) => {
  checkIoPermission(cpu, ins.rawImmediate & 0xff, 1);
  cpu.io.write8(ins.rawImmediate & 0xff, cpu.r8[0]);
});
on('Out_imm8_AX', (cpu, ins) => {
  checkIoPermission(cpu, ins.rawImmediate & 0xff, 2);
  cpu.io.write16(ins.rawImmediate & 0xff, cpu.r16[0]);
});
on('Out_imm8_EAX', (cpu, ins) => {
  checkIoPermission(cpu, ins.rawImmediate & 0xff, 4);
  cpu.io.write32(ins.rawImmediate & 0xff, cpu.r32[0]);
});
on('In_AL_DX', (cpu) => {
  checkIoPermission(cpu, cpu.r16[4], 1);
  cpu.r8[0] = cpu.io.read8(cpu.r16[4]);
});
on('In_AX_DX', (cpu) => {
  checkIoPermission(cpu, cpu.r16[4], 2);
  cpu.r16[0] = cpu.io.read16(cpu.r16[4]);
});
on('In_EAX_DX', (cpu) => {
  checkIoPermission(cpu, cpu.r16[4], 4);
  cpu.r32[0] = cpu.io.read32(cpu.r16[4]);
});
on('Out_DX_AL', (cpu) => {
  checkIoPermission(cpu, cpu.r16[4], 1);
  cpu.io.write8(cpu.r16[4], cpu.r8[0]);
});
on('Out_DX_AX', (cpu) => {
  checkIoPermission(cpu, cpu.r16[4], 2);
  cpu.io.write16(cpu.r16[4], cpu.r16[0]);
});
on('Out_DX_EAX', (cpu) => {
  checkIoPermission(cpu, cpu.r16[4], 4);
  cpu.io.write32(cpu.r16[4], cpu.r32[0]);
});
