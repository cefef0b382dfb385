/**
 * Segment-register loads with the protected-mode checks of the SDM (vol. 2, MOV/POP/LDS/LLDT/LTR;
 * vol. 3, chapter 5). Errors name the selector as the SDM's error code does: index, TI, with the
 * RPL bits cleared.
 */

import { Attr, type Cpu } from './cpu.js';
import { Vector } from './fault.js';
import { Seg } from './registers.js';

/** System descriptor types (S = 0). */
export const enum SysType {
  TSS16_AVAILABLE = 1,
  LDT = 2,
  TSS16_BUSY = 3,
  CALL_GATE16 = 4,
  TASK_GATE = 5,
  INT_GATE16 = 6,
  TRAP_GATE16 = 7,
  TSS32_AVAILABLE = 9,
  TSS32_BUSY = 11,
  CALL_GATE32 = 12,
  INT_GATE32 = 14,
  TRAP_GATE32 = 15,
}

export function descriptorBase(lo: number, hi: number): number {
  return (lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000) | 0;
}

/** Byte-granular limit (G applied). */
export function descriptorLimit(lo: number, hi: number): number {
  const raw = (hi & 0xf0000) | (lo & 0xffff);
  return (hi & 0x800000) !== 0 ? (raw << 12) | 0xfff | 0 : raw;
}

/** Attribute word as kept in Cpu.segAttr. */
export function descriptorAttr(hi: number): number {
  return (hi >>> 8) & 0xf0ff;
}

/**
 * Reads the descriptor `selector` names into cpu.descLo/descHi/descAddr. A selector beyond its
 * table's limit, or one in a null LDT, raises `vector` with the selector as error code.
 */
export function readDescriptor(cpu: Cpu, selector: number, vector: number): void {
  let base: number;
  let limit: number;
  if ((selector & 4) !== 0) {
    if ((cpu.segAttr[Seg.LDTR] & Attr.P) === 0) cpu.raise(vector, selector & 0xfffc);
    base = cpu.segBase[Seg.LDTR];
    limit = cpu.segLimit[Seg.LDTR] >>> 0;
  } else {
    base = cpu.gdtBase;
    limit = cpu.gdtLimit;
  }
  if ((selector | 7) > limit) cpu.raise(vector, selector & 0xfffc);
  const addr = (base + (selector & 0xfff8)) | 0;
  cpu.descAddr = addr;
  cpu.descLo = cpu.systemRead32(addr);
  cpu.descHi = cpu.systemRead32((addr + 4) | 0);
}

/** Sets the accessed bit of the descriptor last read, if it is clear. */
export function markAccessed(cpu: Cpu): void {
  if ((cpu.descHi & 0x100) === 0) {
    cpu.descHi |= 0x100;
    cpu.systemWrite8((cpu.descAddr + 5) | 0, (cpu.descHi >>> 8) & 0xff);
  }
}

/** Loads the cache of `seg` from the descriptor last read. */
export function loadFromDescriptor(cpu: Cpu, seg: number, selector: number): void {
  const lo = cpu.descLo;
  const hi = cpu.descHi;
  cpu.loadSegmentCache(seg, selector, descriptorBase(lo, hi), descriptorLimit(lo, hi), descriptorAttr(hi));
}

/**
 * MOV/POP/LxS to a data or stack segment register (not CS). Real and virtual-8086 mode only set
 * selector and base.
 */
export function loadSegment(cpu: Cpu, seg: number, selector: number): void {
  selector &= 0xffff;
  if (cpu.realAddressing) {
    cpu.loadRealSegment(seg, selector);
    return;
  }
  if (seg === Seg.SS) loadStackSegment(cpu, selector, cpu.cpl);
  else loadDataSegment(cpu, seg, selector);
}

export function loadDataSegment(cpu: Cpu, seg: number, selector: number): void {
  if ((selector & 0xfffc) === 0) {
    cpu.loadNullSegment(seg, selector);
    return;
  }
  readDescriptor(cpu, selector, Vector.GP);
  const attr = descriptorAttr(cpu.descHi);
  if ((attr & Attr.S) === 0 || (attr & (Attr.CODE | Attr.RW)) === Attr.CODE) cpu.raise(Vector.GP, selector & 0xfffc);
  if ((attr & (Attr.CODE | Attr.DC)) !== (Attr.CODE | Attr.DC)) {
    const dpl = (attr >>> 5) & 3;
    if ((selector & 3) > dpl || cpu.cpl > dpl) cpu.raise(Vector.GP, selector & 0xfffc);
  }
  if ((attr & Attr.P) === 0) cpu.raise(Vector.NP, selector & 0xfffc);
  markAccessed(cpu);
  loadFromDescriptor(cpu, seg, selector);
}

/** Loads SS for privilege level `cpl` (the current one, or the new one during a stack switch). */
export function loadStackSegment(cpu: Cpu, selector: number, cpl: number, vector: number = Vector.GP): void {
  if ((selector & 0xfffc) === 0) cpu.raise(vector, 0);
  readDescriptor(cpu, selector, vector);
  const attr = descriptorAttr(cpu.descHi);
  if (
    (selector & 3) !== cpl ||
    (attr & (Attr.S | Attr.CODE | Attr.RW)) !== (Attr.S | Attr.RW) ||
    ((attr >>> 5) & 3) !== cpl
  ) {
    cpu.raise(vector, selector & 0xfffc);
  }
  if ((attr & Attr.P) === 0) cpu.raise(Vector.SS, selector & 0xfffc);
  markAccessed(cpu);
  loadFromDescriptor(cpu, Seg.SS, selector);
}

/** LLDT: CPL 0 and protected mode are checked by the caller. */
export function loadLdt(cpu: Cpu, selector: number): void {
  selector &= 0xffff;
  if ((selector & 0xfffc) === 0) {
    cpu.loadNullSegment(Seg.LDTR, selector);
    return;
  }
  if ((selector & 4) !== 0) cpu.raise(Vector.GP, selector & 0xfffc);
  readDescriptor(cpu, selector, Vector.GP);
  const attr = descriptorAttr(cpu.descHi);
  if ((attr & (Attr.S | 0xf)) !== SysType.LDT) cpu.raise(Vector.GP, selector & 0xfffc);
  if ((attr & Attr.P) === 0) cpu.raise(Vector.NP, selector & 0xfffc);
  loadFromDescriptor(cpu, Seg.LDTR, selector);
}

/** LTR: loads TR with an available TSS and marks it busy. */
export function loadTaskRegister(cpu: Cpu, selector: number): void {
  selector &= 0xffff;
  if ((selector & 0xfffc) === 0) cpu.raise(Vector.GP, 0);
  if ((selector & 4) !== 0) cpu.raise(Vector.GP, selector & 0xfffc);
  readDescriptor(cpu, selector, Vector.GP);
  const type = descriptorAttr(cpu.descHi) & (Attr.S | 0xf);
  if (type !== SysType.TSS16_AVAILABLE && type !== SysType.TSS32_AVAILABLE) cpu.raise(Vector.GP, selector & 0xfffc);
  if ((cpu.descHi & 0x8000) === 0) cpu.raise(Vector.NP, selector & 0xfffc);
  cpu.descHi |= 0x200;
  cpu.systemWrite8((cpu.descAddr + 5) | 0, (cpu.descHi >>> 8) & 0xff);
  loadFromDescriptor(cpu, Seg.TR, selector);
}
