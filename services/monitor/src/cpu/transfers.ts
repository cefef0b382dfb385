/**
 * Far control transfers: JMP/CALL far (code segments, call gates, task gates, TSSs), RET far and IRET,
 * in real, protected and virtual-8086 mode, with the privilege checks and stack switches of the SDM
 * (vol. 3, 5.8 and vol. 2, CALL/JMP/RET/IRET).
 */

import { Attr, type Cpu } from './cpu.js';
import { Vector } from './fault.js';
import { Flag, Seg } from './registers.js';
import {
  descriptorAttr,
  descriptorBase,
  descriptorLimit,
  loadFromDescriptor,
  markAccessed,
  readDescriptor,
  SysType,
} from './segments.js';
import { TaskSource, taskSwitch } from './tasks.js';

/** Operand size of a transfer: 16 or 32. */
type Size = 16 | 32;

/** Loads CS in real or virtual-8086 mode. */
function loadRealCs(cpu: Cpu, selector: number): void {
  cpu.loadRealSegment(Seg.CS, selector & 0xffff);
}

/** Checks a new EIP against the CS limit (#GP(0)). */
export function checkCsLimit(cpu: Cpu, eip: number): void {
  if (eip >>> 0 > cpu.segLimit[Seg.CS] >>> 0) cpu.raise(Vector.GP, 0);
}

/**
 * Loads CS from the descriptor last read, with RPL set to `cpl`, and makes `cpl` current.
 * The descriptor was validated by the caller.
 */
function loadCodeSegment(cpu: Cpu, selector: number, cpl: number): void {
  markAccessed(cpu);
  loadFromDescriptor(cpu, Seg.CS, (selector & 0xfffc) | cpl);
  if (cpu.cpl !== cpl) cpu.setCpl(cpl);
}

/** Size-dependent read of the stack image at SS:offset. */
function readStack(cpu: Cpu, seg: number, offset: number, size: Size): number {
  return size === 32 ? cpu.read32(seg, offset) : cpu.read16(seg, offset);
}

function stackWrap(cpu: Cpu, seg: number, offset: number): number {
  return (cpu.segAttr[seg] & Attr.DB) !== 0 ? offset | 0 : offset & 0xffff;
}

function currentSp(cpu: Cpu): number {
  return cpu.stack32 ? cpu.r32[4] : cpu.r16[8];
}

function setSp(cpu: Cpu, seg: number, offset: number): void {
  if ((cpu.segAttr[seg] & Attr.DB) !== 0) cpu.r32[4] = offset;
  else cpu.r16[8] = offset;
}

/**
 * Checks that `bytes` bytes below `top` (exclusive) fit in the stack segment cached in `seg`;
 * raises #SS(errorSel) otherwise.
 */
function checkStackRoom(cpu: Cpu, seg: number, top: number, bytes: number, errorSel: number): void {
  const big = (cpu.segAttr[seg] & Attr.DB) !== 0;
  const topU = big ? top >>> 0 : top & 0xffff;
  let low = topU - bytes;
  if (low < 0) low += big ? 0x100000000 : 0x10000;
  if (low < cpu.segMin[seg] >>> 0 || low + bytes - 1 > cpu.segMax[seg] >>> 0) cpu.raise(Vector.SS, errorSel & 0xfffc);
}

function writeStack(cpu: Cpu, seg: number, offset: number, size: Size, v: number): void {
  if (size === 32) cpu.write32(seg, offset, v);
  else cpu.write16(seg, offset, v);
}

/** Reads the inner-level stack pointer for `dpl` from the current TSS into `stackSel`/`stackPtr`. */
let stackSel = 0;
let stackPtr = 0;
function innerStack(cpu: Cpu, dpl: number, ext: number): void {
  const type = cpu.segAttr[Seg.TR] & 0xf;
  const base = cpu.segBase[Seg.TR];
  const limit = cpu.segLimit[Seg.TR] >>> 0;
  const errorCode = (cpu.segSel[Seg.TR] & 0xfffc) | ext;
  if (type === SysType.TSS32_BUSY || type === SysType.TSS32_AVAILABLE) {
    const at = 4 + 8 * dpl;
    if (at + 5 > limit) cpu.raise(Vector.TS, errorCode);
    stackPtr = cpu.systemRead32((base + at) | 0);
    stackSel = cpu.systemRead16((base + at + 4) | 0);
  } else {
    const at = 2 + 4 * dpl;
    if (at + 3 > limit) cpu.raise(Vector.TS, errorCode);
    stackPtr = cpu.systemRead16((base + at) | 0);
    stackSel = cpu.systemRead16((base + at + 2) | 0);
  }
}

