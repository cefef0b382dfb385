/**
 * The x87 escape opcodes (D8-DF), WAIT/FWAIT and FXSAVE/FXRSTOR, run by the bit-exact FPU in ../../fpu.
 *
 * Order of checks for an escape instruction, as on a P6:
 *   1. CR0.EM or CR0.TS: #NM (an OS emulates the FPU or switches its state lazily).
 *   2. A pending unmasked exception (status word ES) before a waiting instruction: #MF with
 *      CR0.NE=1; with CR0.NE=0 the processor asserts FERR# and waits (see ferrWait). Non-waiting
 *      control instructions (FNINIT, FNCLEX, FNSTSW, FNSTCW, FNSTENV, FNSAVE) skip this check.
 *      The check comes before the memory operand is touched.
 *   3. The memory operand: read in full, or checked writable, through the normal segment and
 *      paging path, so that a #GP, #SS or #PF leaves the FPU state as it was (the instruction
 *      restarts cleanly).
 *   4. The FPU executes; a store result is then copied out (it can no longer fault).
 * FIP/FCS point at the instruction's first byte (prefixes included) and FDP/FDS at the memory
 * operand's offset and selector (linear addresses in real and virtual-8086 mode); the FPU keeps
 * them for FSTENV/FSAVE unless the instruction is a control instruction.
 */

import { Code, CodeAttr, CODE_ATTRIBUTES, type Instruction } from '@plex86/x86';
import type { Cpu } from '../cpu.js';
import { Vector } from '../fault.js';
import { Cr0, Flag, Seg } from '../registers.js';
import {
  CTL_IGNNE,
  CTL_NE,
  CTL_OPSIZE32,
  CTL_PROTECTED,
  FpuResult,
  MEM_READ,
  MEM_SIZE_MASK,
  MEM_WRITE,
  memAccess,
} from '../../fpu/fpu.js';
import { ea, memSeg } from './operands.js';
import { HANDLERS, on, undefinedOpcode } from './table.js';

/** EFLAGS bits FCMOVcc reads and FCOMI writes. */
const FPU_EFLAGS_IN = Flag.CF | Flag.PF | Flag.ZF;
const FCOMI_FLAGS = Flag.CF | Flag.PF | Flag.AF | Flag.ZF | Flag.SF | Flag.OF;
const FX_IMAGE = 512;

/**
 * The FOP of the escape instruction `ins`: the low three bits of its escape byte (D8-DF) and its ModRM
 * byte, which the FPU records bit for bit; the decoder keeps both (Instruction.opcodeModrm).
 */
export function escapeOpcode(ins: Instruction): number {
  return ins.opcodeModrm & 0x7ff;
}

/** The context word for Fpu.execute/wait (without the operand size). */
function fpuContext(cpu: Cpu): number {
  cpu.ferrWaiting = false;
  const cr0 = cpu.cr0;
  let ctl = 0;
  if ((cr0 & Cr0.NE) !== 0) ctl |= CTL_NE;
  if (!cpu.realAddressing) ctl |= CTL_PROTECTED;
  // IGNNE# lasts while FERR# does (PC chipsets); FNCLEX or FNINIT ends both.
  if (cpu.ignne) {
    if (cpu.fpu.ferr) ctl |= CTL_IGNNE;
    else cpu.ignne = false;
  }
  return ctl;
}

/** FNSTENV, FNSTCW, FNSAVE, FNSTSW m16: stores that do not wait for pending exceptions. */
function nonWaitingStore(fop: number): boolean {
  const g = ((fop >>> 5) & 0x38) | ((fop >>> 3) & 7);
  return g === 0x0e || g === 0x0f || g === 0x2e || g === 0x2f;
}

/**
 * CR0.NE=0 and a pending exception: FERR# is asserted and the processor stops at the instruction
 * until an interrupt arrives (on a PC, IRQ13 from FERR#, whose handler clears the exception or
 * asserts IGNNE#); then it retries the instruction. `cpu.onFerr` is the platform's hook to raise
 * IRQ13; with nothing attached the processor waits as with IRQ13 masked, and the engine returns
 * HALTED if no interrupt can wake it.
 */
function ferrWait(cpu: Cpu): void {
  cpu.eip = cpu.insEip;
  cpu.halted = true;
  cpu.ferrWaiting = true;
  cpu.requestExit();
  cpu.ferrWaits++;
  if (cpu.onFerr !== undefined) cpu.onFerr();
}

