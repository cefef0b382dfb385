/** Jumps, calls, returns, loops, software interrupts, BOUND and HLT. */

import type { Instruction } from '@plex86/x86';
import type { Cpu } from '../cpu.js';
import { Vector } from '../fault.js';
import { deliverInterrupt, IntSource } from '../interrupts.js';
import { Seg } from '../registers.js';
import { checkCsLimit, farCall, farJump, farReturn, interruptReturn } from '../transfers.js';
import { branchTarget, ea, getReg, K_REG, memSeg } from './operands.js';
import { push16, push32, setStackPointer, stackOffset, stackPointer } from './stack.js';
import { on } from './table.js';

function jumpTo(cpu: Cpu, target: number): void {
  checkCsLimit(cpu, target);
  cpu.eip = target;
}

// ---- JMP / Jcc ----

const jmpRel = (cpu: Cpu, ins: Instruction): void => jumpTo(cpu, branchTarget(cpu, ins));
on('Jmp_rel8_16', jmpRel);
on('Jmp_rel8_32', jmpRel);
on('Jmp_rel16', jmpRel);
on('Jmp_rel32', jmpRel);
on('Jmp_rm16', (cpu, ins) =>
  jumpTo(cpu, ins.op0Kind === K_REG ? getReg(cpu, ins.op0Register) : cpu.read16(memSeg(ins), ea(cpu, ins))),
);
on('Jmp_rm32', (cpu, ins) =>
  jumpTo(cpu, ins.op0Kind === K_REG ? getReg(cpu, ins.op0Register) : cpu.read32(memSeg(ins), ea(cpu, ins))),
);

const CC_NAMES = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];
for (let cc = 0; cc < 16; cc++) {
  const jcc = (cpu: Cpu, ins: Instruction): void => {
    if (cpu.condition(cc)) jumpTo(cpu, branchTarget(cpu, ins));
  };
  const n = `J${CC_NAMES[cc]}`;
  on(`${n}_rel8_16`, jcc);
  on(`${n}_rel8_32`, jcc);
  on(`${n}_rel16`, jcc);
  on(`${n}_rel32`, jcc);
}

// ---- LOOP / JCXZ: the address size picks CX or ECX, the operand size the IP width ----

function loop(kind: 0 | 1 | 2, a32: boolean): (cpu: Cpu, ins: Instruction) => void {
  return (cpu, ins) => {
    const count = a32 ? (cpu.r32[1] - 1) | 0 : (cpu.r16[2] - 1) & 0xffff;
    let taken = count !== 0;
    if (kind === 1) taken = taken && cpu.getZf();
    else if (kind === 2) taken = taken && !cpu.getZf();
    if (taken) {
      const target = branchTarget(cpu, ins);
      checkCsLimit(cpu, target);
      cpu.eip = target;
    }
    if (a32) cpu.r32[1] = count;
    else cpu.r16[2] = count;
  };
}
for (const [name, kind] of [
  ['Loop', 0],
  ['Loope', 1],
  ['Loopne', 2],
] as const) {
  on(`${name}_rel8_a16_16`, loop(kind, false));
  on(`${name}_rel8_a16_32`, loop(kind, false));
  on(`${name}_rel8_a32_16`, loop(kind, true));
  on(`${name}_rel8_a32_32`, loop(kind, true));
}
const jcxz = (cpu: Cpu, ins: Instruction): void => {
  if (cpu.r16[2] === 0) jumpTo(cpu, branchTarget(cpu, ins));
};
const jecxz = (cpu: Cpu, ins: Instruction): void => {
  if (cpu.r32[1] === 0) jumpTo(cpu, branchTarget(cpu, ins));
};
on('Jcxz_rel8_a16_16', jcxz);
on('Jcxz_rel8_a16_32', jcxz);
on('Jecxz_rel8_a32_16', jecxz);
on('Jecxz_rel8_a32_32', jecxz);

// ---- CALL / RET near ----

function callNear(cpu: Cpu, target: number, size: number): void {
  checkCsLimit(cpu, target);
  if (size === 32) push32(cpu, cpu.eip);
  else push16(cpu, cpu.eip & 0xffff);
  cpu.eip = target;
}
on('Call_rel16', (cpu, ins) => callNear(cpu, branchTarget(cpu, ins), 16));
on('Call_rel32', (cpu, ins) => callNear(cpu, branchTarget(cpu, ins), 32));
on('Call_rm16', (cpu, ins) =>
  callNear(cpu, ins.op0Kind === K_REG ? getReg(cpu, ins.op0Register) : cpu.read16(memSeg(ins), ea(cpu, ins)), 16),
);
on('Call_rm32', (cpu, ins) =>
  callNear(cpu, ins.op0Kind === K_REG ? getReg(cpu, ins.op0Register) : cpu.read32(memSeg(ins), ea(cpu, ins)), 32),
);

function retNear(cpu: Cpu, size: number, release: number): void {
  const sp = stackPointer(cpu);
  const target = size === 32 ? cpu.read32(Seg.SS, sp) : cpu.read16(Seg.SS, sp);
  checkCsLimit(cpu, target);
  cpu.eip = target;
  setStackPointer(cpu, stackOffset(cpu, (size >>> 3) + release));
}
on('Ret_16', (cpu) => retNear(cpu, 16, 0));
on('Ret_32', (cpu) => retNear(cpu, 32, 0));
on('Ret_imm16_16', (cpu, ins) => retNear(cpu, 16, ins.rawImmediate & 0xffff));
on('Ret_imm16_32', (cpu, ins) => retNear(cpu, 32, ins.rawImmediate & 0xffff));

