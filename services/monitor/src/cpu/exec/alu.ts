/**
 * Integer arithmetic with the flags an i686 produces. Sizes are 8, 16 or 32; 8/16-bit values are
 * non-negative, 32-bit values are int32 bit patterns. Where the SDM leaves a flag undefined, the
 * choice is noted.
 */

import { ST_FLAGS, type Cpu } from '../cpu.js';
import { CPU_FAULT, Vector } from '../fault.js';
import { LazyKind, lazyWord, PARITY } from '../flags.js';
import { Flag } from '../registers.js';

/** The eight group-1 operations in ModRM.reg order. */
export const enum AluOp {
  ADD = 0,
  OR = 1,
  ADC = 2,
  SBB = 3,
  AND = 4,
  SUB = 5,
  XOR = 6,
  CMP = 7,
}

export function sizeMask(size: number): number {
  return size === 32 ? -1 : (1 << size) - 1;
}

const LZ_ADD = [0, lazyWord(LazyKind.ADD, 8), lazyWord(LazyKind.ADD, 16), 0, lazyWord(LazyKind.ADD, 32)];
const LZ_ADC = [0, lazyWord(LazyKind.ADC, 8), lazyWord(LazyKind.ADC, 16), 0, lazyWord(LazyKind.ADC, 32)];
const LZ_SUB = [0, lazyWord(LazyKind.SUB, 8), lazyWord(LazyKind.SUB, 16), 0, lazyWord(LazyKind.SUB, 32)];
const LZ_SBB = [0, lazyWord(LazyKind.SBB, 8), lazyWord(LazyKind.SBB, 16), 0, lazyWord(LazyKind.SBB, 32)];
const LZ_LOGIC = [0, lazyWord(LazyKind.LOGIC, 8), lazyWord(LazyKind.LOGIC, 16), 0, lazyWord(LazyKind.LOGIC, 32)];
const LZ_INC = [
  0,
  lazyWord(LazyKind.ADD, 8, true),
  lazyWord(LazyKind.ADD, 16, true),
  0,
  lazyWord(LazyKind.ADD, 32, true),
];
const LZ_DEC = [
  0,
  lazyWord(LazyKind.SUB, 8, true),
  lazyWord(LazyKind.SUB, 16, true),
  0,
  lazyWord(LazyKind.SUB, 32, true),
];
const LZ_RESULT = [0, lazyWord(LazyKind.RESULT, 8), lazyWord(LazyKind.RESULT, 16), 0, lazyWord(LazyKind.RESULT, 32)];

/** Applies a group-1 operation and sets the flags; returns the result (CMP returns it too, unstored). */
export function alu(cpu: Cpu, op: number, size: number, a: number, b: number): number {
  const mask = sizeMask(size);
  const s = size >>> 3;
  let r: number;
  switch (op) {
    case AluOp.ADD:
      r = (a + b) & mask;
      cpu.setLazy(LZ_ADD[s], r, a, b);
      return r;
    case AluOp.OR:
      r = (a | b) & mask;
      cpu.setLazy(LZ_LOGIC[s], r, 0, 0);
      return r;
    case AluOp.ADC:
      if (cpu.getCf() !== 0) {
        r = (a + b + 1) & mask;
        cpu.setLazy(LZ_ADC[s], r, a, b);
      } else {
        r = (a + b) & mask;
        cpu.setLazy(LZ_ADD[s], r, a, b);
      }
      return r;
    case AluOp.SBB:
      if (cpu.getCf() !== 0) {
        r = (a - b - 1) & mask;
        cpu.setLazy(LZ_SBB[s], r, a, b);
      } else {
        r = (a - b) & mask;
        cpu.setLazy(LZ_SUB[s], r, a, b);
      }
      return r;
    case AluOp.AND:
      r = a & b & mask;
      cpu.setLazy(LZ_LOGIC[s], r, 0, 0);
      return r;
    case AluOp.XOR:
      r = (a ^ b) & mask;
      cpu.setLazy(LZ_LOGIC[s], r, 0, 0);
      return r;
    default:
      r = (a - b) & mask;
      cpu.setLazy(LZ_SUB[s], r, a, b);
      return r;
  }
}

export function inc(cpu: Cpu, size: number, a: number): number {
  const r = (a + 1) & sizeMask(size);
  cpu.setLazyKeepCf(LZ_INC[size >>> 3], r, a, 1);
  return r;
}

export function dec(cpu: Cpu, size: number, a: number): number {
  const r = (a - 1) & sizeMask(size);
  cpu.setLazyKeepCf(LZ_DEC[size >>> 3], r, a, 1);
  return r;
}

export function neg(cpu: Cpu, size: number, a: number): number {
  const r = -a & sizeMask(size);
  cpu.setLazy(LZ_SUB[size >>> 3], r, 0, a);
  return r;
}