/** Acts on an FpuResult other than Store. */
function finish(cpu: Cpu, result: number): void {
  switch (result) {
    case FpuResult.Done:
      return;
    case FpuResult.Ax:
      cpu.r16[0] = cpu.fpu.ax;
      return;
    case FpuResult.Eflags:
      cpu.setFlagBits(FCOMI_FLAGS, cpu.fpu.eflags & FPU_EFLAGS_IN);
      return;
    case FpuResult.Mf:
      cpu.raiseNoCode(Vector.MF);
      break;
    case FpuResult.FerrWait:
      ferrWait(cpu);
      return;
    default:
      cpu.raiseNoCode(Vector.UD);
  }
}

/**
 * The offset in RAM of the `size` bytes at linear `lin` when the TLB maps them all, on one page, for
 * a read or a write (the TLB allows none to a page with scanned code), else -1. The FPU then reads
 * or writes its operand in place, as an inline access would, instead of through its scratch buffer
 * and the CPU's accesses of at most four bytes.
 */
function ramOperand(cpu: Cpu, lin: number, size: number, write: boolean): number {
  const e = cpu.tlb[lin >>> 12] as number;
  const allowed = write ? (e & cpu.writeMask) === cpu.writeWant : (e & cpu.readMask) === cpu.readWant;
  return allowed && (lin & 0xfff) <= 0x1000 - size ? (e & ~0xfff) | (lin & 0xfff) : -1;
}

/** Copies `size` bytes (an even count) from linear `lin` into `buf`. */
function readBytes(cpu: Cpu, lin: number, size: number, buf: Uint8Array): void {
  let i = 0;
  for (; i + 4 <= size; i += 4) {
    const v = cpu.readLin32((lin + i) | 0);
    buf[i] = v;
    buf[i + 1] = v >>> 8;
    buf[i + 2] = v >>> 16;
    buf[i + 3] = v >>> 24;
  }
  if (i < size) {
    const v = cpu.readLin16((lin + i) | 0);
    buf[i] = v;
    buf[i + 1] = v >>> 8;
  }
}

/** Copies `size` bytes (an even count) from `buf` to linear `lin`, already checked writable. */
function writeBytes(cpu: Cpu, lin: number, size: number, buf: Uint8Array): void {
  let i = 0;
  for (; i + 4 <= size; i += 4) {
    cpu.writeLin32((lin + i) | 0, buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24));
  }
  if (i < size) cpu.writeLin16((lin + i) | 0, buf[i] | (buf[i + 1] << 8));
}

/** Every escape opcode, register and memory forms. */
export function x87Escape(cpu: Cpu, ins: Instruction): void {
  if ((cpu.cr0 & (Cr0.EM | Cr0.TS)) !== 0) cpu.raiseNoCode(Vector.NM);
  const fpu = cpu.fpu;
  const fop = escapeOpcode(ins);
  let ctl = fpuContext(cpu);
  if (ins.operandSize === 32) ctl |= CTL_OPSIZE32;
  const real = (ctl & CTL_PROTECTED) === 0;
  pointToInstruction(cpu, real);
  if ((fop & 0xc0) === 0xc0) {
    // FCMOVcc (DA/DB C0-DF) reads CF, PF and ZF.
    if ((fop & 0x6e0) === 0x2c0) ctl |= cpu.eflags & FPU_EFLAGS_IN;
    finish(cpu, fpu.execute(fop, ctl, fpu.scratch, 0));
    return;
  }
  const access = memAccess(fop, (ctl & CTL_OPSIZE32) !== 0);
  if (access === 0) {
    finish(cpu, fpu.execute(fop, ctl, fpu.scratch, 0));
    return;
  }
  if ((access & MEM_READ) !== 0 || !nonWaitingStore(fop)) {
    const pending = fpu.wait(ctl);
    if (pending !== FpuResult.Done) {
      finish(cpu, pending);
      return;
    }
  }
  const seg = memSeg(ins);
  const off = ea(cpu, ins);
  const size = access & MEM_SIZE_MASK;
  fpu.dp = real ? (cpu.segBase[seg] + off) >>> 0 : off >>> 0;
  fpu.ds = cpu.segSel[seg];
  if ((access & MEM_WRITE) !== 0) {
    const lin = cpu.prepareWrite(seg, off, size);
    // The FPU writes its operand only when it returns Store (fpu.ts execute).
    const p = ramOperand(cpu, lin, size, true);
    const result = fpu.execute(fop, ctl, p < 0 ? fpu.scratch : cpu.ram, p < 0 ? 0 : p);
    if (result !== FpuResult.Store) finish(cpu, result);
    else if (p < 0) writeBytes(cpu, lin, size, fpu.scratch);
    return;
  }
  const lin = cpu.linearRead(seg, off, size);
  const p = ramOperand(cpu, lin, size, false);
  if (p >= 0) {
    finish(cpu, fpu.execute(fop, ctl, cpu.ram, p));
    return;
  }
  readBytes(cpu, lin, size, fpu.scratch);
  finish(cpu, fpu.execute(fop, ctl, fpu.scratch, 0));
}

