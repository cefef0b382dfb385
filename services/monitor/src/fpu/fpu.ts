/**
 * The x87 floating-point unit, bit-exact with a P6-class processor.
 *
 * How the CPU drives it
 * ---------------------
 * 1. For an escape opcode D8-DF, the CPU first applies CR0: `escapeFault(cr0)` returns Vector.NM
 *    (7) when CR0.EM or CR0.TS is set, else -1. For WAIT/FWAIT (9B) `waitFault(cr0)` returns 7 when
 *    CR0.MP and CR0.TS are both set; then it calls `fpu.wait(ctl)`.
 * 2. The operation is identified by its 11-bit FOP: `((opcode & 7) << 8) | modrm` — exactly the
 *    value the x87 itself records as the last opcode. For memory forms only the ModRM reg field
 *    matters; the CPU computes the effective address.
 * 3. Memory operands are bytes. `memAccess(fop, opsize32)` tells the CPU the operand size in bytes
 *    (0 for register forms) and whether the instruction reads it (MEM_READ) or writes it
 *    (MEM_WRITE). For a read, the CPU passes the operand bytes; for a write, it must first check
 *    that the destination is writable (faults leave the FPU unchanged), then call execute() with a
 *    buffer (the FPU's own `scratch` at offset 0 is fine) and copy the bytes out when execute()
 *    returns FpuResult.Store. No byte is written for Done (e.g. a masked-off store on an unmasked
 *    overflow).
 * 4. `execute(fop, ctl, mem, off)` runs the instruction. `ctl` packs the context:
 *      bits 0, 2, 6  EFLAGS.CF, PF, ZF (only FCMOVcc reads them: pass `eflags & 0x45`)
 *      CTL_OPSIZE32  32-bit operand size (FLDENV/FSTENV/FSAVE/FRSTOR layout)
 *      CTL_PROTECTED protected mode and not virtual-8086 (environment layout)
 *      CTL_NE        CR0.NE (native #MF reporting instead of FERR#)
 *      CTL_IGNNE     the IGNNE# input is asserted (PC chipsets: after a write to port F0h)
 *    Before calling, the CPU sets `fpu.ip`/`fpu.cs` to the instruction's offset and CS selector and,
 *    for a memory operand, `fpu.dp`/`fpu.ds` to the effective address and segment selector (in
 *    real and virtual-8086 mode the linear addresses, which is what those layouts store); the
 *    FPU keeps them as the last instruction/data pointers for FSTENV/FSAVE.
 * 5. The return value (FpuResult) says what the CPU must do next: nothing, store the operand
 *    bytes, load AX from `fpu.ax` (FNSTSW AX), merge `fpu.eflags` into ZF/PF/CF and clear OF/SF/AF
 *    (FCOMI family), raise #UD, raise #MF before the instruction (CR0.NE=1 and an unmasked
 *    exception was pending; nothing was executed), or — with CR0.NE=0 — FerrWait: FERR# is
 *    asserted, the platform raises IRQ13 and the CPU retries the instruction after the interrupt
 *    (it executes once the handler clears the exception or asserts IGNNE#). `fpu.ferr` is the
 *    level of the FERR# output at any time.
 * 6. CPUID.1:EDX bit 0 (FPU) belongs on once the CPU drives this unit. FXSAVE/FXRSTOR (0F AE /0,
 *    /1, 512-byte images) are `fxsave()`/`fxrstor()`, for a CPU that advertises FXSR (bit 24).
 *    FISTTP (DB/DD/DF /1) exists only when `sse3` is set; otherwise those encodings are #UD.
 * 7. A CPU that has found no exception pending (`ferr` false) may take the quick entries instead,
 *    which skip the checks that then pass: `executeRegister()` for a register form other than
 *    FCMOVcc, `loadControlWord()` for FLDCW, and `loadDouble()`/`storeDouble()` for FLD and FST/FSTP
 *    m64real, which run only what converts exactly and return false for execute() to run the rest.
 * Exceptions are values; nothing here throws on guest input.
 *
 * State lives in typed arrays: per physical register `se` (sign and exponent), `hi`/`lo` (the
 * 64-bit significand) and `ctl` (control word, status word without TOP, TOP, the empty-register
 * mask, last instruction/data pointers and opcode). Tags other than empty are derived from the
 * register contents when they are stored, as the processor does.
 */

import type { StateReader, StateWriter } from '../snapshot/state.js';
import {
  BUSY,
  C0,
  C1,
  C2,
  C3,
  CLS_INF,
  CLS_NORMAL,
  CLS_QNAN,
  CLS_SNAN,
  CLS_UNSUPPORTED,
  CLS_ZERO,
  CW_DEFAULT,
  DE,
  ES,
  EXC_MASK,
  IE,
  INDEFINITE_HI,
  INDEFINITE_LO,
  INDEFINITE_SE,
  OE,
  SF,
  TAG_EMPTY,
  TAG_SPECIAL,
  TAG_VALID,
  TAG_ZERO,
  UE,
  ZE,
} from './constants.js';
import {
  R,
  REL_EQ,
  arithStats,
  REL_GT,
  REL_LT,
  add,
  classify,
  compare,
  div,
  extract,
  fromBcd,
  fromFloat32,
  fromFloat64,
  fromInt32,
  fromInt64,
  mul,
  remainder,
  roundToInt,
  scale,
  setMemoryDenormal,
  sqrt,
  toBcd,
  toFloat32,
  toFloat64,
  toInt,
} from './ext80.js';
import {
  loadConstant,
  transcendental,
  TR_F2XM1,
  TR_FCOS,
  TR_FPATAN,
  TR_FPTAN,
  TR_FSIN,
  TR_FSINCOS,
  TR_FYL2X,
  TR_FYL2XP1,
  type X87Vendor,
} from './transcendental.js';

/** What the CPU does after execute(). */
export enum FpuResult {
  Done = 0,
  /** Copy the operand bytes (memAccess size) from the buffer to the destination. */
  Store = 1,
  /** Load AX from fpu.ax. */
  Ax = 2,
  /** Set ZF, PF, CF from fpu.eflags; clear OF, SF, AF. */
  Eflags = 3,
  /** Invalid opcode. */
  Ud = 6,
  /** Floating-point error (#MF, vector 16): raised before the instruction, which did not run. */
  Mf = 16,
  /** CR0.NE = 0 with a pending exception: FERR# asserted, retry after IRQ13. */
  FerrWait = 17,
}

// ctl argument bits.
export const CTL_OPSIZE32 = 0x100;
export const CTL_PROTECTED = 0x200;
export const CTL_NE = 0x400;
export const CTL_IGNNE = 0x800;

const EFL_CF = 0x01;
const EFL_PF = 0x04;
const EFL_ZF = 0x40;

// memAccess() result bits.
export const MEM_READ = 0x1000;
export const MEM_WRITE = 0x2000;
export const MEM_SIZE_MASK = 0x0fff;

// Indices into Fpu.ctl.
export const CTL_CW = 0;
/** Status word without the TOP field. */
export const CTL_SW = 1;
export const CTL_TOP = 2;
/** Bit i set: physical register i is empty. */
export const CTL_EMPTY = 3;
export const CTL_FIP = 4;
export const CTL_FCS = 5;
export const CTL_FDP = 6;
export const CTL_FDS = 7;
export const CTL_FOP = 8;
export const CTL_WORDS = 9;

const NM_VECTOR = 7;
const CR0_MP = 0x2;
const CR0_EM = 0x4;
const CR0_TS = 0x8;

/** #NM check for an escape opcode (D8-DF): vector 7 if CR0.EM or CR0.TS, else -1. */
export function escapeFault(cr0: number): number {
  return (cr0 & (CR0_EM | CR0_TS)) !== 0 ? NM_VECTOR : -1;
}

/** #NM check for WAIT/FWAIT: vector 7 if CR0.MP and CR0.TS, else -1. */
export function waitFault(cr0: number): number {
  return (cr0 & (CR0_MP | CR0_TS)) === (CR0_MP | CR0_TS) ? NM_VECTOR : -1;
}