/** Records a result whose SF/ZF/PF follow from it, with the other status flags given explicitly. */
export function setResultFlags(cpu: Cpu, size: number, r: number, cf: number, of: boolean, af = false): void {
  // All six status flags get new values (CF, OF, AF here, SF, ZF, PF lazily), so the old lazy
  // state need not be evaluated first.
  const st = cpu.st;
  st[ST_FLAGS] = (st[ST_FLAGS] & ~(Flag.CF | Flag.OF | Flag.AF)) | (cf & 1) | (of ? Flag.OF : 0) | (af ? Flag.AF : 0);
  cpu.setLazy(LZ_RESULT[size >>> 3], r, 0, 0);
}

// ---- shifts and rotates (group 2, ModRM.reg order) ----

export const enum ShiftOp {
  ROL = 0,
  ROR = 1,
  RCL = 2,
  RCR = 3,
  SHL = 4,
  SHR = 5,
  SAL = 6,
  SAR = 7,
}

/**
 * Shift or rotate `a` by `count` (already the raw count; masked to 5 bits here). A masked count of
 * zero changes nothing, flags included. For counts above one, OF follows the count-1 formula applied
 * to the result (undefined in the SDM); AF is cleared for shifts.
 */
export function shift(cpu: Cpu, op: number, size: number, a: number, count: number): number {
  count &= 0x1f;
  if (count === 0) return a;
  const mask = sizeMask(size);
  const top = size - 1;
  let r: number;
  let cf: number;
  switch (op) {
    case ShiftOp.ROL: {
      const n = count & top;
      r = n === 0 ? a : ((a << n) | ((a & mask) >>> (size - n))) & mask;
      cf = r & 1;
      cpu.setFlagBits(Flag.CF | Flag.OF, cf | (((r >>> top) & 1) ^ cf ? Flag.OF : 0));
      return r;
    }
    case ShiftOp.ROR: {
      const n = count & top;
      r = n === 0 ? a : (((a & mask) >>> n) | (a << (size - n))) & mask;
      cf = (r >>> top) & 1;
      cpu.setFlagBits(Flag.CF | Flag.OF, cf | (cf ^ ((r >>> (top - 1)) & 1) ? Flag.OF : 0));
      return r;
    }
    case ShiftOp.RCL: {
      const n = size === 32 ? count : count % (size + 1);
      if (n === 0) return a;
      let c = cpu.getCf();
      r = a & mask;
      for (let i = 0; i < n; i++) {
        const out = (r >>> top) & 1;
        r = ((r << 1) | c) & mask;
        c = out;
      }
      cpu.setFlagBits(Flag.CF | Flag.OF, c | (((r >>> top) & 1) ^ c ? Flag.OF : 0));
      return r;
    }
    case ShiftOp.RCR: {
      const n = size === 32 ? count : count % (size + 1);
      if (n === 0) return a;
      let c = cpu.getCf();
      r = a & mask;
      for (let i = 0; i < n; i++) {
        const out = r & 1;
        r = ((r >>> 1) | (c << top)) & mask;
        c = out;
      }
      cpu.setFlagBits(Flag.CF | Flag.OF, c | (((r >>> top) ^ (r >>> (top - 1))) & 1 ? Flag.OF : 0));
      return r;
    }
    case ShiftOp.SHL:
    case ShiftOp.SAL:
      if (count < size) {
        r = (a << count) & mask;
        cf = (a >>> (size - count)) & 1;
      } else {
        r = 0;
        cf = count === size ? a & 1 : 0;
      }
      setResultFlags(cpu, size, r, cf, ((r >>> top) & 1) !== cf);
      return r;
    case ShiftOp.SHR:
      if (count < size) {
        r = ((a & mask) >>> count) & mask;
        cf = ((a & mask) >>> (count - 1)) & 1;
      } else {
        r = 0;
        cf = count === size ? (a >>> top) & 1 : 0;
      }
      setResultFlags(cpu, size, r, cf, (((r << 1) ^ r) >>> top) & 1 ? true : false);
      return r;
    default: {
      // SAR
      const signed = (a << (32 - size)) >> (32 - size);
      if (count < size) {
        r = (signed >> count) & mask;
        cf = (signed >> (count - 1)) & 1;
      } else {
        r = (signed >> 31) & mask;
        cf = signed < 0 ? 1 : 0;
      }
      setResultFlags(cpu, size, r, cf, false);
      return r;
    }
  }
}

/**
 * SHLD/SHRD: shifts `a` by `count` (masked to 5 bits) filling from `b`. For 16-bit operands a count
 * above 16 is undefined in the SDM; like a P6 we shift through dest:src:dest.
 */