/**
 * Validates the inner stack segment named by a TSS for privilege `dpl` and caches it in Seg.TMP.
 * Errors are #TS (or #SS when not present), as the SDM specifies for stack switches.
 */
function loadInnerStack(cpu: Cpu, selector: number, dpl: number, ext: number): void {
  if ((selector & 0xfffc) === 0) cpu.raise(Vector.TS, ext);
  readDescriptor(cpu, selector, Vector.TS);
  const attr = descriptorAttr(cpu.descHi);
  if (
    (selector & 3) !== dpl ||
    ((attr >>> 5) & 3) !== dpl ||
    (attr & (Attr.S | Attr.CODE | Attr.RW)) !== (Attr.S | Attr.RW)
  ) {
    cpu.raise(Vector.TS, (selector & 0xfffc) | ext);
  }
  if ((attr & Attr.P) === 0) cpu.raise(Vector.SS, (selector & 0xfffc) | ext);
  markAccessed(cpu);
  loadFromDescriptor(cpu, Seg.TMP, selector);
}

/** After a return to an outer level: data segments the new CPL may not use become null. */
function nullInaccessibleSegments(cpu: Cpu): void {
  const cpl = cpu.cpl;
  for (const seg of [Seg.ES, Seg.DS, Seg.FS, Seg.GS]) {
    const attr = cpu.segAttr[seg];
    if (cpu.segAccess[seg] === 0 && (attr & Attr.P) === 0) continue;
    const dpl = (attr >>> 5) & 3;
    const conformingCode = (attr & (Attr.CODE | Attr.DC)) === (Attr.CODE | Attr.DC);
    if (!conformingCode && dpl < cpl) cpu.loadNullSegment(seg, 0);
  }
}

/** Validates a code-segment descriptor (last read) as a direct JMP/CALL target. */
function checkDirectCodeTarget(cpu: Cpu, selector: number): void {
  const attr = descriptorAttr(cpu.descHi);
  if ((attr & (Attr.S | Attr.CODE)) !== (Attr.S | Attr.CODE)) cpu.raise(Vector.GP, selector & 0xfffc);
  const dpl = (attr >>> 5) & 3;
  const cpl = cpu.cpl;
  if ((attr & Attr.DC) !== 0) {
    if (dpl > cpl) cpu.raise(Vector.GP, selector & 0xfffc);
  } else if ((selector & 3) > cpl || dpl !== cpl) cpu.raise(Vector.GP, selector & 0xfffc);
  if ((attr & Attr.P) === 0) cpu.raise(Vector.NP, selector & 0xfffc);
}

function descriptorLimitOfLast(cpu: Cpu): number {
  return descriptorLimit(cpu.descLo, cpu.descHi) >>> 0;
}

/** JMP far ptr16:16/32 or m16:16/32. `offset` is already masked to the operand size. */
export function farJump(cpu: Cpu, selector: number, offset: number, size: Size): void {
  selector &= 0xffff;
  if (cpu.realAddressing) {
    if (offset >>> 0 > cpu.segLimit[Seg.CS] >>> 0) cpu.raise(Vector.GP, 0);
    loadRealCs(cpu, selector);
    cpu.eip = offset;
    cpu.requestExit();
    return;
  }
  if ((selector & 0xfffc) === 0) cpu.raise(Vector.GP, 0);
  readDescriptor(cpu, selector, Vector.GP);
  const attr = descriptorAttr(cpu.descHi);
  if ((attr & Attr.S) !== 0) {
    checkDirectCodeTarget(cpu, selector);
    if (offset >>> 0 > descriptorLimitOfLast(cpu)) cpu.raise(Vector.GP, 0);
    loadCodeSegment(cpu, selector, cpu.cpl);
    cpu.eip = offset;
    cpu.requestExit();
    return;
  }
  systemTransfer(cpu, selector, attr, TaskSource.JMP, size);
}