// Memory operand kinds by (escape << 3 | reg) for mod != 3; sizes in bytes, 0xfff = environment
// (14/28 bytes), 0xffe = full state (94/108 bytes).
const ENV = 0xfff;
const STATE = 0xffe;
const R4 = MEM_READ | 4;
const R8 = MEM_READ | 8;
const R2 = MEM_READ | 2;
const MEM_KIND = new Uint16Array([
  // D8: arithmetic with m32real
  R4, R4, R4, R4, R4, R4, R4, R4,
  // D9: FLD m32, -, FST, FSTP, FLDENV, FLDCW, FNSTENV, FNSTCW
  R4, 0, MEM_WRITE | 4, MEM_WRITE | 4, MEM_READ | ENV, R2, MEM_WRITE | ENV, MEM_WRITE | 2,
  // DA: arithmetic with m32int
  R4, R4, R4, R4, R4, R4, R4, R4,
  // DB: FILD, FISTTP, FIST, FISTP m32int, -, FLD m80, -, FSTP m80
  R4, MEM_WRITE | 4, MEM_WRITE | 4, MEM_WRITE | 4, 0, MEM_READ | 10, 0, MEM_WRITE | 10,
  // DC: arithmetic with m64real
  R8, R8, R8, R8, R8, R8, R8, R8,
  // DD: FLD m64, FISTTP m64, FST m64, FSTP m64, FRSTOR, -, FNSAVE, FNSTSW m16
  R8, MEM_WRITE | 8, MEM_WRITE | 8, MEM_WRITE | 8, MEM_READ | STATE, 0, MEM_WRITE | STATE, MEM_WRITE | 2,
  // DE: arithmetic with m16int
  R2, R2, R2, R2, R2, R2, R2, R2,
  // DF: FILD m16, FISTTP m16, FIST m16, FISTP m16, FBLD, FILD m64, FBSTP, FISTP m64
  R2, MEM_WRITE | 2, MEM_WRITE | 2, MEM_WRITE | 2, MEM_READ | 10, R8, MEM_WRITE | 10, MEM_WRITE | 8,
]); // prettier-ignore

/**
 * Memory operand of an escape instruction: size in bytes (MEM_SIZE_MASK) with MEM_READ or
 * MEM_WRITE, or 0 for register forms and undefined encodings.
 */
export function memAccess(fop: number, opsize32: boolean): number {
  if ((fop & 0xc0) === 0xc0) return 0;
  const k = MEM_KIND[((fop >>> 5) & 0x38) | ((fop >>> 3) & 7)];
  const size = k & MEM_SIZE_MASK;
  if (size === ENV) return (k & ~MEM_SIZE_MASK) | (opsize32 ? 28 : 14);
  if (size === STATE) return (k & ~MEM_SIZE_MASK) | (opsize32 ? 108 : 94);
  return k;
}

/** True for the control instructions that do not check for pending exceptions first. */
function isNonWaiting(fop: number): boolean {
  switch (fop) {
    case 0x3e2: // FNCLEX
    case 0x3e3: // FNINIT
    case 0x3e0: // FNENI (no-op)
    case 0x3e1: // FNDISI (no-op)
    case 0x3e4: // FNSETPM (no-op)
    case 0x7e0: // FNSTSW AX
      return true;
  }
  if ((fop & 0xc0) === 0xc0) return false;
  const g = ((fop >>> 5) & 0x38) | ((fop >>> 3) & 7);
  // FNSTENV, FNSTCW, FNSAVE, FNSTSW m16
  return g === 0x0e || g === 0x0f || g === 0x2e || g === 0x2f;
}

/** Control instructions leave the last instruction/data pointers and opcode alone. */
function isControl(fop: number): boolean {
  if ((fop & 0xc0) === 0xc0)
    return fop === 0x3e2 || fop === 0x3e3 || fop === 0x7e0 || fop === 0x3e0 || fop === 0x3e1 || fop === 0x3e4;
  const g = ((fop >>> 5) & 0x38) | ((fop >>> 3) & 7);
  return g === 0x0c || g === 0x0d || g === 0x0e || g === 0x0f || g === 0x2c || g === 0x2e || g === 0x2f;
}

export class Fpu {
  /** Sign and 15-bit exponent of physical register i. */
  readonly se = new Uint16Array(8);
  /** Significand bits 63..32 of physical register i. */
  readonly hi = new Uint32Array(8);
  /** Significand bits 31..0 of physical register i. */
  readonly lo = new Uint32Array(8);
  readonly ctl = new Uint32Array(CTL_WORDS);
  /** Operand buffer the CPU may use for memory operands (large enough for FXSAVE). */
  readonly scratch = new Uint8Array(512);

  /** Inputs for the current instruction: CS:IP and the memory operand's DS:offset. */
  ip = 0;
  cs = 0;
  dp = 0;
  ds = 0;
  /** Outputs: AX for FNSTSW AX, ZF/PF/CF for FCOMI and friends. */
  ax = 0;
  eflags = 0;
  /** FISTTP exists only with SSE3; without it DB/DD/DF /1 are invalid. */
  sse3 = false;
  /**
   * Whose transcendental microcode FSIN and friends follow (transcendental.ts). The modelled CPU
   * says GenuineIntel in CPUID; the differential tests pick the host's vendor.
   */
  vendor: X87Vendor = 'intel';

  /** The register stack (80-bit values as sign/exponent and two significand words) and control words. */
  saveSnapshotState(w: StateWriter): void {
    w.bytes('se', this.se);
    w.bytes('hi', this.hi);
    w.bytes('lo', this.lo);
    w.bytes('ctl', this.ctl);
    w.flag('sse3', this.sse3);
  }

  loadSnapshotState(r: StateReader): void {
    r.into('se', this.se);
    r.into('hi', this.hi);
    r.into('lo', this.lo);
    r.into('ctl', this.ctl);
    if (this.ctl[CTL_TOP] > 7) throw r.error('ctl', `holds TOP ${this.ctl[CTL_TOP]}`);
    this.sse3 = r.flag('sse3');
  }

  constructor() {
    this.init();
  }

  /** FNINIT. */
  init(): void {
    const c = this.ctl;
    c[CTL_CW] = CW_DEFAULT;
    c[CTL_SW] = 0;
    c[CTL_TOP] = 0;
    c[CTL_EMPTY] = 0xff;
    c[CTL_FIP] = 0;
    c[CTL_FCS] = 0;
    c[CTL_FDP] = 0;
    c[CTL_FDS] = 0;
    c[CTL_FOP] = 0;
  }

  /**
   * Process-wide counts of additions, multiplications and divisions that took the quick path
   * (normal operands, 64-bit precision, round to nearest, result in range) and of those that did not.
   */
  get quickPath(): { readonly fast: number; readonly slow: number } {
    return arithStats;
  }

  /** Level of the FERR# output: an unmasked exception is pending. */
  get ferr(): boolean {
    return (this.ctl[CTL_SW] & ES) !== 0;
  }

  /** The status word as FNSTSW stores it. */
  statusWord(): number {
    return (this.ctl[CTL_SW] & ~0x3800) | (this.ctl[CTL_TOP] << 11);
  }

  controlWord(): number {
    return this.ctl[CTL_CW];
  }

  /** FLDCW: the control word from `word`; unmasking a flagged exception makes it pending (ES). */
  loadControlWord(word: number): void {
    this.ctl[CTL_CW] = (word & 0x1f7f) | 0x40;
    this.updateEs();
  }

  /**
   * A register form (`fop`, ModRM C0-FF) other than FCMOVcc, for a caller that has found no
   * exception pending and set the instruction pointer inputs: execute() without the checks that
   * then pass, and without the context word, which only FCMOVcc reads.
   */
  executeRegister(fop: number): number {
    return this.executeReg(fop, 0);
  }

  /** The full tag word, computed from the register contents. */
  tagWord(): number {
    let tw = 0;
    const empty = this.ctl[CTL_EMPTY];
    for (let p = 0; p < 8; p++) {
      let t: number;
      if ((empty & (1 << p)) !== 0) t = TAG_EMPTY;
      else {
        const cls = classify(this.se[p], this.hi[p], this.lo[p]);
        t = cls === CLS_NORMAL ? TAG_VALID : cls === CLS_ZERO ? TAG_ZERO : TAG_SPECIAL;
      }
      tw |= t << (2 * p);
    }
    return tw;
  }

  /** Physical register of ST(i). */
  phys(i: number): number {
    return (this.ctl[CTL_TOP] + i) & 7;
  }

  isEmpty(i: number): boolean {
    return (this.ctl[CTL_EMPTY] & (1 << this.phys(i))) !== 0;
  }

  /** WAIT/FWAIT: the pending-exception check alone. */
  wait(ctl: number): number {
    if ((this.ctl[CTL_SW] & ES) !== 0 && (ctl & CTL_IGNNE) === 0) {
      return (ctl & CTL_NE) !== 0 ? FpuResult.Mf : FpuResult.FerrWait;
    }
    return FpuResult.Done;
  }

