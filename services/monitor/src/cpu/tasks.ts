/**
 * Hardware task switching (SDM vol. 3, 7.3) between 16- and 32-bit TSSs: through JMP, CALL, IRET
 * with NT set, and interrupts or exceptions that go through a task gate.
 */

import { Attr, type Cpu } from './cpu.js';
import { Vector } from './fault.js';
import { Cr0, Flag, Seg } from './registers.js';
import {
  descriptorAttr,
  descriptorBase,
  descriptorLimit,
  loadFromDescriptor,
  markAccessed,
  readDescriptor,
  SysType,
} from './segments.js';

export const enum TaskSource {
  JMP = 0,
  CALL = 1,
  IRET = 2,
  /** An interrupt or exception through a task gate (nests like CALL). */
  INT = 3,
}

/**
 * Switches to the task whose TSS descriptor `selector` names (read and validated by the caller as
 * far as its instruction requires). `cpu.eip` must hold the address the old task resumes at.
 * With `pushError`, the error code is pushed on the new task's stack (exceptions through task gates).
 */
export function taskSwitch(
  cpu: Cpu,
  selector: number,
  source: TaskSource,
  pushError: boolean,
  errorCode: number,
  ext: number,
): void {
  readDescriptor(cpu, selector, Vector.GP);
  const newLo = cpu.descLo;
  const newHi = cpu.descHi;
  const newAddr = cpu.descAddr;
  const newType = descriptorAttr(newHi) & 0xf;
  const new32 = newType === SysType.TSS32_AVAILABLE || newType === SysType.TSS32_BUSY;
  const newBase = descriptorBase(newLo, newHi);
  const newLimit = descriptorLimit(newLo, newHi) >>> 0;
  if ((newHi & 0x8000) === 0) cpu.raise(Vector.NP, (selector & 0xfffc) | ext);
  if (newLimit < (new32 ? 0x67 : 0x2b)) cpu.raise(Vector.TS, (selector & 0xfffc) | ext);

  // Read the whole new state first, so a page fault on the new TSS leaves the old task untouched.
  const st = newState;
  if (new32) {
    st[0] = cpu.systemRead32((newBase + 28) | 0); // CR3
    st[1] = cpu.systemRead32((newBase + 32) | 0); // EIP
    st[2] = cpu.systemRead32((newBase + 36) | 0); // EFLAGS
    for (let r = 0; r < 8; r++) st[3 + r] = cpu.systemRead32((newBase + 40 + 4 * r) | 0);
    for (let s = 0; s < 6; s++) st[11 + s] = cpu.systemRead16((newBase + 72 + 4 * s) | 0);
    st[17] = cpu.systemRead16((newBase + 96) | 0); // LDT
  } else {
    st[0] = cpu.cr3;
    st[1] = cpu.systemRead16((newBase + 14) | 0);
    st[2] = cpu.systemRead16((newBase + 16) | 0);
    for (let r = 0; r < 8; r++) st[3 + r] = cpu.systemRead16((newBase + 18 + 2 * r) | 0);
    for (let s = 0; s < 4; s++) st[11 + s] = cpu.systemRead16((newBase + 34 + 2 * s) | 0);
    st[15] = 0;
    st[16] = 0;
    st[17] = cpu.systemRead16((newBase + 42) | 0);
  }
  // Make sure the old TSS is writable before changing anything.
  const oldBase = cpu.segBase[Seg.TR];
  const oldType = cpu.segAttr[Seg.TR] & 0xf;
  const old32 = oldType === SysType.TSS32_BUSY || oldType === SysType.TSS32_AVAILABLE;
  cpu.systemTranslate(oldBase, true);
  cpu.systemTranslate((oldBase + (old32 ? 0x5f : 0x29)) | 0, true);

  let oldFlags = cpu.eflags;
  if (source === TaskSource.JMP || source === TaskSource.IRET) {
    // The old task is no longer busy.
    readDescriptor(cpu, cpu.segSel[Seg.TR], Vector.GP);
    cpu.systemWrite8((cpu.descAddr + 5) | 0, (cpu.descHi >>> 8) & 0xff & ~0x2);
  }
  if (source === TaskSource.IRET) oldFlags &= ~Flag.NT;

  // Save the outgoing task.
  if (old32) {
    cpu.systemWrite32((oldBase + 32) | 0, cpu.eip);
    cpu.systemWrite32((oldBase + 36) | 0, oldFlags);
    for (let r = 0; r < 8; r++) cpu.systemWrite32((oldBase + 40 + 4 * r) | 0, cpu.r32[r]);
    for (let s = 0; s < 6; s++) cpu.systemWrite16((oldBase + 72 + 4 * s) | 0, cpu.segSel[s]);
  } else {
    cpu.systemWrite16((oldBase + 14) | 0, cpu.eip & 0xffff);
    cpu.systemWrite16((oldBase + 16) | 0, oldFlags & 0xffff);
    for (let r = 0; r < 8; r++) cpu.systemWrite16((oldBase + 18 + 2 * r) | 0, cpu.r16[r << 1]);
    for (let s = 0; s < 4; s++) cpu.systemWrite16((oldBase + 34 + 2 * s) | 0, cpu.segSel[s]);
  }

  // A 16-bit TSS holds only FLAGS; the upper half of EFLAGS (VM, RF, AC, ID) starts clear.
  let flags = new32 ? st[2] : st[2] & 0xffff;
  if (source === TaskSource.CALL || source === TaskSource.INT) {
    flags |= Flag.NT;
    cpu.systemWrite16(newBase, cpu.segSel[Seg.TR]);
  }
  if (source !== TaskSource.IRET) {
    cpu.systemWrite8((newAddr + 5) | 0, ((newHi >>> 8) & 0xff) | 0x2);
  }
  const busyHi = newHi | 0x200;
  cpu.loadSegmentCache(Seg.TR, selector & 0xffff, newBase, descriptorLimit(newLo, busyHi), descriptorAttr(busyHi));
  cpu.setCr0(cpu.cr0 | Cr0.TS);

  // Load the incoming task's registers; descriptor checks follow and fault in the new task.
  // A 32-bit TSS always supplies CR3 (the load flushes the TLB as a MOV to CR3 does).
  if (new32) cpu.setCr3(st[0] & ~0xfe7);
  cpu.eip = new32 ? st[1] : st[1] & 0xffff;
  cpu.eflags = flags;
  // A 16-bit TSS loads only the low words of the general registers.
  for (let r = 0; r < 8; r++) {
    if (new32) cpu.r32[r] = st[3 + r];
    else cpu.r16[r << 1] = st[3 + r];
  }
  const nSegs = new32 ? 6 : 4;
  for (let s = 0; s < 6; s++) {
    // Selectors first, with empty caches, as the processor does before it validates them.
    const sel = s < nSegs ? st[11 + s] : 0;
    cpu.loadNullSegment(s, sel);
  }
  cpu.requestExit();

  const ldt = st[17];
  if ((ldt & 0xfffc) === 0) cpu.loadNullSegment(Seg.LDTR, ldt);
  else {
    if ((ldt & 4) !== 0) cpu.raise(Vector.TS, (ldt & 0xfffc) | ext);
    readDescriptor(cpu, ldt, Vector.TS);
    if ((descriptorAttr(cpu.descHi) & (Attr.S | 0xf)) !== SysType.LDT) cpu.raise(Vector.TS, (ldt & 0xfffc) | ext);
    if ((cpu.descHi & 0x8000) === 0) cpu.raise(Vector.TS, (ldt & 0xfffc) | ext);
    loadFromDescriptor(cpu, Seg.LDTR, ldt);
  }

  if ((cpu.eflags & Flag.VM) !== 0) {
    cpu.setCpl(3);
    for (let s = 0; s < 6; s++) cpu.loadRealSegment(s, st[11 + s]);
  } else {
    const cs = st[12];
    const cpl = cs & 3;
    cpu.setCpl(cpl);
    loadTaskSegment(cpu, Seg.CS, cs, cpl, ext);
    loadTaskSegment(cpu, Seg.SS, st[13], cpl, ext);
    for (const s of [Seg.ES, Seg.DS, Seg.FS, Seg.GS]) {
      if (s < nSegs) loadTaskSegment(cpu, s, st[11 + s], cpl, ext);
    }
  }
  if (cpu.eip >>> 0 > cpu.segLimit[Seg.CS] >>> 0) cpu.raise(Vector.GP, ext);
  if (pushError) {
    const size = new32 ? 4 : 2;
    const sp = cpu.stack32 ? (cpu.r32[4] - size) | 0 : (cpu.r16[8] - size) & 0xffff;
    if (size === 4) cpu.write32(Seg.SS, sp, errorCode);
    else cpu.write16(Seg.SS, sp, errorCode);
    if (cpu.stack32) cpu.r32[4] = sp;
    else cpu.r16[8] = sp;
  }
}

