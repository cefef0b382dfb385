/**
 * Interrupt and exception delivery (SDM vol. 3, chapter 6): the real-mode IVT, protected-mode IDT
 * gates with privilege changes, virtual-8086 interrupts to ring 0, task gates, and the double-fault
 * and triple-fault rules.
 */

import { Attr, type Cpu } from './cpu.js';
import { CPU_FAULT, CpuShutdown, hasErrorCode, Vector, VECTOR_NAMES } from './fault.js';
import { Flag, Seg } from './registers.js';
import {
  descriptorAttr,
  descriptorLimit,
  loadFromDescriptor,
  markAccessed,
  readDescriptor,
  SysType,
} from './segments.js';
import { TaskSource, taskSwitch } from './tasks.js';
import { copySegment } from './transfers.js';

/** What raised the interrupt; decides the gate DPL check and the EXT bit of error codes. */
export const enum IntSource {
  /** A processor exception (fault, trap or abort). */
  EXCEPTION = 0,
  /** INT n, INT3, INTO: the gate DPL must allow CPL. */
  SOFTWARE = 1,
  /** An external interrupt from the interrupt controller. */
  EXTERNAL = 2,
  /** INT1 (ICEBP): a software instruction that is delivered like a debug exception. */
  ICEBP = 3,
}

/**
 * Delivers interrupt `vector` with the CPU's EIP as the return address. Faults during delivery
 * propagate (as CPU_FAULT) to the caller, which applies the double-fault rules.
 */
export function deliverInterrupt(
  cpu: Cpu,
  vector: number,
  source: IntSource,
  pushError: boolean,
  errorCode: number,
): void {
  cpu.halted = false;
  cpu.deliveries++;
  if (!cpu.protectedMode) {
    realModeInterrupt(cpu, vector);
    return;
  }
  protectedModeInterrupt(cpu, vector, source, pushError, errorCode);
}

function realModeInterrupt(cpu: Cpu, vector: number): void {
  if (vector * 4 + 3 > cpu.idtLimit) cpu.raise(Vector.GP, 0);
  const entry = (cpu.idtBase + vector * 4) | 0;
  const ip = cpu.systemRead16(entry);
  const cs = cpu.systemRead16((entry + 2) | 0);
  const big = cpu.stack32;
  const sp0 = big ? cpu.r32[4] : cpu.r16[8];
  const wrap = (v: number): number => (big ? v | 0 : v & 0xffff);
  cpu.write16(Seg.SS, wrap(sp0 - 2), cpu.eflags & 0xffff);
  cpu.write16(Seg.SS, wrap(sp0 - 4), cpu.segSel[Seg.CS]);
  cpu.write16(Seg.SS, wrap(sp0 - 6), cpu.eip & 0xffff);
  if (big) cpu.r32[4] = wrap(sp0 - 6);
  else cpu.r16[8] = wrap(sp0 - 6);
  cpu.eflags = cpu.eflags & ~(Flag.IF | Flag.TF | Flag.AC | Flag.RF);
  cpu.loadRealSegment(Seg.CS, cs);
  cpu.eip = ip;
  cpu.requestExit();
}