/** CALL far: pushes CS:EIP (and more through gates) and transfers. */
export function farCall(cpu: Cpu, selector: number, offset: number, size: Size): void {
  selector &= 0xffff;
  const retEip = cpu.eip;
  const retCs = cpu.segSel[Seg.CS];
  if (cpu.realAddressing) {
    if (offset >>> 0 > cpu.segLimit[Seg.CS] >>> 0) cpu.raise(Vector.GP, 0);
    const bytes = size >>> 3;
    const sp = currentSp(cpu);
    const a = stackWrap(cpu, Seg.SS, sp - bytes);
    const b = stackWrap(cpu, Seg.SS, sp - 2 * bytes);
    writeStack(cpu, Seg.SS, a, size, retCs);
    writeStack(cpu, Seg.SS, b, size, retEip);
    setSp(cpu, Seg.SS, b);
    loadRealCs(cpu, selector);
    cpu.eip = offset;
    cpu.requestExit();
    return;
  }
  if ((selector & 0xfffc) === 0) cpu.raise(Vector.GP, 0);
  readDescriptor(cpu, selector, Vector.GP);
  const attr = descriptorAttr(cpu.descHi);
  if ((attr & Attr.S) !== 0) {
    checkDirectCodeTarget(cpu, selector);
    const limit = descriptorLimitOfLast(cpu);
    const bytes = size >>> 3;
    const sp = currentSp(cpu);
    checkStackRoom(cpu, Seg.SS, sp, 2 * bytes, 0);
    if (offset >>> 0 > limit) cpu.raise(Vector.GP, 0);
    const a = stackWrap(cpu, Seg.SS, sp - bytes);
    const b = stackWrap(cpu, Seg.SS, sp - 2 * bytes);
    writeStack(cpu, Seg.SS, a, size, retCs);
    writeStack(cpu, Seg.SS, b, size, retEip);
    setSp(cpu, Seg.SS, b);
    loadCodeSegment(cpu, selector, cpu.cpl);
    cpu.eip = offset;
    cpu.requestExit();
    return;
  }
  systemTransfer(cpu, selector, attr, TaskSource.CALL, size);
}

/** JMP/CALL through a system descriptor: call gate, task gate or TSS. */
function systemTransfer(cpu: Cpu, selector: number, attr: number, source: TaskSource, size: Size): void {
  const type = attr & 0xf;
  const dpl = (attr >>> 5) & 3;
  const cpl = cpu.cpl;
  const err = selector & 0xfffc;
  switch (type) {
    case SysType.CALL_GATE16:
    case SysType.CALL_GATE32:
      if (dpl < cpl || dpl < (selector & 3)) cpu.raise(Vector.GP, err);
      if ((attr & Attr.P) === 0) cpu.raise(Vector.NP, err);
      callGate(cpu, source, type === SysType.CALL_GATE32 ? 32 : 16);
      return;
    case SysType.TASK_GATE: {
      if (dpl < cpl || dpl < (selector & 3)) cpu.raise(Vector.GP, err);
      if ((attr & Attr.P) === 0) cpu.raise(Vector.NP, err);
      const tss = (cpu.descLo >>> 16) & 0xffff;
      if ((tss & 4) !== 0) cpu.raise(Vector.GP, tss & 0xfffc);
      readDescriptor(cpu, tss, Vector.GP);
      const tssType = descriptorAttr(cpu.descHi) & (Attr.S | 0xf);
      if (tssType !== SysType.TSS16_AVAILABLE && tssType !== SysType.TSS32_AVAILABLE) {
        cpu.raise(Vector.GP, tss & 0xfffc);
      }
      if ((cpu.descHi & 0x8000) === 0) cpu.raise(Vector.NP, tss & 0xfffc);
      taskSwitch(cpu, tss, source, false, 0, 0);
      return;
    }
    case SysType.TSS16_AVAILABLE:
    case SysType.TSS32_AVAILABLE:
      if (dpl < cpl || dpl < (selector & 3)) cpu.raise(Vector.GP, err);
      if ((attr & Attr.P) === 0) cpu.raise(Vector.NP, err);
      taskSwitch(cpu, selector, source, false, 0, 0);
      return;
    default:
      cpu.raise(Vector.GP, err);
  }
  void size;
}