// ---- far transfers ----

on('Jmp_ptr1616', (cpu, ins) => farJump(cpu, ins.farSelector, ins.rawBranchTarget & 0xffff, 16));
on('Jmp_ptr1632', (cpu, ins) => farJump(cpu, ins.farSelector, ins.rawBranchTarget | 0, 32));
on('Call_ptr1616', (cpu, ins) => farCall(cpu, ins.farSelector, ins.rawBranchTarget & 0xffff, 16));
on('Call_ptr1632', (cpu, ins) => farCall(cpu, ins.farSelector, ins.rawBranchTarget | 0, 32));
on('Jmp_m1616', (cpu, ins) => {
  if (ins.op0Kind === K_REG) cpu.raiseNoCode(Vector.UD);
  const seg = memSeg(ins);
  const off = ea(cpu, ins);
  const ip = cpu.read16(seg, off);
  farJump(cpu, cpu.read16(seg, (off + 2) & (ins.addressSize === 16 ? 0xffff : -1)), ip, 16);
});
on('Jmp_m1632', (cpu, ins) => {
  if (ins.op0Kind === K_REG) cpu.raiseNoCode(Vector.UD);
  const seg = memSeg(ins);
  const off = ea(cpu, ins);
  const ip = cpu.read32(seg, off);
  farJump(cpu, cpu.read16(seg, (off + 4) & (ins.addressSize === 16 ? 0xffff : -1)), ip, 32);
});
on('Call_m1616', (cpu, ins) => {
  if (ins.op0Kind === K_REG) cpu.raiseNoCode(Vector.UD);
  const seg = memSeg(ins);
  const off = ea(cpu, ins);
  const ip = cpu.read16(seg, off);
  farCall(cpu, cpu.read16(seg, (off + 2) & (ins.addressSize === 16 ? 0xffff : -1)), ip, 16);
});
on('Call_m1632', (cpu, ins) => {
  if (ins.op0Kind === K_REG) cpu.raiseNoCode(Vector.UD);
  const seg = memSeg(ins);
  const off = ea(cpu, ins);
  const ip = cpu.read32(seg, off);
  farCall(cpu, cpu.read16(seg, (off + 4) & (ins.addressSize === 16 ? 0xffff : -1)), ip, 32);
});
on('Retf_16', (cpu) => farReturn(cpu, 16, 0));
on('Retf_32', (cpu) => farReturn(cpu, 32, 0));
on('Retf_imm16_16', (cpu, ins) => farReturn(cpu, 16, ins.rawImmediate & 0xffff));
on('Retf_imm16_32', (cpu, ins) => farReturn(cpu, 32, ins.rawImmediate & 0xffff));
on('Iret', (cpu) => interruptReturn(cpu, 16));
on('Iretd', (cpu) => interruptReturn(cpu, 32));

// ---- software interrupts ----

on('Int_imm8', (cpu, ins) => {
  // Without VME, INT n in virtual-8086 mode needs IOPL 3.
  if (cpu.v86 && cpu.iopl < 3) cpu.raise(Vector.GP, 0);
  deliverInterrupt(cpu, ins.rawImmediate & 0xff, IntSource.SOFTWARE, false, 0);
});
on('Int3', (cpu) => deliverInterrupt(cpu, Vector.BP, IntSource.SOFTWARE, false, 0));
on('Into', (cpu) => {
  if (cpu.getOf()) deliverInterrupt(cpu, Vector.OF, IntSource.SOFTWARE, false, 0);
});
on('Int1', (cpu) => deliverInterrupt(cpu, Vector.DB, IntSource.ICEBP, false, 0));

// ---- BOUND ----

on('Bound_r16_m1616', (cpu, ins) => {
  if (ins.op1Kind === K_REG) cpu.raiseNoCode(Vector.UD);
  const seg = memSeg(ins);
  const off = ea(cpu, ins);
  const lower = (cpu.read16(seg, off) << 16) >> 16;
  const upper = (cpu.read16(seg, (off + 2) & (ins.addressSize === 16 ? 0xffff : -1)) << 16) >> 16;
  const index = (getReg(cpu, ins.op0Register) << 16) >> 16;
  if (index < lower || index > upper) cpu.raiseNoCode(Vector.BR);
});
on('Bound_r32_m3232', (cpu, ins) => {
  if (ins.op1Kind === K_REG) cpu.raiseNoCode(Vector.UD);
  const seg = memSeg(ins);
  const off = ea(cpu, ins);
  const lower = cpu.read32(seg, off);
  const upper = cpu.read32(seg, (off + 4) & (ins.addressSize === 16 ? 0xffff : -1));
  const index = getReg(cpu, ins.op0Register);
  if (index < lower || index > upper) cpu.raiseNoCode(Vector.BR);
});

// ---- HLT ----

on('Hlt', (cpu) => {
  if (cpu.cpl !== 0) cpu.raise(Vector.GP, 0);
  cpu.halted = true;
  cpu.requestExit();
});
