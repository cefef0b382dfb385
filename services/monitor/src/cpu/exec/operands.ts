/**
 * Operand access for decoded instructions. The decoder's Register numbering is contiguous per class
 * (AL..BH = 1..8, AX..DI = 9..16, EAX..EDI = 17..24, ES..GS = 25..30), so register operands index the
 * CPU's register views with one subtraction.
 */

import { OpKind, type Instruction } from '@plex86/x86';
import type { Cpu } from '../cpu.js';

export const R_AL = 1;
export const R_AX = 9;
export const R_EAX = 17;
export const R_ES = 25;
export const K_REG = OpKind.Register;
export const K_MEM = OpKind.Memory;

/** r8 byte offset for Register.AL..BH (index 0 unused). */
const R8 = Uint8Array.of(0, 0, 4, 8, 12, 1, 5, 9, 13);

export function reg8(cpu: Cpu, r: number): number {
  return cpu.r8[R8[r]];
}
export function setReg8(cpu: Cpu, r: number, v: number): void {
  cpu.r8[R8[r]] = v;
}
export function reg16(cpu: Cpu, r: number): number {
  return cpu.r16[(r - R_AX) << 1];
}
export function setReg16(cpu: Cpu, r: number, v: number): void {
  cpu.r16[(r - R_AX) << 1] = v;
}
export function reg32(cpu: Cpu, r: number): number {
  return cpu.r32[r - R_EAX];
}
export function setReg32(cpu: Cpu, r: number, v: number): void {
  cpu.r32[r - R_EAX] = v;
}

/** Effective address (offset within the segment) of the instruction's memory operand. */
export function ea(cpu: Cpu, ins: Instruction): number {
  let a = ins.rawDisplacement;
  const base = ins.memBase;
  const index = ins.memIndex;
  if (ins.addressSize === 16) {
    if (base !== 0) a += cpu.r16[(base - R_AX) << 1];
    if (index !== 0) a += cpu.r16[(index - R_AX) << 1];
    return a & 0xffff;
  }
  if (base !== 0) a += cpu.r32[base - R_EAX];
  if (index !== 0) a += cpu.r32[index - R_EAX] * ins.memScale;
  return a | 0;
}

/** Segment register number (Seg) of the memory operand. */
export function memSeg(ins: Instruction): number {
  return ins.memSegment - R_ES;
}

// ---- r/m operands: `kind`/`reg` are the operand's fields (op0 or op1) ----

export function readRm8(cpu: Cpu, ins: Instruction, kind: number, reg: number): number {
  if (kind === K_REG) return cpu.r8[R8[reg]];
  return cpu.read8(ins.memSegment - R_ES, ea(cpu, ins));
}
export function readRm16(cpu: Cpu, ins: Instruction, kind: number, reg: number): number {
  if (kind === K_REG) return cpu.r16[(reg - R_AX) << 1];
  return cpu.read16(ins.memSegment - R_ES, ea(cpu, ins));
}
export function readRm32(cpu: Cpu, ins: Instruction, kind: number, reg: number): number {
  if (kind === K_REG) return cpu.r32[reg - R_EAX];
  return cpu.read32(ins.memSegment - R_ES, ea(cpu, ins));
}

export function writeRm8(cpu: Cpu, ins: Instruction, kind: number, reg: number, v: number): void {
  if (kind === K_REG) cpu.r8[R8[reg]] = v;
  else cpu.write8(ins.memSegment - R_ES, ea(cpu, ins), v);
}
export function writeRm16(cpu: Cpu, ins: Instruction, kind: number, reg: number, v: number): void {
  if (kind === K_REG) cpu.r16[(reg - R_AX) << 1] = v;
  else cpu.write16(ins.memSegment - R_ES, ea(cpu, ins), v);
}
export function writeRm32(cpu: Cpu, ins: Instruction, kind: number, reg: number, v: number): void {
  if (kind === K_REG) cpu.r32[reg - R_EAX] = v;
  else cpu.write32(ins.memSegment - R_ES, ea(cpu, ins), v);
}

/**
 * Linear address of a read-modify-write memory operand, checked for writing up front so that the
 * read and the write that follow cannot fault halfway.
 */
export function rmwLinear(cpu: Cpu, ins: Instruction, size: number): number {
  return cpu.prepareWrite(ins.memSegment - R_ES, ea(cpu, ins), size);
}

/** Value of an immediate operand as an int of the operand size (imm8 sign-extensions included). */
export function imm(ins: Instruction): number {
  return ins.immediate;
}

// ---- size-generic forms (size in bits: 8, 16, 32) ----

/** A general register's value; the register number implies the size. */
export function getReg(cpu: Cpu, r: number): number {
  if (r >= R_EAX) return cpu.r32[r - R_EAX];
  if (r >= R_AX) return cpu.r16[(r - R_AX) << 1];
  return cpu.r8[R8[r]];
}

export function setReg(cpu: Cpu, r: number, v: number): void {
  if (r >= R_EAX) cpu.r32[r - R_EAX] = v;
  else if (r >= R_AX) cpu.r16[(r - R_AX) << 1] = v;
  else cpu.r8[R8[r]] = v;
}

export function readLin(cpu: Cpu, lin: number, size: number): number {
  if (size === 32) return cpu.readLin32(lin);
  if (size === 16) return cpu.readLin16(lin);
  return cpu.readLin8(lin);
}

export function writeLin(cpu: Cpu, lin: number, size: number, v: number): void {
  if (size === 32) cpu.writeLin32(lin, v);
  else if (size === 16) cpu.writeLin16(lin, v);
  else cpu.writeLin8(lin, v);
}

export function readMem(cpu: Cpu, seg: number, off: number, size: number): number {
  if (size === 32) return cpu.read32(seg, off);
  if (size === 16) return cpu.read16(seg, off);
  return cpu.read8(seg, off);
}

export function writeMem(cpu: Cpu, seg: number, off: number, size: number, v: number): void {
  if (size === 32) cpu.write32(seg, off, v);
  else if (size === 16) cpu.write16(seg, off, v);
  else cpu.write8(seg, off, v);
}

/** Reads operand `kind`/`reg` (register or the memory operand) of `size` bits. */
export function readRm(cpu: Cpu, ins: Instruction, kind: number, reg: number, size: number): number {
  if (kind === K_REG) return getReg(cpu, reg);
  return readMem(cpu, ins.memSegment - R_ES, ea(cpu, ins), size);
}

export function writeRm(cpu: Cpu, ins: Instruction, kind: number, reg: number, size: number, v: number): void {
  if (kind === K_REG) setReg(cpu, reg, v);
  else writeMem(cpu, ins.memSegment - R_ES, ea(cpu, ins), size, v);
}

/** Bytes in an operand of `size` bits. */
export function bytes(size: number): number {
  return size >>> 3;
}

/** Relative branch target: the decoded displacement applied to the current (next-instruction) EIP. */
export function branchTarget(cpu: Cpu, ins: Instruction): number {
  const t = cpu.eip + (ins.rawBranchTarget - ins.rawIp - ins.length);
  return ins.operandSize === 16 ? t & 0xffff : t | 0;
}