export function doubleShift(cpu: Cpu, left: boolean, size: number, a: number, b: number, count: number): number {
  count &= 0x1f;
  if (count === 0) return a;
  let r: number;
  let cf: number;
  if (size === 16) {
    a &= 0xffff;
    b &= 0xffff;
    if (count <= 16) {
      if (left) {
        r = ((a << count) | (b >>> (16 - count))) & 0xffff;
        cf = (a >>> (16 - count)) & 1;
      } else {
        r = ((a >>> count) | (b << (16 - count))) & 0xffff;
        cf = (a >>> (count - 1)) & 1;
      }
    } else {
      const c = count - 16;
      if (left) {
        r = ((b << c) | (a >>> (16 - c))) & 0xffff;
        cf = (b >>> (16 - c)) & 1;
      } else {
        r = ((b >>> c) | (a << (16 - c))) & 0xffff;
        cf = (b >>> (c - 1)) & 1;
      }
    }
  } else if (left) {
    r = (a << count) | (b >>> (32 - count));
    cf = (a >>> (32 - count)) & 1;
  } else {
    r = (a >>> count) | (b << (32 - count));
    cf = (a >>> (count - 1)) & 1;
  }
  setResultFlags(cpu, size, r, cf, (((r ^ a) >>> (size - 1)) & 1) !== 0);
  return r;
}

// ---- multiply and divide ----

/** High half of the last 32x32 multiply (set by mul32/imul32). */
let mulHigh = 0;

export function lastMulHigh(): number {
  return mulHigh;
}

/** Unsigned 32x32 -> 64 multiply: returns the low half, the high half in lastMulHigh(). */
export function mul32(a: number, b: number): number {
  const al = a & 0xffff;
  const ah = a >>> 16;
  const bl = b & 0xffff;
  const bh = b >>> 16;
  const lo = al * bl;
  const m1 = ah * bl;
  const m2 = al * bh;
  const mid = (lo >>> 16) + (m1 & 0xffff) + (m2 & 0xffff);
  mulHigh = (ah * bh + (m1 >>> 16) + (m2 >>> 16) + (mid >>> 16)) | 0;
  return Math.imul(a, b);
}

/** Signed 32x32 -> 64 multiply: returns the low half, the high half in lastMulHigh(). */
export function imul32(a: number, b: number): number {
  const lo = mul32(a, b);
  let hi = mulHigh;
  if (a < 0) hi = (hi - b) | 0;
  if (b < 0) hi = (hi - a) | 0;
  mulHigh = hi;
  return lo;
}

/**
 * Flags after MUL/IMUL: CF = OF = the high half is significant. SF, ZF and PF follow the low
 * result and AF is cleared (undefined in the SDM).
 */
export function setMulFlags(cpu: Cpu, size: number, low: number, overflow: boolean): void {
  setResultFlags(cpu, size, low & sizeMask(size), overflow ? 1 : 0, overflow);
}

/** Raises #DE. */
export function divideError(cpu: Cpu): never {
  cpu.faultVector = Vector.DE;
  cpu.faultCode = 0;
  cpu.faultHasCode = false;
  throw CPU_FAULT;
}

/** Remainder of the last divide. */
let divRemainder = 0;

export function lastRemainder(): number {
  return divRemainder;
}

/**
 * Unsigned 64/32 divide of hi:lo by d (all as uint32 values in doubles), hi < d assumed.
 * Returns the quotient; the remainder goes to lastRemainder().
 */
function udiv64(hi: number, lo: number, d: number): number {
  if (hi === 0) {
    const q = Math.floor(lo / d);
    divRemainder = lo - q * d;
    return q;
  }
  let r = hi;
  let cur = r * 65536 + (lo >>> 16);
  const qh = Math.floor(cur / d);
  r = cur - qh * d;
  cur = r * 65536 + (lo & 0xffff);
  const ql = Math.floor(cur / d);
  divRemainder = cur - ql * d;
  return qh * 65536 + ql;
}

/** DIV r/m32: EDX:EAX / d. Returns the quotient (int32); #DE on zero or overflow. */
export function div32(cpu: Cpu, hi: number, lo: number, d: number): number {
  const ud = d >>> 0;
  const uhi = hi >>> 0;
  if (ud === 0 || uhi >= ud) divideError(cpu);
  const q = udiv64(uhi, lo >>> 0, ud);
  divRemainder |= 0;
  return q | 0;
}

/** IDIV r/m32: signed EDX:EAX / d. Returns the quotient; #DE on zero or overflow. */
export function idiv32(cpu: Cpu, hi: number, lo: number, d: number): number {
  if (d === 0) divideError(cpu);
  const negative = hi < 0;
  let uhi = hi >>> 0;
  let ulo = lo >>> 0;
  if (negative) {
    // Two's-complement negate the 64-bit dividend.
    ulo = (~ulo + 1) >>> 0;
    uhi = (~uhi + (ulo === 0 ? 1 : 0)) >>> 0;
  }
  const ud = d < 0 ? -d : d;
  if (uhi >= ud) divideError(cpu);
  const q = udiv64(uhi, ulo, ud);
  const quotientNegative = negative !== d < 0;
  if (quotientNegative ? q > 0x80000000 : q > 0x7fffffff) divideError(cpu);
  divRemainder = negative ? -divRemainder | 0 : divRemainder | 0;
  return quotientNegative ? -q | 0 : q | 0;
}

/** PF for a byte value, as the EFLAGS bit. */
export function parityOf(v: number): number {
  return PARITY[v & 0xff];
}
