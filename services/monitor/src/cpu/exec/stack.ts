/**
 * Stack access through SS with SP or ESP (SS.B), and the stack instructions. Each push writes first
 * and moves the stack pointer only afterwards, so a faulting push leaves ESP as it was.
 */

import type { Instruction } from '@plex86/x86';
import type { Cpu } from '../cpu.js';
import { Vector } from '../fault.js';
import { Flag, Seg } from '../registers.js';
import { loadSegment } from '../segments.js';
import { ea, getReg, K_REG, memSeg, R_ES, setReg, writeMem } from './operands.js';
import { on } from './table.js';

const ESP = 4;

/** The stack pointer as an offset: SP or ESP. */
export function stackPointer(cpu: Cpu): number {
  return cpu.stack32 ? cpu.r32[ESP] : cpu.r16[ESP << 1];
}

/** Offset `delta` bytes from the stack pointer, wrapped to the stack size. */
export function stackOffset(cpu: Cpu, delta: number): number {
  return cpu.stack32 ? (cpu.r32[ESP] + delta) | 0 : (cpu.r16[ESP << 1] + delta) & 0xffff;
}

/** Sets SP or ESP to `offset` (the part SS.B selects). */
export function setStackPointer(cpu: Cpu, offset: number): void {
  if (cpu.stack32) cpu.r32[ESP] = offset;
  else cpu.r16[ESP << 1] = offset;
}

export function push16(cpu: Cpu, v: number): void {
  const sp = stackOffset(cpu, -2);
  cpu.write16(Seg.SS, sp, v);
  setStackPointer(cpu, sp);
}

export function push32(cpu: Cpu, v: number): void {
  const sp = stackOffset(cpu, -4);
  cpu.write32(Seg.SS, sp, v);
  setStackPointer(cpu, sp);
}

export function push(cpu: Cpu, size: number, v: number): void {
  if (size === 32) push32(cpu, v);
  else push16(cpu, v);
}

export function pop16(cpu: Cpu): number {
  const sp = stackPointer(cpu);
  const v = cpu.read16(Seg.SS, sp);
  setStackPointer(cpu, stackOffset(cpu, 2));
  return v;
}

export function pop32(cpu: Cpu): number {
  const sp = stackPointer(cpu);
  const v = cpu.read32(Seg.SS, sp);
  setStackPointer(cpu, stackOffset(cpu, 4));
  return v;
}

export function pop(cpu: Cpu, size: number): number {
  return size === 32 ? pop32(cpu) : pop16(cpu);
}

/** Reads the stack at `delta` bytes above the stack pointer without popping. */
export function peek(cpu: Cpu, delta: number, size: number): number {
  const off = stackOffset(cpu, delta);
  return size === 32 ? cpu.read32(Seg.SS, off) : cpu.read16(Seg.SS, off);
}

// ---- PUSH / POP ----

on('Push_r16', (cpu, ins) => push16(cpu, getReg(cpu, ins.op0Register)));
on('Push_r32', (cpu, ins) => push32(cpu, getReg(cpu, ins.op0Register)));
on('Pop_r16', (cpu, ins) => setReg(cpu, ins.op0Register, pop16(cpu)));
on('Pop_r32', (cpu, ins) => setReg(cpu, ins.op0Register, pop32(cpu)));
on('Push_imm16', (cpu, ins) => push16(cpu, ins.rawImmediate & 0xffff));
on('Push_imm32', (cpu, ins) => push32(cpu, ins.rawImmediate | 0));
on('Push_imm8_16', (cpu, ins) => push16(cpu, ins.rawImmediate & 0xffff));
on('Push_imm8_32', (cpu, ins) => push32(cpu, ins.rawImmediate | 0));
on('Push_rm16', (cpu, ins) =>
  push16(cpu, ins.op0Kind === K_REG ? getReg(cpu, ins.op0Register) : cpu.read16(memSeg(ins), ea(cpu, ins))),
);
on('Push_rm32', (cpu, ins) =>
  push32(cpu, ins.op0Kind === K_REG ? getReg(cpu, ins.op0Register) : cpu.read32(memSeg(ins), ea(cpu, ins))),
);