function protectedModeInterrupt(
  cpu: Cpu,
  vector: number,
  source: IntSource,
  pushError: boolean,
  errorCode: number,
): void {
  const ext = source === IntSource.EXCEPTION || source === IntSource.EXTERNAL ? 1 : 0;
  const idtErr = vector * 8 + 2 + ext;
  if (vector * 8 + 7 > cpu.idtLimit) cpu.raise(Vector.GP, idtErr);
  const entry = (cpu.idtBase + vector * 8) | 0;
  const lo = cpu.systemRead32(entry);
  const hi = cpu.systemRead32((entry + 4) | 0);
  const type = (hi >>> 8) & 0x1f;
  const gateDpl = (hi >>> 13) & 3;
  if (
    type !== SysType.TASK_GATE &&
    type !== SysType.INT_GATE16 &&
    type !== SysType.TRAP_GATE16 &&
    type !== SysType.INT_GATE32 &&
    type !== SysType.TRAP_GATE32
  ) {
    cpu.raise(Vector.GP, idtErr);
  }
  if (source === IntSource.SOFTWARE && gateDpl < cpu.cpl) cpu.raise(Vector.GP, idtErr);
  if ((hi & 0x8000) === 0) cpu.raise(Vector.NP, idtErr);

  if (type === SysType.TASK_GATE) {
    const tss = (lo >>> 16) & 0xffff;
    if ((tss & 4) !== 0) cpu.raise(Vector.TS, (tss & 0xfffc) | ext);
    readDescriptor(cpu, tss, Vector.TS);
    const tssType = descriptorAttr(cpu.descHi) & (Attr.S | 0xf);
    if (tssType !== SysType.TSS16_AVAILABLE && tssType !== SysType.TSS32_AVAILABLE) {
      cpu.raise(Vector.TS, (tss & 0xfffc) | ext);
    }
    taskSwitch(cpu, tss, TaskSource.INT, pushError, errorCode, ext);
    return;
  }

  const gate32 = (type & 8) !== 0;
  const trap = (type & 1) !== 0;
  const target = (lo >>> 16) & 0xffff;
  let offset = (hi & 0xffff0000) | (lo & 0xffff);
  if (!gate32) offset &= 0xffff;
  if ((target & 0xfffc) === 0) cpu.raise(Vector.GP, ext);
  readDescriptor(cpu, target, Vector.GP);
  const attr = descriptorAttr(cpu.descHi);
  const dpl = (attr >>> 5) & 3;
  const cpl = cpu.cpl;
  if ((attr & (Attr.S | Attr.CODE)) !== (Attr.S | Attr.CODE) || dpl > cpl)
    cpu.raise(Vector.GP, (target & 0xfffc) | ext);
  if ((attr & Attr.P) === 0) cpu.raise(Vector.NP, (target & 0xfffc) | ext);
  const limit = descriptorLimit(cpu.descLo, cpu.descHi) >>> 0;
  const codeLo = cpu.descLo;
  const codeHi = cpu.descHi;
  const codeAddr = cpu.descAddr;
  const v86 = cpu.v86;
  const oldFlags = cpu.eflags;
  const oldCs = cpu.segSel[Seg.CS];
  const oldEip = cpu.eip;
  const bytes = gate32 ? 4 : 2;
  const inner = (attr & Attr.DC) === 0 && dpl < cpl;
  if (v86 && (!inner || dpl !== 0)) cpu.raise(Vector.GP, (target & 0xfffc) | ext);

  if (inner) {
    // Stack switch to the level of the handler, from the TSS.
    const tssType = cpu.segAttr[Seg.TR] & 0xf;
    const tssBase = cpu.segBase[Seg.TR];
    const tssLimit = cpu.segLimit[Seg.TR] >>> 0;
    const tssErr = (cpu.segSel[Seg.TR] & 0xfffc) | ext;
    let newSp: number;
    let newSs: number;
    if (tssType === SysType.TSS32_BUSY) {
      if (4 + 8 * dpl + 5 > tssLimit) cpu.raise(Vector.TS, tssErr);
      newSp = cpu.systemRead32((tssBase + 4 + 8 * dpl) | 0);
      newSs = cpu.systemRead16((tssBase + 8 + 8 * dpl) | 0);
    } else {
      if (2 + 4 * dpl + 3 > tssLimit) cpu.raise(Vector.TS, tssErr);
      newSp = cpu.systemRead16((tssBase + 2 + 4 * dpl) | 0);
      newSs = cpu.systemRead16((tssBase + 4 + 4 * dpl) | 0);
    }
    if ((newSs & 0xfffc) === 0) cpu.raise(Vector.TS, ext);
    readDescriptor(cpu, newSs, Vector.TS);
    const ssAttr = descriptorAttr(cpu.descHi);
    if (
      (newSs & 3) !== dpl ||
      ((ssAttr >>> 5) & 3) !== dpl ||
      (ssAttr & (Attr.S | Attr.CODE | Attr.RW)) !== (Attr.S | Attr.RW)
    ) {
      cpu.raise(Vector.TS, (newSs & 0xfffc) | ext);
    }
    if ((ssAttr & Attr.P) === 0) cpu.raise(Vector.SS, (newSs & 0xfffc) | ext);
    markAccessed(cpu);
    loadFromDescriptor(cpu, Seg.TMP, newSs);
    const big = (cpu.segAttr[Seg.TMP] & Attr.DB) !== 0;
    if (!big) newSp &= 0xffff;
    const count = (v86 ? 9 : 5) + (pushError ? 1 : 0);
    checkRoom(cpu, Seg.TMP, newSp, count * bytes, newSs | ext);
    if (offset >>> 0 > limit) cpu.raise(Vector.GP, ext);
    const savedCpl = cpl;
    cpu.setCpl(dpl);
    try {
      let sp = newSp;
      const put = (v: number): void => {
        sp = big ? (sp - bytes) | 0 : (sp - bytes) & 0xffff;
        if (bytes === 4) cpu.write32(Seg.TMP, sp, v);
        else cpu.write16(Seg.TMP, sp, v);
      };
      if (v86) {
        put(cpu.segSel[Seg.GS]);
        put(cpu.segSel[Seg.FS]);
        put(cpu.segSel[Seg.DS]);
        put(cpu.segSel[Seg.ES]);
      }
      put(cpu.segSel[Seg.SS]);
      put(cpu.r32[4]);
      put(oldFlags);
      put(oldCs);
      put(oldEip);
      if (pushError) put(errorCode);
      copySegment(cpu, Seg.TMP, Seg.SS);
      if (big) cpu.r32[4] = sp;
      else cpu.r16[8] = sp;
    } catch (e) {
      cpu.setCpl(savedCpl);
      throw e;
    }
    if (v86) {
      for (const s of [Seg.ES, Seg.DS, Seg.FS, Seg.GS]) cpu.loadNullSegment(s, 0);
    }
  } else {
    const big = cpu.stack32;
    const sp0 = big ? cpu.r32[4] : cpu.r16[8];
    const count = pushError ? 4 : 3;
    checkRoom(cpu, Seg.SS, sp0, count * bytes, ext);
    if (offset >>> 0 > limit) cpu.raise(Vector.GP, ext);
    let sp = sp0;
    const put = (v: number): void => {
      sp = big ? (sp - bytes) | 0 : (sp - bytes) & 0xffff;
      if (bytes === 4) cpu.write32(Seg.SS, sp, v);
      else cpu.write16(Seg.SS, sp, v);
    };
    put(oldFlags);
    put(oldCs);
    put(oldEip);
    if (pushError) put(errorCode);
    if (big) cpu.r32[4] = sp;
    else cpu.r16[8] = sp;
  }
  cpu.descLo = codeLo;
  cpu.descHi = codeHi;
  cpu.descAddr = codeAddr;
  markAccessed(cpu);
  const newCpl = inner ? dpl : cpl;
  loadFromDescriptor(cpu, Seg.CS, (target & 0xfffc) | newCpl);
  cpu.setCpl(newCpl);
  let flags = cpu.eflags & ~(Flag.TF | Flag.NT | Flag.RF | Flag.VM);
  if (!trap) flags &= ~Flag.IF;
  cpu.eflags = flags;
  cpu.eip = offset;
  cpu.requestExit();
}