/**
 * Whether the checks before an escape instruction pass as they do while a guest's floating-point code
 * runs: CR0.EM and CR0.TS clear, no exception pending, protected mode. The quick forms below then run
 * without x87Escape's general decoding, which took about 100 ns an instruction on the bench
 * workload's awk and sort steps (V8's CPU profile), against some 7 ns for the average instruction;
 * anything else goes through x87Escape. With these forms (two rounds in turns, against the build
 * before them): the awk generator 0.97x as long on its first pass and 0.94x on its second, the awk
 * sum 0.94x and 0.97x, sort 0.95x and 0.97x; a micro-benchmark of the handlers of FLD and FSTP
 * m64real alone, 33 instead of 66-75 ns each.
 */
function quickEscape(cpu: Cpu): boolean {
  const quick = (cpu.cr0 & (Cr0.EM | Cr0.TS)) === 0 && !cpu.fpu.ferr && !cpu.realAddressing;
  if (quick) {
    // What fpuContext leaves with no exception pending: FERR# is not asserted, so IGNNE# ends.
    cpu.ferrWaiting = false;
    cpu.ignne = false;
  }
  return quick;
}

/**
 * Sets the FPU's instruction pointer inputs: FIP at the instruction's first byte, FCS its code
 * segment's selector. Real and virtual-8086 mode environments hold 20-bit linear pointers (SDM vol. 1,
 * fig. 8-10).
 */
function pointToInstruction(cpu: Cpu, real: boolean): void {
  const fpu = cpu.fpu;
  fpu.ip = real ? (cpu.segBase[Seg.CS] + cpu.insEip) >>> 0 : cpu.insEip >>> 0;
  fpu.cs = cpu.segSel[Seg.CS];
}

/**
 * The offset in RAM of the 8-byte memory operand of a quick form, with the FPU's pointer inputs set
 * for it; or -1 when the checks before it do not pass as quickEscape wants or the operand does not
 * lie in RAM on one page (ramOperand), for x87Escape to run the instruction. A write operand is
 * checked writable first, as x87Escape does.
 */
function quickDoubleOperand(cpu: Cpu, ins: Instruction, write: boolean): number {
  if (!quickEscape(cpu)) return -1;
  const seg = memSeg(ins);
  const off = ea(cpu, ins);
  const p = ramOperand(cpu, write ? cpu.prepareWrite(seg, off, 8) : cpu.linearRead(seg, off, 8), 8, write);
  if (p >= 0) {
    const fpu = cpu.fpu;
    pointToInstruction(cpu, false);
    fpu.dp = off >>> 0;
    fpu.ds = cpu.segSel[seg];
  }
  return p;
}

/**
 * FLD m64real and FST/FSTP m64real, the commonest escape instructions by far (a C program's doubles
 * go between memory and the stack through them): with the operand in RAM on one page and a value
 * that converts exactly (Fpu.loadDouble, Fpu.storeDouble), they skip the FPU's conversions as well.
 */
on('Fld_m64fp', (cpu, ins) => {
  const p = quickDoubleOperand(cpu, ins, false);
  if (p < 0 || !cpu.fpu.loadDouble(escapeOpcode(ins), cpu.ram, p)) x87Escape(cpu, ins);
});