/** POP r/m: the value is read first; an ESP-based address is computed with the incremented ESP. */
function popRm(cpu: Cpu, ins: Instruction, size: number): void {
  const v = size === 32 ? cpu.read32(Seg.SS, stackPointer(cpu)) : cpu.read16(Seg.SS, stackPointer(cpu));
  if (ins.op0Kind === K_REG) {
    setStackPointer(cpu, stackOffset(cpu, size >>> 3));
    setReg(cpu, ins.op0Register, v);
    return;
  }
  const oldEsp = cpu.r32[ESP];
  setStackPointer(cpu, stackOffset(cpu, size >>> 3));
  try {
    writeMem(cpu, ins.memSegment - R_ES, ea(cpu, ins), size, v);
  } catch (e) {
    cpu.r32[ESP] = oldEsp;
    throw e;
  }
}
on('Pop_rm16', (cpu, ins) => popRm(cpu, ins, 16));
on('Pop_rm32', (cpu, ins) => popRm(cpu, ins, 32));

const SEG_NAMES = ['ES', 'CS', 'SS', 'DS', 'FS', 'GS'];
for (let seg = 0; seg < 6; seg++) {
  const name = SEG_NAMES[seg];
  on(`Push_${name}_16`, (cpu) => push16(cpu, cpu.segSel[seg]));
  // A 32-bit push of a segment register writes only the low word on a P6 (the upper half is left alone).
  on(`Push_${name}_32`, (cpu) => {
    const sp = stackOffset(cpu, -4);
    cpu.write16(Seg.SS, sp, cpu.segSel[seg]);
    setStackPointer(cpu, sp);
  });
  if (seg === Seg.CS) continue;
  for (const size of [16, 32]) {
    on(`Pop_${name}_${size}`, (cpu) => {
      const v = cpu.read16(Seg.SS, stackPointer(cpu));
      // The pop moves SP or ESP as the old SS says, and only once the load succeeded.
      const wide = cpu.stack32;
      const next = stackOffset(cpu, size >>> 3);
      loadSegment(cpu, seg, v);
      if (wide) cpu.r32[ESP] = next;
      else cpu.r16[ESP << 1] = next;
      // POP SS holds off interrupts (and debug traps) until after the next instruction.
      if (seg === Seg.SS) cpu.inhibitInterrupts();
    });
  }
}

// ---- PUSHA / POPA ----

on('Pusha', (cpu) => {
  const sp0 = cpu.r16[ESP << 1];
  for (let r = 0; r < 8; r++) {
    const off = stackOffset(cpu, -2 * (r + 1));
    cpu.write16(Seg.SS, off, r === ESP ? sp0 : cpu.r16[r << 1]);
  }
  setStackPointer(cpu, stackOffset(cpu, -16));
});
on('Pushad', (cpu) => {
  const esp0 = cpu.r32[ESP];
  for (let r = 0; r < 8; r++) {
    const off = stackOffset(cpu, -4 * (r + 1));
    cpu.write32(Seg.SS, off, r === ESP ? esp0 : cpu.r32[r]);
  }
  setStackPointer(cpu, stackOffset(cpu, -32));
});
on('Popa', (cpu) => {
  const values = scratch;
  for (let r = 0; r < 8; r++) values[7 - r] = peek(cpu, 2 * r, 16);
  for (let r = 0; r < 8; r++) if (r !== ESP) cpu.r16[r << 1] = values[r];
  setStackPointer(cpu, stackOffset(cpu, 16));
});
on('Popad', (cpu) => {
  const values = scratch;
  for (let r = 0; r < 8; r++) values[7 - r] = peek(cpu, 4 * r, 32);
  for (let r = 0; r < 8; r++) if (r !== ESP) cpu.r32[r] = values[r];
  setStackPointer(cpu, stackOffset(cpu, 32));
});
const scratch = new Int32Array(8);

// ---- PUSHF / POPF ----

/** Virtual-8086 mode without VME: PUSHF/POPF/CLI/STI/INT n/IRET need IOPL 3. */
function checkV86Iopl(cpu: Cpu): void {
  if (cpu.v86 && cpu.iopl < 3) cpu.raise(Vector.GP, 0);
}