function checkRoom(cpu: Cpu, seg: number, top: number, bytes: number, errorCode: number): void {
  const big = (cpu.segAttr[seg] & Attr.DB) !== 0;
  const topU = big ? top >>> 0 : top & 0xffff;
  let low = topU - bytes;
  if (low < 0) low += big ? 0x100000000 : 0x10000;
  if (low < cpu.segMin[seg] >>> 0 || low + bytes - 1 > cpu.segMax[seg] >>> 0) cpu.raise(Vector.SS, errorCode);
}

function isContributory(vector: number): boolean {
  return vector === 0 || (vector >= 10 && vector <= 13);
}

/**
 * Delivers a processor exception (EIP must already point where the handler should return to),
 * applying the double-fault rules to faults raised during delivery. A fault while delivering a
 * double fault shuts the processor down (CpuShutdown).
 */
export function deliverException(cpu: Cpu, vector: number, hasCode: boolean, code: number): void {
  try {
    deliverInterrupt(cpu, vector, IntSource.EXCEPTION, hasCode, code);
  } catch (e) {
    if (e !== CPU_FAULT) throw e;
    const second = cpu.faultVector;
    if (vector === Vector.DF) {
      throw new CpuShutdown(
        `triple fault: ${name(second)} while delivering a double fault at ${hex(cpu.segSel[Seg.CS], 4)}:${hex(cpu.eip, 8)}`,
      );
    }
    const double =
      (isContributory(vector) && isContributory(second)) ||
      (vector === Vector.PF && (second === Vector.PF || isContributory(second)));
    if (double) deliverException(cpu, Vector.DF, true, 0);
    else deliverException(cpu, second, cpu.faultHasCode && hasErrorCode(second), cpu.faultCode);
  }
}

function name(vector: number): string {
  return VECTOR_NAMES[vector] ?? `vector ${vector}`;
}

function hex(v: number, digits: number): string {
  return (v >>> 0).toString(16).padStart(digits, '0');
}