/** Transfer through the call gate whose descriptor was read last. */
function callGate(cpu: Cpu, source: TaskSource, gateSize: Size): void {
  const gateLo = cpu.descLo;
  const gateHi = cpu.descHi;
  const target = (gateLo >>> 16) & 0xffff;
  let offset = (gateHi & 0xffff0000) | (gateLo & 0xffff);
  if (gateSize === 16) offset &= 0xffff;
  const paramCount = gateHi & 0x1f;
  if ((target & 0xfffc) === 0) cpu.raise(Vector.GP, 0);
  readDescriptor(cpu, target, Vector.GP);
  const attr = descriptorAttr(cpu.descHi);
  const dpl = (attr >>> 5) & 3;
  const cpl = cpu.cpl;
  if ((attr & (Attr.S | Attr.CODE)) !== (Attr.S | Attr.CODE) || dpl > cpl) cpu.raise(Vector.GP, target & 0xfffc);
  if ((attr & Attr.P) === 0) cpu.raise(Vector.NP, target & 0xfffc);
  const limit = descriptorLimitOfLast(cpu);
  const codeLo = cpu.descLo;
  const codeHi = cpu.descHi;
  const codeAddr = cpu.descAddr;
  if (source === TaskSource.JMP) {
    // JMP through a call gate never changes privilege.
    if ((attr & Attr.DC) === 0 && dpl !== cpl) cpu.raise(Vector.GP, target & 0xfffc);
    if (offset >>> 0 > limit) cpu.raise(Vector.GP, 0);
    loadCodeSegment(cpu, target, cpl);
    cpu.eip = offset;
    cpu.requestExit();
    return;
  }
  const bytes = gateSize >>> 3;
  const retEip = cpu.eip;
  const retCs = cpu.segSel[Seg.CS];
  if ((attr & Attr.DC) === 0 && dpl < cpl) {
    // More privileged: switch to the stack the TSS gives for the new level and copy the parameters.
    innerStack(cpu, dpl, 0);
    const newSs = stackSel;
    let newSp = stackPtr;
    loadInnerStack(cpu, newSs, dpl, 0);
    if ((cpu.segAttr[Seg.TMP] & Attr.DB) === 0) newSp &= 0xffff;
    checkStackRoom(cpu, Seg.TMP, newSp, (4 + paramCount) * bytes, newSs);
    if (offset >>> 0 > limit) cpu.raise(Vector.GP, 0);
    const oldSs = cpu.segSel[Seg.SS];
    const oldSp = currentSp(cpu);
    const params = paramScratch;
    for (let i = 0; i < paramCount; i++) {
      params[i] = readStack(cpu, Seg.SS, stackWrap(cpu, Seg.SS, oldSp + i * bytes), gateSize);
    }
    const savedCpl = cpl;
    cpu.setCpl(dpl);
    try {
      let sp = newSp;
      sp = stackWrap(cpu, Seg.TMP, sp - bytes);
      writeStack(cpu, Seg.TMP, sp, gateSize, oldSs);
      sp = stackWrap(cpu, Seg.TMP, sp - bytes);
      writeStack(cpu, Seg.TMP, sp, gateSize, cpu.r32[4]);
      for (let i = paramCount - 1; i >= 0; i--) {
        sp = stackWrap(cpu, Seg.TMP, sp - bytes);
        writeStack(cpu, Seg.TMP, sp, gateSize, params[i]);
      }
      sp = stackWrap(cpu, Seg.TMP, sp - bytes);
      writeStack(cpu, Seg.TMP, sp, gateSize, retCs);
      sp = stackWrap(cpu, Seg.TMP, sp - bytes);
      writeStack(cpu, Seg.TMP, sp, gateSize, retEip);
      copySegment(cpu, Seg.TMP, Seg.SS);
      setSp(cpu, Seg.SS, sp);
    } catch (e) {
      cpu.setCpl(savedCpl);
      throw e;
    }
    cpu.descLo = codeLo;
    cpu.descHi = codeHi;
    cpu.descAddr = codeAddr;
    loadCodeSegment(cpu, target, dpl);
  } else {
    const sp = currentSp(cpu);
    checkStackRoom(cpu, Seg.SS, sp, 2 * bytes, 0);
    if (offset >>> 0 > limit) cpu.raise(Vector.GP, 0);
    const a = stackWrap(cpu, Seg.SS, sp - bytes);
    const b = stackWrap(cpu, Seg.SS, sp - 2 * bytes);
    writeStack(cpu, Seg.SS, a, gateSize, retCs);
    writeStack(cpu, Seg.SS, b, gateSize, retEip);
    setSp(cpu, Seg.SS, b);
    loadCodeSegment(cpu, target, cpl);
  }
  cpu.eip = offset;
  cpu.requestExit();
}
const paramScratch = new Int32Array(32);