const newState = new Int32Array(18);

/** Loads one segment register of the incoming task with the task-switch checks (#TS, #NP, #SS). */
function loadTaskSegment(cpu: Cpu, seg: number, selector: number, cpl: number, ext: number): void {
  const err = (selector & 0xfffc) | ext;
  if ((selector & 0xfffc) === 0) {
    if (seg === Seg.CS || seg === Seg.SS) cpu.raise(Vector.TS, err);
    cpu.loadNullSegment(seg, selector);
    return;
  }
  readDescriptor(cpu, selector, Vector.TS);
  const attr = descriptorAttr(cpu.descHi);
  const dpl = (attr >>> 5) & 3;
  const rpl = selector & 3;
  if ((attr & Attr.S) === 0) cpu.raise(Vector.TS, err);
  if (seg === Seg.CS) {
    if ((attr & Attr.CODE) === 0) cpu.raise(Vector.TS, err);
    if ((attr & Attr.DC) !== 0 ? dpl > rpl : dpl !== rpl) cpu.raise(Vector.TS, err);
    if ((attr & Attr.P) === 0) cpu.raise(Vector.NP, err);
  } else if (seg === Seg.SS) {
    if ((attr & (Attr.CODE | Attr.RW)) !== Attr.RW || dpl !== cpl || rpl !== cpl) cpu.raise(Vector.TS, err);
    if ((attr & Attr.P) === 0) cpu.raise(Vector.SS, err);
  } else {
    if ((attr & (Attr.CODE | Attr.RW)) === Attr.CODE) cpu.raise(Vector.TS, err);
    if ((attr & (Attr.CODE | Attr.DC)) !== (Attr.CODE | Attr.DC) && (rpl > dpl || cpl > dpl)) {
      cpu.raise(Vector.TS, err);
    }
    if ((attr & Attr.P) === 0) cpu.raise(Vector.NP, err);
  }
  markAccessed(cpu);
  loadFromDescriptor(cpu, seg, selector);
}