function storeDouble(cpu: Cpu, ins: Instruction, pop: boolean): void {
  const p = quickDoubleOperand(cpu, ins, true);
  if (p < 0 || !cpu.fpu.storeDouble(escapeOpcode(ins), pop, cpu.ram, p)) x87Escape(cpu, ins);
}
on('Fst_m64fp', (cpu, ins) => storeDouble(cpu, ins, false));
on('Fstp_m64fp', (cpu, ins) => storeDouble(cpu, ins, true));

// FLDCW and FNSTCW, which a C program's every conversion from double to integer runs around FISTP
// (the rounding control set to truncate and back), and FNSTSW AX after a compare. They are control
// instructions: the pointers stay as they are.
on('Fldcw_m16', (cpu, ins) => {
  if (quickEscape(cpu)) cpu.fpu.loadControlWord(cpu.read16(memSeg(ins), ea(cpu, ins)));
  else x87Escape(cpu, ins);
});
on('Fnstcw_m16', (cpu, ins) => {
  if (quickEscape(cpu)) cpu.write16(memSeg(ins), ea(cpu, ins), cpu.fpu.controlWord());
  else x87Escape(cpu, ins);
});
on('Fnstsw_AX', (cpu, ins) => {
  if (quickEscape(cpu)) cpu.r16[0] = cpu.fpu.statusWord();
  else x87Escape(cpu, ins);
});

/** The register forms but FCMOVcc (which read EFLAGS) and FNSTSW AX. */
function registerForm(cpu: Cpu, ins: Instruction): void {
  if (!quickEscape(cpu)) {
    x87Escape(cpu, ins);
    return;
  }
  pointToInstruction(cpu, false);
  finish(cpu, cpu.fpu.executeRegister(escapeOpcode(ins)));
}

/** WAIT/FWAIT: #NM with CR0.MP and CR0.TS both set (EM does not matter), then pending exceptions. */
function fwait(cpu: Cpu): void {
  if ((cpu.cr0 & (Cr0.MP | Cr0.TS)) === (Cr0.MP | Cr0.TS)) cpu.raiseNoCode(Vector.NM);
  finish(cpu, cpu.fpu.wait(fpuContext(cpu)));
}
on('Wait', fwait);

/**
 * FXSAVE/FXRSTOR (0F AE /0, /1): the 512-byte image, x87 part only (no MMX or SSE state here).
 * #NM with CR0.EM or CR0.TS, #GP(0) unless the operand is 16-byte aligned; neither waits for
 * pending exceptions. FXRSTOR reads the whole image before the FPU changes.
 */
function fxAccess(cpu: Cpu, ins: Instruction): number {
  if ((cpu.cr0 & (Cr0.EM | Cr0.TS)) !== 0) cpu.raiseNoCode(Vector.NM);
  const off = ea(cpu, ins);
  if ((off & 15) !== 0) cpu.raise(Vector.GP, 0);
  return off;
}
on('Fxsave_m512byte', (cpu, ins) => {
  const off = fxAccess(cpu, ins);
  const fpu = cpu.fpu;
  const lin = cpu.prepareWrite(memSeg(ins), off, FX_IMAGE);
  fpu.fxsave(fpu.scratch, 0);
  writeBytes(cpu, lin, FX_IMAGE, fpu.scratch);
});
on('Fxrstor_m512byte', (cpu, ins) => {
  const off = fxAccess(cpu, ins);
  const fpu = cpu.fpu;
  readBytes(cpu, cpu.linearRead(memSeg(ins), off, FX_IMAGE), FX_IMAGE, fpu.scratch);
  fpu.fxrstor(fpu.scratch, 0);
});

/**
 * Installs registerForm on the codes the table marks as x87 that reach no memory (the register forms,
 * and those of no operand) but FCMOVcc, and x87Escape on the others without a handler of their own
 * (WAIT has its own too).
 */
function installX87(attributes: Uint32Array): void {
  for (let code = 0; code < attributes.length; code++) {
    if ((attributes[code] & CodeAttr.X87) === 0 || HANDLERS[code] !== undefinedOpcode) continue;
    const memory = (attributes[code] & (CodeAttr.READS_MEMORY | CodeAttr.WRITES_MEMORY)) !== 0;
    HANDLERS[code] = !memory && !Code[code].startsWith('Fcmov') ? registerForm : x87Escape;
  }
}

installX87(CODE_ATTRIBUTES);