/** Copies one descriptor cache to another (the new stack becomes SS). */
export function copySegment(cpu: Cpu, from: number, to: number): void {
  cpu.loadSegmentCache(to, cpu.segSel[from], cpu.segBase[from], cpu.segLimit[from], cpu.segAttr[from]);
}

/** Validates the CS selector of a far return or IRET (descriptor read into cpu.desc*). */
function checkReturnCs(cpu: Cpu, selector: number): void {
  if ((selector & 0xfffc) === 0) cpu.raise(Vector.GP, 0);
  readDescriptor(cpu, selector, Vector.GP);
  const attr = descriptorAttr(cpu.descHi);
  const rpl = selector & 3;
  if ((attr & (Attr.S | Attr.CODE)) !== (Attr.S | Attr.CODE) || rpl < cpu.cpl) cpu.raise(Vector.GP, selector & 0xfffc);
  const dpl = (attr >>> 5) & 3;
  if ((attr & Attr.DC) !== 0 ? dpl > rpl : dpl !== rpl) cpu.raise(Vector.GP, selector & 0xfffc);
  if ((attr & Attr.P) === 0) cpu.raise(Vector.NP, selector & 0xfffc);
}

/** Validates the SS of a return to an outer level and caches it in Seg.TMP. */
function checkReturnSs(cpu: Cpu, selector: number, rpl: number): void {
  if ((selector & 0xfffc) === 0) cpu.raise(Vector.GP, 0);
  readDescriptor(cpu, selector, Vector.GP);
  const attr = descriptorAttr(cpu.descHi);
  if (
    (selector & 3) !== rpl ||
    (attr & (Attr.S | Attr.CODE | Attr.RW)) !== (Attr.S | Attr.RW) ||
    ((attr >>> 5) & 3) !== rpl
  ) {
    cpu.raise(Vector.GP, selector & 0xfffc);
  }
  if ((attr & Attr.P) === 0) cpu.raise(Vector.SS, selector & 0xfffc);
  markAccessed(cpu);
  loadFromDescriptor(cpu, Seg.TMP, selector);
}