  /** Executes one escape instruction; see the module comment. */
  execute(fop: number, ctl: number, mem: Uint8Array, off: number): number {
    fop &= 0x7ff;
    const c = this.ctl;
    if ((c[CTL_SW] & ES) !== 0 && (ctl & CTL_IGNNE) === 0 && !isNonWaiting(fop)) {
      return (ctl & CTL_NE) !== 0 ? FpuResult.Mf : FpuResult.FerrWait;
    }
    const modrm = fop & 0xff;
    if (modrm >= 0xc0) return this.executeReg(fop, ctl);
    const g = ((fop >>> 5) & 0x38) | ((modrm >>> 3) & 7);
    if (!isControl(fop)) this.recordPointers(fop);
    return this.executeMem(g, ctl, mem, off);
  }

  // -------------------------------------------------------------------------------------------
  // Register helpers

  private setReg(p: number, se: number, hi: number, lo: number): void {
    this.se[p] = se;
    this.hi[p] = hi;
    this.lo[p] = lo;
    this.ctl[CTL_EMPTY] &= ~(1 << p);
  }

  private pop(): void {
    const c = this.ctl;
    c[CTL_EMPTY] |= 1 << c[CTL_TOP];
    c[CTL_TOP] = (c[CTL_TOP] + 1) & 7;
  }

  /**
   * An unmasked invalid-operation, denormal-operand or zero-divide exception stops the
   * instruction before it produces a result: only that exception is recorded and C1 is cleared.
   */
  private aborts(flags: number): boolean {
    const pre = flags & (IE | DE | ZE);
    if ((pre & ~this.ctl[CTL_CW]) === 0) return false;
    this.signal(pre);
    this.setC1(0);
    return true;
  }

  /** Records exception flags; sets ES/B for unmasked ones. Returns the unmasked flags. */
  private signal(flags: number): number {
    const c = this.ctl;
    const unmasked = flags & ~c[CTL_CW] & EXC_MASK;
    c[CTL_SW] |= flags | (unmasked !== 0 ? ES | BUSY : 0);
    return unmasked;
  }

  private setC1(v: number): void {
    const c = this.ctl;
    c[CTL_SW] = v !== 0 ? c[CTL_SW] | C1 : c[CTL_SW] & ~C1;
  }

  /** Stack underflow (an empty operand): IE and SF, C1 = 0. Returns true if IE is masked. */
  private underflow(): boolean {
    this.setC1(0);
    return this.signal(IE | SF) === 0;
  }

  /** Stack overflow on a push: IE and SF, C1 = 1. Returns true if IE is masked. */
  private overflow(): boolean {
    this.signal(IE | SF);
    this.setC1(1);
    return (this.ctl[CTL_CW] & IE) !== 0;
  }

  /** Pushes R (se, hi, lo) with overflow handling. */
  private pushR(): void {
    const c = this.ctl;
    const t = (c[CTL_TOP] - 1) & 7;
    if ((c[CTL_EMPTY] & (1 << t)) === 0) {
      if (!this.overflow()) return;
      c[CTL_TOP] = t;
      this.setReg(t, INDEFINITE_SE, INDEFINITE_HI, INDEFINITE_LO);
      return;
    }
    c[CTL_TOP] = t;
    this.setReg(t, R.se, R.hi, R.lo);
  }

  /**
   * Completes an operation that writes R into physical register p: unmasked IE/DE/ZE suppress
   * the result (and the pop); otherwise the result is stored, C1 gets the round-up bit, and
   * the stack is popped if asked.
   */
  private finish(flags: number, p: number, pop: boolean): void {
    if (this.aborts(flags)) return;
    this.signal(flags);
    this.setReg(p, R.se, R.hi, R.lo);
    this.setC1(R.up);
    if (pop) this.pop();
  }

  // -------------------------------------------------------------------------------------------
  // Arithmetic

  /** dest := dest op other (op: ADD 0, MUL 1, SUB 4, SUBR 5, DIV 6, DIVR 7). */
  private arith(
    op: number,
    p: number,
    aSe: number,
    aH: number,
    aL: number,
    bSe: number,
    bH: number,
    bL: number,
    pre: number,
    pop: boolean,
  ): void {
    const cw = this.ctl[CTL_CW];
    setMemoryDenormal(pre);
    let f: number;
    switch (op) {
      case 0:
        f = add(aSe, aH, aL, bSe, bH, bL, cw, false);
        break;
      case 1:
        f = mul(aSe, aH, aL, bSe, bH, bL, cw);
        break;
      case 4:
        f = add(aSe, aH, aL, bSe, bH, bL, cw, true);
        break;
      case 5:
        f = add(bSe, bH, bL, aSe, aH, aL, cw, true);
        break;
      case 6:
        f = div(aSe, aH, aL, bSe, bH, bL, cw);
        break;
      default:
        f = div(bSe, bH, bL, aSe, aH, aL, cw);
        break;
    }
    setMemoryDenormal(0);
    this.finish(f, p, pop);
  }

  /** Register form: dest = ST(d) and other = ST(o); `rev` swaps SUB/SUBR and DIV/DIVR (DC, DE). */
  private arithReg(op: number, d: number, o: number, pop: boolean): void {
    const pd = this.phys(d);
    const po = this.phys(o);
    const empty = this.ctl[CTL_EMPTY];
    if ((empty & ((1 << pd) | (1 << po))) !== 0) {
      if (this.underflow()) {
        this.setReg(pd, INDEFINITE_SE, INDEFINITE_HI, INDEFINITE_LO);
        if (pop) this.pop();
      }
      return;
    }
    this.arith(op, pd, this.se[pd], this.hi[pd], this.lo[pd], this.se[po], this.hi[po], this.lo[po], 0, pop);
  }

  /** Memory form: ST(0) := ST(0) op m, with m already converted into R (flags from the load). */
  private arithMem(op: number, loadFlags: number): void {
    const p = this.phys(0);
    if ((this.ctl[CTL_EMPTY] & (1 << p)) !== 0) {
      if (this.underflow()) this.setReg(p, INDEFINITE_SE, INDEFINITE_HI, INDEFINITE_LO);
      return;
    }
    this.arith(op, p, this.se[p], this.hi[p], this.lo[p], R.se, R.hi, R.lo, loadFlags, false);
  }