on('Pushf', (cpu) => {
  checkV86Iopl(cpu);
  push16(cpu, cpu.eflags & 0xffff);
});
on('Pushfd', (cpu) => {
  checkV86Iopl(cpu);
  // VM and RF are not copied to the stack image.
  push32(cpu, cpu.eflags & 0x00fcffff);
});

/** Writes EFLAGS from POPF/IRET data, keeping what the current privilege may not change. */
export function writeFlagsFromPop(cpu: Cpu, value: number, size: number): void {
  const old = cpu.eflags;
  let writable = 0x00247fd5; // ID AC (OF DF IF TF SF ZF AF PF CF) IOPL NT; never VM, RF, VIF, VIP here
  if (cpu.protectedMode) {
    if (cpu.v86) writable &= ~Flag.IOPL;
    else {
      if (cpu.cpl > 0) writable &= ~Flag.IOPL;
      if (cpu.cpl > cpu.iopl) writable &= ~Flag.IF;
    }
  }
  if (size === 16) writable &= 0xffff;
  cpu.eflags = (old & ~writable) | (value & writable);
}

on('Popf', (cpu) => {
  checkV86Iopl(cpu);
  writeFlagsFromPop(cpu, peek(cpu, 0, 16), 16);
  setStackPointer(cpu, stackOffset(cpu, 2));
  cpu.requestExit();
});
on('Popfd', (cpu) => {
  checkV86Iopl(cpu);
  writeFlagsFromPop(cpu, peek(cpu, 0, 32), 32);
  setStackPointer(cpu, stackOffset(cpu, 4));
  cpu.requestExit();
});

// ---- ENTER / LEAVE ----

function enter(cpu: Cpu, ins: Instruction, size: number): void {
  const frameSize = ins.rawImmediate & 0xffff;
  const level = ins.immediate2 & 0x1f;
  const bytes = size >>> 3;
  const ebp = cpu.r32[5];
  // Writes go below the stack pointer in order; ESP and EBP change only once all of them succeeded.
  let off = stackOffset(cpu, -bytes);
  const frameTemp = off;
  if (size === 32) cpu.write32(Seg.SS, off, ebp);
  else cpu.write16(Seg.SS, off, ebp & 0xffff);
  if (level > 0) {
    let bp = cpu.stack32 ? ebp : ebp & 0xffff;
    for (let i = 1; i < level; i++) {
      bp = cpu.stack32 ? (bp - bytes) | 0 : (bp - bytes) & 0xffff;
      const v = size === 32 ? cpu.read32(Seg.SS, bp) : cpu.read16(Seg.SS, bp);
      off = cpu.stack32 ? (off - bytes) | 0 : (off - bytes) & 0xffff;
      if (size === 32) cpu.write32(Seg.SS, off, v);
      else cpu.write16(Seg.SS, off, v);
    }
    off = cpu.stack32 ? (off - bytes) | 0 : (off - bytes) & 0xffff;
    if (size === 32) cpu.write32(Seg.SS, off, frameTemp);
    else cpu.write16(Seg.SS, off, frameTemp);
  }
  const newSp = cpu.stack32 ? (off - frameSize) | 0 : (off - frameSize) & 0xffff;
  // The bottom of the new frame must be writable (the SDM's stack limit check).
  if (frameSize > 0) cpu.linearWrite(Seg.SS, newSp, 1);
  if (size === 32) cpu.r32[5] = frameTemp;
  else cpu.r16[10] = frameTemp;
  setStackPointer(cpu, newSp);
}
on('Enter_imm16_imm8_16', (cpu, ins) => enter(cpu, ins, 16));
on('Enter_imm16_imm8_32', (cpu, ins) => enter(cpu, ins, 32));

function leave(cpu: Cpu, size: number): void {
  const bp = cpu.stack32 ? cpu.r32[5] : cpu.r16[10];
  const v = size === 32 ? cpu.read32(Seg.SS, bp) : cpu.read16(Seg.SS, bp);
  setStackPointer(cpu, cpu.stack32 ? (bp + (size >>> 3)) | 0 : (bp + (size >>> 3)) & 0xffff);
  if (size === 32) cpu.r32[5] = v;
  else cpu.r16[10] = v;
}
on('Leave_16', (cpu) => leave(cpu, 16));
on('Leave_32', (cpu) => leave(cpu, 32));