/** RET far [imm16]. */
export function farReturn(cpu: Cpu, size: Size, release: number): void {
  const bytes = size >>> 3;
  const sp = currentSp(cpu);
  const eip = readStack(cpu, Seg.SS, sp, size);
  const cs = readStack(cpu, Seg.SS, stackWrap(cpu, Seg.SS, sp + bytes), size) & 0xffff;
  const newIp = size === 16 ? eip & 0xffff : eip;
  if (cpu.realAddressing) {
    if (newIp >>> 0 > cpu.segLimit[Seg.CS] >>> 0) cpu.raise(Vector.GP, 0);
    loadRealCs(cpu, cs);
    cpu.eip = newIp;
    setSp(cpu, Seg.SS, stackWrap(cpu, Seg.SS, sp + 2 * bytes + release));
    cpu.requestExit();
    return;
  }
  checkReturnCs(cpu, cs);
  const rpl = cs & 3;
  const limit = descriptorLimitOfLast(cpu);
  if (rpl === cpu.cpl) {
    if (newIp >>> 0 > limit) cpu.raise(Vector.GP, 0);
    loadCodeSegment(cpu, cs, rpl);
    cpu.eip = newIp;
    setSp(cpu, Seg.SS, stackWrap(cpu, Seg.SS, sp + 2 * bytes + release));
    cpu.requestExit();
    return;
  }
  // Return to an outer level: the caller's SS:ESP follows the parameters.
  const codeLo = cpu.descLo;
  const codeHi = cpu.descHi;
  const codeAddr = cpu.descAddr;
  const at = stackWrap(cpu, Seg.SS, sp + 2 * bytes + release);
  const outerSp = readStack(cpu, Seg.SS, at, size);
  const outerSs = readStack(cpu, Seg.SS, stackWrap(cpu, Seg.SS, at + bytes), size) & 0xffff;
  checkReturnSs(cpu, outerSs, rpl);
  if (newIp >>> 0 > limit) cpu.raise(Vector.GP, 0);
  cpu.descLo = codeLo;
  cpu.descHi = codeHi;
  cpu.descAddr = codeAddr;
  loadCodeSegment(cpu, cs, rpl);
  cpu.eip = newIp;
  copySegment(cpu, Seg.TMP, Seg.SS);
  const spValue = size === 16 ? outerSp & 0xffff : outerSp;
  setSp(cpu, Seg.SS, stackWrap(cpu, Seg.SS, spValue + release));
  nullInaccessibleSegments(cpu);
  cpu.requestExit();
}

/** IRET / IRETD. */
export function interruptReturn(cpu: Cpu, size: Size): void {
  const bytes = size >>> 3;
  if (!cpu.protectedMode) {
    const sp = currentSp(cpu);
    const eip = readStack(cpu, Seg.SS, sp, size);
    const cs = readStack(cpu, Seg.SS, stackWrap(cpu, Seg.SS, sp + bytes), size) & 0xffff;
    const flags = readStack(cpu, Seg.SS, stackWrap(cpu, Seg.SS, sp + 2 * bytes), size);
    const newIp = size === 16 ? eip & 0xffff : eip;
    if (newIp >>> 0 > cpu.segLimit[Seg.CS] >>> 0) cpu.raise(Vector.GP, 0);
    loadRealCs(cpu, cs);
    cpu.eip = newIp;
    const old = cpu.eflags;
    cpu.eflags = size === 16 ? (old & ~0xffff) | (flags & 0x7fd5) : (flags & 0x257fd5) | (old & 0x1a0000);
    setSp(cpu, Seg.SS, stackWrap(cpu, Seg.SS, sp + 3 * bytes));
    cpu.requestExit();
    return;
  }
  if (cpu.v86) {
    // Without VME, IRET in virtual-8086 mode needs IOPL 3 and cannot change IOPL.
    if (cpu.iopl < 3) cpu.raise(Vector.GP, 0);
    const sp = currentSp(cpu);
    const eip = readStack(cpu, Seg.SS, sp, size);
    const cs = readStack(cpu, Seg.SS, stackWrap(cpu, Seg.SS, sp + bytes), size) & 0xffff;
    const flags = readStack(cpu, Seg.SS, stackWrap(cpu, Seg.SS, sp + 2 * bytes), size);
    const newIp = size === 16 ? eip & 0xffff : eip;
    if (newIp >>> 0 > cpu.segLimit[Seg.CS] >>> 0) cpu.raise(Vector.GP, 0);
    loadRealCs(cpu, cs);
    cpu.eip = newIp;
    const old = cpu.eflags;
    const writable = size === 16 ? 0x4fd5 : 0x244fd5;
    cpu.eflags = (old & ~writable) | (flags & writable);
    setSp(cpu, Seg.SS, stackWrap(cpu, Seg.SS, sp + 3 * bytes));
    cpu.requestExit();
    return;
  }
  if ((cpu.eflags & Flag.NT) !== 0) {
    // Return from a nested task: the back link of the current TSS names the task to resume.
    const link = cpu.systemRead16(cpu.segBase[Seg.TR]);
    if ((link & 4) !== 0) cpu.raise(Vector.TS, link & 0xfffc);
    readDescriptor(cpu, link, Vector.TS);
    const type = descriptorAttr(cpu.descHi) & (Attr.S | 0xf);
    if (type !== SysType.TSS16_BUSY && type !== SysType.TSS32_BUSY) cpu.raise(Vector.TS, link & 0xfffc);
    if ((cpu.descHi & 0x8000) === 0) cpu.raise(Vector.NP, link & 0xfffc);
    taskSwitch(cpu, link, TaskSource.IRET, false, 0, 0);
    return;
  }
  const sp = currentSp(cpu);
  const eip = readStack(cpu, Seg.SS, sp, size);
  const cs = readStack(cpu, Seg.SS, stackWrap(cpu, Seg.SS, sp + bytes), size) & 0xffff;
  const flags = readStack(cpu, Seg.SS, stackWrap(cpu, Seg.SS, sp + 2 * bytes), size);
  if (size === 32 && (flags & Flag.VM) !== 0 && cpu.cpl === 0) {
    returnToV86(cpu, sp, eip, cs, flags);
    return;
  }
  checkReturnCs(cpu, cs);
  const rpl = cs & 3;
  const limit = descriptorLimitOfLast(cpu);
  const newIp = size === 16 ? eip & 0xffff : eip;
  const oldCpl = cpu.cpl;
  let writable = size === 16 ? 0x7fd5 : 0x257fd5;
  if (oldCpl > 0) writable &= ~Flag.IOPL;
  if (oldCpl > cpu.iopl) writable &= ~Flag.IF;
  if (rpl === oldCpl) {
    if (newIp >>> 0 > limit) cpu.raise(Vector.GP, 0);
    loadCodeSegment(cpu, cs, rpl);
    cpu.eip = newIp;
    cpu.eflags = (cpu.eflags & ~writable) | (flags & writable);
    setSp(cpu, Seg.SS, stackWrap(cpu, Seg.SS, sp + 3 * bytes));
    cpu.requestExit();
    return;
  }
  const codeLo = cpu.descLo;
  const codeHi = cpu.descHi;
  const codeAddr = cpu.descAddr;
  const outerSp = readStack(cpu, Seg.SS, stackWrap(cpu, Seg.SS, sp + 3 * bytes), size);
  const outerSs = readStack(cpu, Seg.SS, stackWrap(cpu, Seg.SS, sp + 4 * bytes), size) & 0xffff;
  checkReturnSs(cpu, outerSs, rpl);
  if (newIp >>> 0 > limit) cpu.raise(Vector.GP, 0);
  cpu.descLo = codeLo;
  cpu.descHi = codeHi;
  cpu.descAddr = codeAddr;
  loadCodeSegment(cpu, cs, rpl);
  cpu.eip = newIp;
  cpu.eflags = (cpu.eflags & ~writable) | (flags & writable);
  copySegment(cpu, Seg.TMP, Seg.SS);
  setSp(cpu, Seg.SS, size === 16 ? outerSp & 0xffff : outerSp);
  nullInaccessibleSegments(cpu);
  cpu.requestExit();
}