  /** Converts a memory operand for arithmetic or compare into R; SNaNs stay signaling. */
  private loadOperand(kind: number, mem: Uint8Array, off: number): number {
    switch (kind) {
      case 0: {
        // m32real
        const f = fromFloat32(rd32(mem, off));
        if ((f & IE) !== 0) R.hi = (R.hi & ~0x40000000) >>> 0;
        return f & DE;
      }
      case 1:
        fromInt32(rd32(mem, off) | 0);
        return 0;
      case 2: {
        const f = fromFloat64(rd32(mem, off + 4), rd32(mem, off));
        if ((f & IE) !== 0) R.hi = (R.hi & ~0x40000000) >>> 0;
        return f & DE;
      }
      default:
        fromInt32(((mem[off] | (mem[off + 1] << 8)) << 16) >> 16);
        return 0;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Compares

  private setCompareCC(rel: number): void {
    const c = this.ctl;
    let cc: number;
    if (rel === REL_GT) cc = 0;
    else if (rel === REL_LT) cc = C0;
    else if (rel === REL_EQ) cc = C3;
    else cc = C3 | C2 | C0;
    c[CTL_SW] = (c[CTL_SW] & ~(C0 | C1 | C2 | C3)) | cc;
  }

  /** FCOM/FUCOM family on ST(0) and the value in (bSe, bH, bL); pops `pops` times. */
  private compareOp(bSe: number, bH: number, bL: number, quiet: boolean, pops: number, pre: number): void {
    const p = this.phys(0);
    const aSe = this.se[p];
    const aH = this.hi[p];
    const aL = this.lo[p];
    setMemoryDenormal(pre);
    const f = compare(aSe, aH, aL, bSe, bH, bL, quiet);
    setMemoryDenormal(0);
    // The condition codes are set even when the exception is unmasked.
    this.setCompareCC(R.q);
    if (this.aborts(f)) {
      this.setCompareCC(R.q);
      return;
    }
    this.signal(f);
    while (pops-- > 0) this.pop();
  }

  private compareReg(i: number, quiet: boolean, pops: number): void {
    const p0 = this.phys(0);
    const pi = this.phys(i);
    if ((this.ctl[CTL_EMPTY] & ((1 << p0) | (1 << pi))) !== 0) {
      const masked = this.underflow();
      this.setCompareCC(3);
      if (masked) while (pops-- > 0) this.pop();
      return;
    }
    this.compareOp(this.se[pi], this.hi[pi], this.lo[pi], quiet, pops, 0);
  }

  /** FCOMI/FUCOMI(P): result in EFLAGS, set even when the exception is unmasked. */
  private compareEflags(i: number, quiet: boolean, pop: boolean): number {
    const p0 = this.phys(0);
    const pi = this.phys(i);
    if ((this.ctl[CTL_EMPTY] & ((1 << p0) | (1 << pi))) !== 0) {
      this.eflags = EFL_ZF | EFL_PF | EFL_CF;
      if (this.underflow() && pop) this.pop();
      return FpuResult.Eflags;
    }
    const f = compare(this.se[p0], this.hi[p0], this.lo[p0], this.se[pi], this.hi[pi], this.lo[pi], quiet);
    const rel = R.q;
    this.eflags = rel === REL_GT ? 0 : rel === REL_LT ? EFL_CF : rel === REL_EQ ? EFL_ZF : EFL_ZF | EFL_PF | EFL_CF;
    if ((f & (IE | DE) & ~this.ctl[CTL_CW]) !== 0) {
      this.signal(f & (IE | DE));
      return FpuResult.Eflags;
    }
    this.signal(f);
    if (pop) this.pop();
    return FpuResult.Eflags;
  }

  // -------------------------------------------------------------------------------------------
  // Loads and stores

  /** FLD of a converted memory value in R (flags from the conversion). */
  private loadPush(flags: number): void {
    const c = this.ctl;
    const t = (c[CTL_TOP] - 1) & 7;
    if ((c[CTL_EMPTY] & (1 << t)) === 0) {
      // Stack overflow takes precedence over the conversion's own exceptions.
      this.pushR();
      return;
    }
    // An unmasked SNaN stops the load; a denormal (DE) is loaded even when unmasked.
    if (this.aborts(flags & IE)) return;
    this.signal(flags);
    this.setC1(0);
    this.pushR();
  }

  /**
   * FLD m64real (`fop`) of the double in `mem` at `off`, when it is a normal number or a zero and the
   * register it goes to is empty: converting it is then exact and raises nothing, and the push
   * overflows nothing. Returns false, having changed nothing, for anything else (execute() runs it
   * then). The caller has found no exception pending and set the pointer inputs, as for execute().
   */
  loadDouble(fop: number, mem: Uint8Array, off: number): boolean {
    const hi = rd32(mem, off + 4);
    const lo = rd32(mem, off);
    const c = this.ctl;
    const t = (c[CTL_TOP] - 1) & 7;
    const e = (hi >>> 20) & 0x7ff;
    const f = hi & 0xfffff;
    if (e === 0x7ff || (e === 0 && (f | lo) !== 0) || (c[CTL_EMPTY] & (1 << t)) === 0) return false;
    this.recordPointers(fop);
    c[CTL_TOP] = t;
    if (e === 0) {
      this.setReg(t, (hi >>> 16) & 0x8000, 0, 0);
    } else {
      // The 52-bit fraction below the explicit integer bit, the exponent rebiased (1023 to 16383).
      this.setReg(
        t,
        ((hi >>> 16) & 0x8000) | (e + 15360),
        (0x80000000 | (f << 11) | (lo >>> 21)) >>> 0,
        (lo << 11) >>> 0,
      );
    }
    c[CTL_SW] &= ~C1;
    return true;
  }

  /**
   * FST/FSTP m64real (`fop`; `pop` for FSTP) into `mem` at `off`, when ST(0) holds a zero or a normal
   * number that a double holds exactly: the store then rounds nothing and raises nothing. Returns
   * false, having changed nothing, for anything else (execute() runs it then). The caller has found
   * no exception pending, set the pointer inputs, and checked that the operand is writable.
   */
  storeDouble(fop: number, pop: boolean, mem: Uint8Array, off: number): boolean {
    const c = this.ctl;
    const p = c[CTL_TOP];
    if ((c[CTL_EMPTY] & (1 << p)) !== 0) return false;
    const se = this.se[p];
    const hi = this.hi[p];
    const lo = this.lo[p];
    // Rebiased from 16383 to 1023; a double's normal exponents are 1 to 2046.
    const e = (se & 0x7fff) - 15360;
    let outHi: number;
    let outLo: number;
    if ((se & 0x7fff) === 0 && (hi | lo) === 0) {
      outHi = (se & 0x8000) << 16;
      outLo = 0;
    } else if (e >= 1 && e <= 2046 && (hi & 0x80000000) !== 0 && (lo & 0x7ff) === 0) {
      outHi = ((se & 0x8000) << 16) | (e << 20) | ((hi >>> 11) & 0xfffff);
      outLo = (hi << 21) | (lo >>> 11);
    } else {
      return false;
    }
    this.recordPointers(fop);
    wr32(mem, off, outLo);
    wr32(mem, off + 4, outHi);
    c[CTL_SW] &= ~C1;
    if (pop) this.pop();
    return true;
  }

  /** What a non-control instruction leaves as the last instruction and data pointers and opcode. */
  private recordPointers(fop: number): void {
    const c = this.ctl;
    c[CTL_FIP] = this.ip;
    c[CTL_FCS] = this.cs;
    c[CTL_FOP] = fop;
    c[CTL_FDP] = this.dp;
    c[CTL_FDS] = this.ds;
  }

  /** Stores ST(0) to memory through `conv`; returns Store or Done. */
  private storeReal(kind: number, mem: Uint8Array, off: number, pop: boolean): number {
    const p = this.phys(0);
    const cw = this.ctl[CTL_CW];
    if ((this.ctl[CTL_EMPTY] & (1 << p)) !== 0) {
      if (!this.underflow()) return FpuResult.Done;
      // Masked: store the indefinite.
      if (kind === 4) wr32(mem, off, 0xffc00000);
      else if (kind === 8) {
        wr32(mem, off, 0);
        wr32(mem, off + 4, 0xfff80000);
      } else write80(mem, off, INDEFINITE_SE, INDEFINITE_HI, INDEFINITE_LO);
      if (pop) this.pop();
      return FpuResult.Store;
    }
    if (kind === 10) {
      write80(mem, off, this.se[p], this.hi[p], this.lo[p]);
      this.setC1(0);
      if (pop) this.pop();
      return FpuResult.Store;
    }
    const f =
      kind === 4
        ? toFloat32(this.se[p], this.hi[p], this.lo[p], cw)
        : toFloat64(this.se[p], this.hi[p], this.lo[p], cw);
    if (this.aborts(f)) return FpuResult.Done;
    if ((f & (OE | UE) & ~this.ctl[CTL_CW]) !== 0) {
      // Unmasked overflow/underflow on a memory destination: nothing is stored, no rounding.
      this.signal(f & (OE | UE));
      this.setC1(0);
      return FpuResult.Done;
    }
    this.signal(f);
    if (kind === 4) wr32(mem, off, R.lo);
    else {
      wr32(mem, off, R.lo);
      wr32(mem, off + 4, R.hi);
    }
    this.setC1(R.up);
    if (pop) this.pop();
    return FpuResult.Store;
  }

  /** FIST/FISTP/FISTTP to a bits-wide integer. */
  private storeInt(bits: number, mem: Uint8Array, off: number, pop: boolean, truncate: boolean): number {
    const p = this.phys(0);
    if ((this.ctl[CTL_EMPTY] & (1 << p)) !== 0) {
      if (!this.underflow()) return FpuResult.Done;
      R.hi = bits === 64 ? 0x80000000 : 0xffffffff;
      R.lo = bits === 64 ? 0 : bits === 32 ? 0x80000000 : 0xffff8000;
    } else {
      const f = toInt(this.se[p], this.hi[p], this.lo[p], this.ctl[CTL_CW], bits, truncate);
      const unmasked = this.signal(f);
      this.setC1(R.up);
      if ((unmasked & IE) !== 0) return FpuResult.Done;
    }
    if (bits === 16) {
      mem[off] = R.lo & 0xff;
      mem[off + 1] = (R.lo >>> 8) & 0xff;
    } else {
      wr32(mem, off, R.lo);
      if (bits === 64) wr32(mem, off + 4, R.hi);
    }
    if (pop) this.pop();
    return FpuResult.Store;
  }

  private storeBcd(mem: Uint8Array, off: number): number {
    const p = this.phys(0);
    if ((this.ctl[CTL_EMPTY] & (1 << p)) !== 0) {
      if (!this.underflow()) return FpuResult.Done;
      for (let i = 0; i < 7; i++) mem[off + i] = 0;
      mem[off + 7] = 0xc0;
      mem[off + 8] = 0xff;
      mem[off + 9] = 0xff;
      this.pop();
      return FpuResult.Store;
    }
    const f = toBcd(this.se[p], this.hi[p], this.lo[p], this.ctl[CTL_CW], this.scratchBcd, 0);
    const unmasked = this.signal(f);
    this.setC1(R.up);
    if ((unmasked & IE) !== 0) return FpuResult.Done;
    for (let i = 0; i < 10; i++) mem[off + i] = this.scratchBcd[i];
    this.pop();
    return FpuResult.Store;
  }

  private readonly scratchBcd = new Uint8Array(10);

  // -------------------------------------------------------------------------------------------
  // Memory forms

  private executeMem(g: number, ctl: number, mem: Uint8Array, off: number): number {
    const op = g & 7;
    switch (g >>> 3) {
      case 0: // D8 m32real
      case 2: // DA m32int
      case 4: // DC m64real
      case 6: {
        // DE m16int
        const kind = g >>> 4;
        const lf = this.loadOperand(kind, mem, off);
        if (op === 2 || op === 3) {
          const p = this.phys(0);
          if ((this.ctl[CTL_EMPTY] & (1 << p)) !== 0) {
            const masked = this.underflow();
            this.setCompareCC(3);
            if (masked && op === 3) this.pop();
            return FpuResult.Done;
          }
          this.compareOp(R.se, R.hi, R.lo, false, op === 3 ? 1 : 0, lf);
          return FpuResult.Done;
        }
        this.arithMem(op, lf);
        return FpuResult.Done;
      }
      case 1: // D9
        switch (op) {
          case 0:
            this.loadPush(fromFloat32(rd32(mem, off)));
            return FpuResult.Done;
          case 2:
            return this.storeReal(4, mem, off, false);
          case 3:
            return this.storeReal(4, mem, off, true);
          case 4:
            this.loadEnv(mem, off, ctl);
            return FpuResult.Done;
          case 5:
            this.loadControlWord(mem[off] | (mem[off + 1] << 8));
            return FpuResult.Done;
          case 6:
            this.storeEnv(mem, off, ctl);
            this.ctl[CTL_CW] |= EXC_MASK;
            this.updateEs();
            return FpuResult.Store;
          case 7: {
            const cw = this.ctl[CTL_CW];
            mem[off] = cw & 0xff;
            mem[off + 1] = cw >>> 8;
            return FpuResult.Store;
          }
        }
        return FpuResult.Ud;
      case 3: // DB
        switch (op) {
          case 0:
            fromInt32(rd32(mem, off) | 0);
            this.loadPush(0);
            return FpuResult.Done;
          case 1:
            return this.sse3 ? this.storeInt(32, mem, off, true, true) : FpuResult.Ud;
          case 2:
            return this.storeInt(32, mem, off, false, false);
          case 3:
            return this.storeInt(32, mem, off, true, false);
          case 5:
            R.se = mem[off + 8] | (mem[off + 9] << 8);
            R.hi = rd32(mem, off + 4);
            R.lo = rd32(mem, off);
            this.loadPush(0);
            return FpuResult.Done;
          case 7:
            return this.storeReal(10, mem, off, true);
        }
        return FpuResult.Ud;
      case 5: // DD
        switch (op) {
          case 0:
            this.loadPush(fromFloat64(rd32(mem, off + 4), rd32(mem, off)));
            return FpuResult.Done;
          case 1:
            return this.sse3 ? this.storeInt(64, mem, off, true, true) : FpuResult.Ud;
          case 2:
            return this.storeReal(8, mem, off, false);
          case 3:
            return this.storeReal(8, mem, off, true);
          case 4:
            this.restoreState(mem, off, ctl);
            return FpuResult.Done;
          case 6:
            this.saveState(mem, off, ctl);
            return FpuResult.Store;
          case 7: {
            const sw = this.statusWord();
            mem[off] = sw & 0xff;
            mem[off + 1] = sw >>> 8;
            return FpuResult.Store;
          }
        }
        return FpuResult.Ud;
      default: // DF
        switch (op) {
          case 0:
            fromInt32(((mem[off] | (mem[off + 1] << 8)) << 16) >> 16);
            this.loadPush(0);
            return FpuResult.Done;
          case 1:
            return this.sse3 ? this.storeInt(16, mem, off, true, true) : FpuResult.Ud;
          case 2:
            return this.storeInt(16, mem, off, false, false);
          case 3:
            return this.storeInt(16, mem, off, true, false);
          case 4:
            fromBcd(mem, off);
            this.loadPush(0);
            return FpuResult.Done;
          case 5:
            fromInt64(rd32(mem, off + 4), rd32(mem, off));
            this.loadPush(0);
            return FpuResult.Done;
          case 6:
            return this.storeBcd(mem, off);
          default:
            return this.storeInt(64, mem, off, true, false);
        }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Register forms

  private executeReg(fop: number, ctl: number): number {
    const c = this.ctl;
    const i = fop & 7;
    const g = ((fop >>> 5) & 0x38) | ((fop >>> 3) & 7);
    // Control instructions among the register forms: FNCLEX, FNINIT, FNSTSW AX and the no-ops.
    if (fop === 0x3e2) {
      c[CTL_SW] &= ~(EXC_MASK | SF | ES | BUSY);
      return FpuResult.Done;
    }
    if (fop === 0x3e3) {
      this.init();
      return FpuResult.Done;
    }
    if (fop === 0x7e0) {
      this.ax = this.statusWord();
      return FpuResult.Ax;
    }
    if (fop === 0x3e0 || fop === 0x3e1 || fop === 0x3e4) return FpuResult.Done;
    if (!this.validReg(fop)) return FpuResult.Ud;
    c[CTL_FIP] = this.ip;
    c[CTL_FCS] = this.cs;
    c[CTL_FOP] = fop;
    switch (g) {
      // D8: ST(0) := ST(0) op ST(i)
      case 0x00:
      case 0x01:
      case 0x04:
      case 0x05:
      case 0x06:
      case 0x07:
        this.arithReg(g, 0, i, false);
        return FpuResult.Done;
      case 0x02:
        this.compareReg(i, false, 0);
        return FpuResult.Done;
      case 0x03:
        this.compareReg(i, false, 1);
        return FpuResult.Done;
      // D9
      case 0x08:
        this.fldReg(i);
        return FpuResult.Done;
      case 0x09:
        this.fxch(i);
        return FpuResult.Done;
      case 0x0a: // FNOP
        return FpuResult.Done;
      case 0x0b: {
        // D9 D8+i: FSTP without the stack-underflow check: an empty ST(0) is just popped.
        const p0 = this.phys(0);
        if ((c[CTL_EMPTY] & (1 << p0)) === 0) this.setReg(this.phys(i), this.se[p0], this.hi[p0], this.lo[p0]);
        this.setC1(0);
        this.pop();
        return FpuResult.Done;
      }
      case 0x0c:
        this.group4(i);
        return FpuResult.Done;
      case 0x0d:
        this.constant(i);
        return FpuResult.Done;
      case 0x0e:
      case 0x0f:
        this.misc(fop);
        return FpuResult.Done;
      // DA: FCMOVB/E/BE/U, FUCOMPP
      case 0x10:
      case 0x11:
      case 0x12:
      case 0x13:
        this.fcmov(i, (g & 3) | 0, false, ctl);
        return FpuResult.Done;
      case 0x15:
        this.compareReg(1, true, 2);
        return FpuResult.Done;
      // DB: FCMOVNB/NE/NBE/NU, FUCOMI, FCOMI
      case 0x18:
      case 0x19:
      case 0x1a:
      case 0x1b:
        this.fcmov(i, g & 3, true, ctl);
        return FpuResult.Done;
      case 0x1d:
        return this.compareEflags(i, true, false);
      case 0x1e:
        return this.compareEflags(i, false, false);
      // DC: ST(i) := ST(i) op ST(0), SUB/DIV reversed
      case 0x20:
      case 0x21:
        this.arithReg(g & 7, i, 0, false);
        return FpuResult.Done;
      case 0x22: // FCOM2 alias
        this.compareReg(i, false, 0);
        return FpuResult.Done;
      case 0x23: // FCOMP3 alias
        this.compareReg(i, false, 1);
        return FpuResult.Done;
      case 0x24:
      case 0x25:
      case 0x26:
      case 0x27:
        this.arithReg((g & 7) ^ 1, i, 0, false);
        return FpuResult.Done;
      // DD: FFREE, FXCH4 alias, FST, FSTP, FUCOM, FUCOMP
      case 0x28:
        c[CTL_EMPTY] |= 1 << this.phys(i);
        this.setC1(0);
        return FpuResult.Done;
      case 0x29:
        this.fxch(i);
        return FpuResult.Done;
      case 0x2a:
        this.fstReg(i, false);
        return FpuResult.Done;
      case 0x2b:
        this.fstReg(i, true);
        return FpuResult.Done;
      case 0x2c:
        this.compareReg(i, true, 0);
        return FpuResult.Done;
      case 0x2d:
        this.compareReg(i, true, 1);
        return FpuResult.Done;
      // DE: arithmetic and pop, FCOMP5 alias, FCOMPP
      case 0x30:
      case 0x31:
        this.arithReg(g & 7, i, 0, true);
        return FpuResult.Done;
      case 0x32:
        this.compareReg(i, false, 1);
        return FpuResult.Done;
      case 0x33:
        this.compareReg(1, false, 2);
        return FpuResult.Done;
      case 0x34:
      case 0x35:
      case 0x36:
      case 0x37:
        this.arithReg((g & 7) ^ 1, i, 0, true);
        return FpuResult.Done;
      // DF: FFREEP, FXCH7, FSTP8, FSTP9 aliases, FUCOMIP, FCOMIP
      case 0x38:
        c[CTL_EMPTY] |= 1 << this.phys(i);
        this.setC1(0);
        this.pop();
        return FpuResult.Done;
      case 0x39:
        this.fxch(i);
        return FpuResult.Done;
      case 0x3a:
      case 0x3b:
        this.fstReg(i, true);
        return FpuResult.Done;
      case 0x3d:
        return this.compareEflags(i, true, true);
      case 0x3e:
        return this.compareEflags(i, false, true);
    }
    return FpuResult.Ud;
  }

  /** Register-form encodings that exist (the control ones were handled before). */
  private validReg(fop: number): boolean {
    const g = ((fop >>> 5) & 0x38) | ((fop >>> 3) & 7);
    const i = fop & 7;
    switch (g) {
      case 0x0a:
        return i === 0;
      case 0x0c:
        return i === 0 || i === 1 || i === 4 || i === 5;
      case 0x0d:
        return i !== 7;
      case 0x14:
      case 0x16:
      case 0x17:
      case 0x1c:
      case 0x1f:
      case 0x2e:
      case 0x2f:
      case 0x3c:
      case 0x3f:
        return false;
      case 0x15:
      case 0x33:
        return i === 1;
    }
    return true;
  }

  private fldReg(i: number): void {
    const p = this.phys(i);
    if ((this.ctl[CTL_EMPTY] & (1 << p)) !== 0) {
      // An empty source is reported (C1 = 0) even when the push also overflows.
      if (!this.underflow()) return;
      const c = this.ctl;
      c[CTL_TOP] = (c[CTL_TOP] - 1) & 7;
      this.setReg(c[CTL_TOP], INDEFINITE_SE, INDEFINITE_HI, INDEFINITE_LO);
      return;
    } else {
      R.se = this.se[p];
      R.hi = this.hi[p];
      R.lo = this.lo[p];
      this.setC1(0);
    }
    this.pushR();
  }

  private fstReg(i: number, pop: boolean): void {
    const p0 = this.phys(0);
    if ((this.ctl[CTL_EMPTY] & (1 << p0)) !== 0) {
      if (!this.underflow()) return;
      this.setReg(this.phys(i), INDEFINITE_SE, INDEFINITE_HI, INDEFINITE_LO);
    } else {
      this.setReg(this.phys(i), this.se[p0], this.hi[p0], this.lo[p0]);
      this.setC1(0);
    }
    if (pop) this.pop();
  }

  private fxch(i: number): void {
    const p0 = this.phys(0);
    const pi = this.phys(i);
    const empty = this.ctl[CTL_EMPTY];
    if ((empty & ((1 << p0) | (1 << pi))) !== 0) {
      if (!this.underflow()) return;
      if ((empty & (1 << p0)) !== 0) this.setReg(p0, INDEFINITE_SE, INDEFINITE_HI, INDEFINITE_LO);
      if ((empty & (1 << pi)) !== 0) this.setReg(pi, INDEFINITE_SE, INDEFINITE_HI, INDEFINITE_LO);
    } else this.setC1(0);
    const se = this.se[p0];
    const hi = this.hi[p0];
    const lo = this.lo[p0];
    this.setReg(p0, this.se[pi], this.hi[pi], this.lo[pi]);
    this.setReg(pi, se, hi, lo);
  }

  private fcmov(i: number, cond: number, negate: boolean, eflags: number): void {
    let t: boolean;
    switch (cond) {
      case 0:
        t = (eflags & EFL_CF) !== 0;
        break;
      case 1:
        t = (eflags & EFL_ZF) !== 0;
        break;
      case 2:
        t = (eflags & (EFL_CF | EFL_ZF)) !== 0;
        break;
      default:
        t = (eflags & EFL_PF) !== 0;
        break;
    }
    if (negate) t = !t;
    const p0 = this.phys(0);
    const pi = this.phys(i);
    if ((this.ctl[CTL_EMPTY] & ((1 << p0) | (1 << pi))) !== 0) {
      if (!this.underflow()) return;
      this.setReg(p0, INDEFINITE_SE, INDEFINITE_HI, INDEFINITE_LO);
      return;
    }
    if (t) this.setReg(p0, this.se[pi], this.hi[pi], this.lo[pi]);
  }

  /** D9 E0-E7: FCHS, FABS, FTST, FXAM. */
  private group4(i: number): void {
    const p = this.phys(0);
    const empty = (this.ctl[CTL_EMPTY] & (1 << p)) !== 0;
    if (i === 5) {
      // FXAM never raises; C1 is the sign.
      const c = this.ctl;
      const se = this.se[p];
      let cc: number;
      if (empty) cc = C3 | C0;
      else {
        switch (classify(se, this.hi[p], this.lo[p])) {
          case CLS_UNSUPPORTED:
            cc = 0;
            break;
          case CLS_QNAN:
          case CLS_SNAN:
            cc = C0;
            break;
          case CLS_NORMAL:
            cc = C2;
            break;
          case CLS_INF:
            cc = C2 | C0;
            break;
          case CLS_ZERO:
            cc = C3;
            break;
          default:
            cc = C3 | C2;
            break;
        }
      }
      if ((se & 0x8000) !== 0) cc |= C1;
      c[CTL_SW] = (c[CTL_SW] & ~(C0 | C1 | C2 | C3)) | cc;
      return;
    }
    if (empty) {
      const masked = this.underflow();
      if (i === 4) this.setCompareCC(3);
      else if (masked) this.setReg(p, INDEFINITE_SE, INDEFINITE_HI, INDEFINITE_LO);
      return;
    }
    if (i === 0) {
      this.se[p] ^= 0x8000;
      this.setC1(0);
    } else if (i === 1) {
      this.se[p] &= 0x7fff;
      this.setC1(0);
    } else {
      this.compareOp(0, 0, 0, false, 0, 0);
    }
  }

  /** D9 E8-EE: constants, rounded per the rounding control. */
  private constant(i: number): void {
    loadConstant(i, this.ctl[CTL_CW]);
    this.setC1(0);
    this.pushR();
  }

  private misc(fop: number): void {
    const c = this.ctl;
    switch (fop & 0xff) {
      case 0xf6: // FDECSTP
        c[CTL_TOP] = (c[CTL_TOP] - 1) & 7;
        this.setC1(0);
        return;
      case 0xf7: // FINCSTP
        c[CTL_TOP] = (c[CTL_TOP] + 1) & 7;
        this.setC1(0);
        return;
      case 0xf4:
        this.fxtract();
        return;
      case 0xf5:
        this.fprem(true);
        return;
      case 0xf8:
        this.fprem(false);
        return;
      case 0xfa:
        this.unary(sqrt);
        return;
      case 0xfc:
        this.unary(roundToInt);
        return;
      case 0xfd:
        this.fscale();
        return;
      case 0xf0:
        this.trans1(TR_F2XM1);
        return;
      case 0xfe:
        this.trans1(TR_FSIN);
        return;
      case 0xff:
        this.trans1(TR_FCOS);
        return;
      case 0xf2:
        this.transPush(TR_FPTAN);
        return;
      case 0xfb:
        this.transPush(TR_FSINCOS);
        return;
      case 0xf1:
        this.trans2(TR_FYL2X);
        return;
      case 0xf9:
        this.trans2(TR_FYL2XP1);
        return;
      case 0xf3:
        this.trans2(TR_FPATAN);
        return;
    }
  }

  private unary(fn: (se: number, hi: number, lo: number, cw: number) => number): void {
    const p = this.phys(0);
    if ((this.ctl[CTL_EMPTY] & (1 << p)) !== 0) {
      if (this.underflow()) this.setReg(p, INDEFINITE_SE, INDEFINITE_HI, INDEFINITE_LO);
      return;
    }
    this.finish(fn(this.se[p], this.hi[p], this.lo[p], this.ctl[CTL_CW]), p, false);
  }

  private fscale(): void {
    const p0 = this.phys(0);
    const p1 = this.phys(1);
    if ((this.ctl[CTL_EMPTY] & ((1 << p0) | (1 << p1))) !== 0) {
      if (this.underflow()) this.setReg(p0, INDEFINITE_SE, INDEFINITE_HI, INDEFINITE_LO);
      return;
    }
    const f = scale(this.se[p0], this.hi[p0], this.lo[p0], this.se[p1], this.hi[p1], this.lo[p1], this.ctl[CTL_CW]);
    this.finish(f, p0, false);
  }

  private fprem(ieee: boolean): void {
    const c = this.ctl;
    const p0 = this.phys(0);
    const p1 = this.phys(1);
    if ((c[CTL_EMPTY] & ((1 << p0) | (1 << p1))) !== 0) {
      const masked = this.underflow();
      c[CTL_SW] &= ~C2;
      if (masked) this.setReg(p0, INDEFINITE_SE, INDEFINITE_HI, INDEFINITE_LO);
      return;
    }
    const f = remainder(this.se[p0], this.hi[p0], this.lo[p0], this.se[p1], this.hi[p1], this.lo[p1], c[CTL_CW], ieee);
    if (this.aborts(f)) {
      c[CTL_SW] &= ~C2;
      return;
    }
    this.signal(f);
    this.setReg(p0, R.se, R.hi, R.lo);
    if ((R.se & 0x7fff) === 0x7fff && (R.hi & 0x40000000) !== 0) {
      // A NaN result leaves C0 and C3 alone.
      c[CTL_SW] &= ~(C1 | C2);
      return;
    }
    let sw = c[CTL_SW] & ~(C0 | C1 | C2 | C3);
    if (R.up !== 0) sw |= C2;
    else {
      const q = R.q;
      if ((q & 4) !== 0) sw |= C0;
      if ((q & 2) !== 0) sw |= C3;
      if ((q & 1) !== 0) sw |= C1;
    }
    c[CTL_SW] = sw;
  }

  private fxtract(): void {
    const c = this.ctl;
    const p0 = this.phys(0);
    const t = (c[CTL_TOP] - 1) & 7;
    if ((c[CTL_EMPTY] & (1 << p0)) !== 0) {
      if (!this.underflow()) return;
      this.setReg(p0, INDEFINITE_SE, INDEFINITE_HI, INDEFINITE_LO);
      c[CTL_TOP] = t;
      this.setReg(t, INDEFINITE_SE, INDEFINITE_HI, INDEFINITE_LO);
      return;
    }
    if ((c[CTL_EMPTY] & (1 << t)) === 0) {
      if (!this.overflow()) return;
      this.setReg(p0, INDEFINITE_SE, INDEFINITE_HI, INDEFINITE_LO);
      c[CTL_TOP] = t;
      this.setReg(t, INDEFINITE_SE, INDEFINITE_HI, INDEFINITE_LO);
      return;
    }
    const f = extract(this.se[p0], this.hi[p0], this.lo[p0]);
    if (this.aborts(f)) return;
    this.signal(f);
    this.setC1(0);
    this.setReg(p0, R.se, R.hi, R.lo);
    c[CTL_TOP] = t;
    this.setReg(t, R.se2, R.hi2, R.lo2);
  }

  private trans1(kind: number): void {
    const c = this.ctl;
    const p = this.phys(0);
    // FSIN and FCOS report an out-of-range operand in C2 and clear it otherwise.
    if (kind !== TR_F2XM1) c[CTL_SW] &= ~C2;
    if ((c[CTL_EMPTY] & (1 << p)) !== 0) {
      if (this.underflow()) this.setReg(p, INDEFINITE_SE, INDEFINITE_HI, INDEFINITE_LO);
      return;
    }
    const f = transcendental(kind, this.se[p], this.hi[p], this.lo[p], 0, 0, 0, c[CTL_CW], this.vendor);
    if (this.aborts(f)) return;
    this.signal(f);
    // FSIN/FCOS: C2 = 1 leaves an out-of-range operand unchanged.
    if (R.q !== 0) {
      c[CTL_SW] = (c[CTL_SW] | C2) & ~C1;
      return;
    }
    this.setReg(p, R.se, R.hi, R.lo);
    this.setC1(R.up);
  }

  /** FPTAN and FSINCOS: ST(0) := first result, then push the second. */
  private transPush(kind: number): void {
    const c = this.ctl;
    c[CTL_SW] &= ~C2;
    const p0 = this.phys(0);
    const t = (c[CTL_TOP] - 1) & 7;
    if ((c[CTL_EMPTY] & (1 << p0)) !== 0) {
      if (!this.underflow()) return;
      this.setReg(p0, INDEFINITE_SE, INDEFINITE_HI, INDEFINITE_LO);
      c[CTL_TOP] = t;
      this.setReg(t, INDEFINITE_SE, INDEFINITE_HI, INDEFINITE_LO);
      return;
    }
    if ((c[CTL_EMPTY] & (1 << t)) === 0) {
      if (!this.overflow()) return;
      this.setReg(p0, INDEFINITE_SE, INDEFINITE_HI, INDEFINITE_LO);
      c[CTL_TOP] = t;
      this.setReg(t, INDEFINITE_SE, INDEFINITE_HI, INDEFINITE_LO);
      return;
    }
    const f = transcendental(kind, this.se[p0], this.hi[p0], this.lo[p0], 0, 0, 0, c[CTL_CW], this.vendor);
    if (this.aborts(f)) return;
    this.signal(f);
    if (R.q !== 0) {
      c[CTL_SW] = (c[CTL_SW] | C2) & ~C1;
      return;
    }
    c[CTL_SW] &= ~C2;
    this.setC1(R.up);
    this.setReg(p0, R.se, R.hi, R.lo);
    c[CTL_TOP] = t;
    this.setReg(t, R.se2, R.hi2, R.lo2);
  }

  /** FYL2X, FYL2XP1, FPATAN: ST(1) := f(ST(1), ST(0)), pop. */
  private trans2(kind: number): void {
    const c = this.ctl;
    const p0 = this.phys(0);
    const p1 = this.phys(1);
    if ((c[CTL_EMPTY] & ((1 << p0) | (1 << p1))) !== 0) {
      if (this.underflow()) {
        this.setReg(p1, INDEFINITE_SE, INDEFINITE_HI, INDEFINITE_LO);
        this.pop();
      }
      return;
    }
    const f = transcendental(
      kind,
      this.se[p0],
      this.hi[p0],
      this.lo[p0],
      this.se[p1],
      this.hi[p1],
      this.lo[p1],
      c[CTL_CW],
      this.vendor,
    );
    this.finish(f, p1, true);
  }

  private updateEs(): void {
    const c = this.ctl;
    if ((c[CTL_SW] & ~c[CTL_CW] & EXC_MASK) !== 0) c[CTL_SW] |= ES | BUSY;
    else c[CTL_SW] &= ~(ES | BUSY);
  }

  // -------------------------------------------------------------------------------------------
  // Environment and state images (SDM vol. 1, figures 8-9 to 8-12)

  /** FNSTENV layout for the given context; returns the size written. */
  storeEnv(mem: Uint8Array, off: number, ctl: number): number {
    const c = this.ctl;
    const cw = c[CTL_CW];
    const sw = this.statusWord();
    const tw = this.tagWord();
    const prot = (ctl & CTL_PROTECTED) !== 0;
    if ((ctl & CTL_OPSIZE32) !== 0) {
      wr32(mem, off, 0xffff0000 | cw);
      wr32(mem, off + 4, 0xffff0000 | sw);
      wr32(mem, off + 8, 0xffff0000 | tw);
      if (prot) {
        wr32(mem, off + 12, c[CTL_FIP]);
        wr32(mem, off + 16, (c[CTL_FCS] & 0xffff) | ((c[CTL_FOP] & 0x7ff) << 16));
        wr32(mem, off + 20, c[CTL_FDP]);
        wr32(mem, off + 24, 0xffff0000 | (c[CTL_FDS] & 0xffff));
      } else {
        const fip = c[CTL_FIP];
        const fdp = c[CTL_FDP];
        wr32(mem, off + 12, 0xffff0000 | (fip & 0xffff));
        wr32(mem, off + 16, ((fip >>> 16) << 12) | (c[CTL_FOP] & 0x7ff));
        wr32(mem, off + 20, 0xffff0000 | (fdp & 0xffff));
        wr32(mem, off + 24, (fdp >>> 16) << 12);
      }
      return 28;
    }
    wr16(mem, off, cw);
    wr16(mem, off + 2, sw);
    wr16(mem, off + 4, tw);
    if (prot) {
      wr16(mem, off + 6, c[CTL_FIP]);
      wr16(mem, off + 8, c[CTL_FCS]);
      wr16(mem, off + 10, c[CTL_FDP]);
      wr16(mem, off + 12, c[CTL_FDS]);
    } else {
      const fip = c[CTL_FIP];
      const fdp = c[CTL_FDP];
      wr16(mem, off + 6, fip);
      wr16(mem, off + 8, (((fip >>> 16) & 0xf) << 12) | (c[CTL_FOP] & 0x7ff));
      wr16(mem, off + 10, fdp);
      wr16(mem, off + 12, ((fdp >>> 16) & 0xf) << 12);
    }
    return 14;
  }

  /** FLDENV; returns the size read. */
  loadEnv(mem: Uint8Array, off: number, ctl: number): number {
    const c = this.ctl;
    const prot = (ctl & CTL_PROTECTED) !== 0;
    let cw: number;
    let sw: number;
    let tw: number;
    let size: number;
    if ((ctl & CTL_OPSIZE32) !== 0) {
      cw = rd16(mem, off);
      sw = rd16(mem, off + 4);
      tw = rd16(mem, off + 8);
      if (prot) {
        c[CTL_FIP] = rd32(mem, off + 12);
        const w = rd32(mem, off + 16);
        c[CTL_FCS] = w & 0xffff;
        c[CTL_FOP] = (w >>> 16) & 0x7ff;
        c[CTL_FDP] = rd32(mem, off + 20);
        c[CTL_FDS] = rd16(mem, off + 24);
      } else {
        const w = rd32(mem, off + 16);
        c[CTL_FIP] = (rd16(mem, off + 12) | (((w >>> 12) & 0xffff) << 16)) >>> 0;
        c[CTL_FOP] = w & 0x7ff;
        c[CTL_FDP] = (rd16(mem, off + 20) | (((rd32(mem, off + 24) >>> 12) & 0xffff) << 16)) >>> 0;
        c[CTL_FCS] = 0;
        c[CTL_FDS] = 0;
      }
      size = 28;
    } else {
      cw = rd16(mem, off);
      sw = rd16(mem, off + 2);
      tw = rd16(mem, off + 4);
      if (prot) {
        // This layout has no opcode field: it loads as zero.
        c[CTL_FIP] = rd16(mem, off + 6);
        c[CTL_FCS] = rd16(mem, off + 8);
        c[CTL_FDP] = rd16(mem, off + 10);
        c[CTL_FDS] = rd16(mem, off + 12);
        c[CTL_FOP] = 0;
      } else {
        const w = rd16(mem, off + 8);
        c[CTL_FIP] = rd16(mem, off + 6) | ((w >>> 12) << 16);
        c[CTL_FOP] = w & 0x7ff;
        c[CTL_FDP] = rd16(mem, off + 10) | ((rd16(mem, off + 12) >>> 12) << 16);
        c[CTL_FCS] = 0;
        c[CTL_FDS] = 0;
      }
      size = 14;
    }
    c[CTL_CW] = (cw & 0x1f7f) | 0x40;
    c[CTL_TOP] = (sw >>> 11) & 7;
    c[CTL_SW] = sw & ~0x3800;
    let empty = 0;
    for (let p = 0; p < 8; p++) if (((tw >>> (2 * p)) & 3) === TAG_EMPTY) empty |= 1 << p;
    c[CTL_EMPTY] = empty;
    this.updateEs();
    return size;
  }

  /** FNSAVE: environment, then ST(0)..ST(7); then the FPU is reinitialized. */
  saveState(mem: Uint8Array, off: number, ctl: number): number {
    let o = off + this.storeEnv(mem, off, ctl);
    for (let i = 0; i < 8; i++, o += 10) {
      const p = this.phys(i);
      write80(mem, o, this.se[p], this.hi[p], this.lo[p]);
    }
    this.init();
    return o - off;
  }

  /** FRSTOR. */
  restoreState(mem: Uint8Array, off: number, ctl: number): number {
    let o = off + this.loadEnv(mem, off, ctl);
    for (let i = 0; i < 8; i++, o += 10) {
      const p = this.phys(i);
      this.se[p] = rd16(mem, o + 8);
      this.hi[p] = rd32(mem, o + 4);
      this.lo[p] = rd32(mem, o);
    }
    return o - off;
  }

  /** FXSAVE image (512 bytes, x87 part) at `off`. */
  fxsave(mem: Uint8Array, off: number): void {
    const c = this.ctl;
    for (let i = 0; i < 512; i++) mem[off + i] = 0;
    wr16(mem, off, c[CTL_CW]);
    wr16(mem, off + 2, this.statusWord());
    mem[off + 4] = ~c[CTL_EMPTY] & 0xff;
    wr16(mem, off + 6, c[CTL_FOP]);
    wr32(mem, off + 8, c[CTL_FIP]);
    wr16(mem, off + 12, c[CTL_FCS]);
    wr32(mem, off + 16, c[CTL_FDP]);
    wr16(mem, off + 20, c[CTL_FDS]);
    for (let i = 0; i < 8; i++) {
      const p = this.phys(i);
      write80(mem, off + 32 + 16 * i, this.se[p], this.hi[p], this.lo[p]);
    }
  }

  /** FXRSTOR of the x87 part of an image. */
  fxrstor(mem: Uint8Array, off: number): void {
    const c = this.ctl;
    c[CTL_CW] = (rd16(mem, off) & 0x1f7f) | 0x40;
    const sw = rd16(mem, off + 2);
    c[CTL_TOP] = (sw >>> 11) & 7;
    c[CTL_SW] = sw & ~0x3800;
    c[CTL_EMPTY] = ~mem[off + 4] & 0xff;
    c[CTL_FOP] = rd16(mem, off + 6) & 0x7ff;
    c[CTL_FIP] = rd32(mem, off + 8);
    c[CTL_FCS] = rd16(mem, off + 12);
    c[CTL_FDP] = rd32(mem, off + 16);
    c[CTL_FDS] = rd16(mem, off + 20);
    for (let i = 0; i < 8; i++) {
      const p = this.phys(i);
      const o = off + 32 + 16 * i;
      this.se[p] = rd16(mem, o + 8);
      this.hi[p] = rd32(mem, o + 4);
      this.lo[p] = rd32(mem, o);
    }
    this.updateEs();
  }
}

function rd16(m: Uint8Array, o: number): number {
  return m[o] | (m[o + 1] << 8);
}

function rd32(m: Uint8Array, o: number): number {
  return (m[o] | (m[o + 1] << 8) | (m[o + 2] << 16) | (m[o + 3] << 24)) >>> 0;
}

function wr16(m: Uint8Array, o: number, v: number): void {
  m[o] = v & 0xff;
  m[o + 1] = (v >>> 8) & 0xff;
}

function wr32(m: Uint8Array, o: number, v: number): void {
  m[o] = v & 0xff;
  m[o + 1] = (v >>> 8) & 0xff;
  m[o + 2] = (v >>> 16) & 0xff;
  m[o + 3] = (v >>> 24) & 0xff;
}

function write80(m: Uint8Array, o: number, se: number, hi: number, lo: number): void {
  wr32(m, o, lo);
  wr32(m, o + 4, hi);
  wr16(m, o + 8, se);
}