/** IRETD at CPL 0 with VM set in the popped EFLAGS: resume a virtual-8086 task. */
function returnToV86(cpu: Cpu, sp: number, eip: number, cs: number, flags: number): void {
  const at = (i: number): number => stackWrap(cpu, Seg.SS, sp + 4 * i);
  const esp = cpu.read32(Seg.SS, at(3));
  const ss = cpu.read32(Seg.SS, at(4)) & 0xffff;
  const es = cpu.read32(Seg.SS, at(5)) & 0xffff;
  const ds = cpu.read32(Seg.SS, at(6)) & 0xffff;
  const fs = cpu.read32(Seg.SS, at(7)) & 0xffff;
  const gs = cpu.read32(Seg.SS, at(8)) & 0xffff;
  cpu.eflags = (flags & 0x257fd5) | Flag.VM;
  cpu.setCpl(3);
  loadRealCs(cpu, cs);
  cpu.loadRealSegment(Seg.SS, ss);
  cpu.loadRealSegment(Seg.ES, es);
  cpu.loadRealSegment(Seg.DS, ds);
  cpu.loadRealSegment(Seg.FS, fs);
  cpu.loadRealSegment(Seg.GS, gs);
  cpu.r32[4] = esp;
  cpu.eip = eip & 0xffff;
  cpu.requestExit();
}

export { descriptorBase };
