// Exact arithmetic on 80-bit extended values, as the x87 computes it.
//
// A value travels as three numbers: `se` (sign in bit 15, biased exponent in bits 14..0) and the
// 64-bit significand in `hi`/`lo` (unsigned 32-bit halves, the explicit integer bit J is bit 31 of
// `hi`). Every operation takes raw operands and the control word, writes its result into `R` and
// returns the exception flags it raised (IE, DE, ZE, OE, UE, PE as in the status word). Unmasked
// exceptions are not acted on here: the caller decides from the flags and the control word whether
// the result is stored (see fpu.ts). No BigInt and no allocation: intermediate significands live in
// 32-bit words, fields of module-level objects.

import {
  BIAS,
  BIAS_ADJUST,
  CLS_DENORMAL,
  CLS_INF,
  CLS_NORMAL,
  CLS_QNAN,
  CLS_SNAN,
  CLS_UNSUPPORTED,
  CLS_ZERO,
  DE,
  IE,
  INDEFINITE_HI,
  INDEFINITE_LO,
  INDEFINITE_SE,
  OE,
  PC_24,
  PC_53,
  PE,
  RC_DOWN,
  RC_NEAREST,
  RC_UP,
  RC_ZERO,
  UE,
  ZE,
} from './constants.js';

const TWO32 = 4294967296;
const J = 0x80000000;
const QUIET = 0x40000000;
const EXP_MAX = 0x7fff;

/** Result registers of the last operation; `up` is the round-up indicator reported in C1. */
export class Result80 {
  se = 0;
  hi = 0;
  lo = 0;
  /** Second result (FXTRACT significand, FPTAN 1.0, FSINCOS cosine). */
  se2 = 0;
  hi2 = 0;
  lo2 = 0;
  up = 0;
  /** FPREM/FPREM1: the three low quotient bits; FCOM: the relation (see compare()). */
  q = 0;
}
export const R = new Result80();

/**
 * DE while set: an operand loaded from a denormal single or double real takes part (the load has
 * normalized it, but the operation still reports the denormal operand where a register denormal
 * would be reported).
 */
let memDenormal = 0;
export function setMemoryDenormal(de: number): void {
  memDenormal = de !== 0 ? DE : 0;
}

/** Counters that show how often the quick paths are taken. */
export const arithStats = { fast: 0, slow: 0 };

// The working state of the operations lives in fields of module-level objects, not in module-level
// `let`s: V8 keeps such a `let` in a context slot, where a number outside the small-integer range
// (most 32-bit significand words) is a heap number that every store allocates anew; a field of a
// double representation is written in place. Measured on Fpu.execute alone (bundled as `plex86 run`
// runs it): FLD, FADD and FSTP m64real took 183 instead of 211 ns together, FLD, FDIV and FSTP 382
// instead of 420 ns; the bench workload's awk sum 0.97x as long (two rounds in turns).

/** An unpacked operand (normalized; denormals get exponents below 1). */
class Unpacked {
  sign = 0;
  exp = 0;
  hi = 0;
  lo = 0;
}
const A = new Unpacked();
const B = new Unpacked();

/**
 * Working value: sign, unbounded biased exponent, 96-bit significand window hi:lo:x and a sticky bit
 * for anything below it. Normalized means `hi` bit 31 set.
 */
class Working extends Unpacked {
  x = 0;
  sticky = 0;
}
const W = new Working();

/** Classifies a raw 80-bit value. */
export function classify(se: number, hi: number, lo: number): number {
  const e = se & EXP_MAX;
  if (e === 0) return (hi | lo) === 0 ? CLS_ZERO : CLS_DENORMAL;
  if (e === EXP_MAX) {
    if ((hi & J) === 0) return CLS_UNSUPPORTED;
    if (((hi & 0x7fffffff) | lo) === 0) return CLS_INF;
    return (hi & QUIET) !== 0 ? CLS_QNAN : CLS_SNAN;
  }
  return (hi & J) !== 0 ? CLS_NORMAL : CLS_UNSUPPORTED;
}

function setResult(se: number, hi: number, lo: number): void {
  R.se = se;
  R.hi = hi;
  R.lo = lo;
  R.up = 0;
}

export function setIndefinite(): void {
  R.se = INDEFINITE_SE;
  R.hi = INDEFINITE_HI;
  R.lo = INDEFINITE_LO;
  R.up = 0;
}

/** x87 rule for a NaN result from two operands (SDM vol. 1, table 4-7); returns IE for an SNaN. */
function propagateNaN(
  aSe: number,
  aH: number,
  aL: number,
  aCls: number,
  bSe: number,
  bH: number,
  bL: number,
  bCls: number,
): number {
  const aNaN = aCls === CLS_QNAN || aCls === CLS_SNAN;
  const bNaN = bCls === CLS_QNAN || bCls === CLS_SNAN;
  let pickA: boolean;
  if (aNaN && bNaN) {
    if (aCls !== bCls) pickA = aCls === CLS_QNAN;
    else if (aH !== bH) pickA = aH > bH;
    else if (aL !== bL) pickA = aL > bL;
    else pickA = (aSe & 0x8000) === 0 || (bSe & 0x8000) !== 0;
  } else pickA = aNaN;
  if (pickA) setResult(aSe, (aH | QUIET) >>> 0, aL);
  else setResult(bSe, (bH | QUIET) >>> 0, bL);
  return aCls === CLS_SNAN || bCls === CLS_SNAN ? IE : 0;
}

/** NaN result from one operand: quieted, IE for an SNaN. */
function propagateNaN1(se: number, hi: number, lo: number, cls: number): number {
  setResult(se, (hi | QUIET) >>> 0, lo);
  return cls === CLS_SNAN ? IE : 0;
}

function unpackA(se: number, hi: number, lo: number): void {
  A.sign = se >>> 15;
  let e = se & EXP_MAX;
  if (e === 0) {
    // Denormal or pseudo-denormal: the exponent is that of the smallest normal.
    e = 1;
    if (hi === 0) {
      hi = lo;
      lo = 0;
      e -= 32;
    }
    const s = Math.clz32(hi);
    if (s !== 0) {
      hi = ((hi << s) | (lo >>> (32 - s))) >>> 0;
      lo = (lo << s) >>> 0;
      e -= s;
    }
  }
  A.exp = e;
  A.hi = hi;
  A.lo = lo;
}

function unpackB(se: number, hi: number, lo: number): void {
  B.sign = se >>> 15;
  let e = se & EXP_MAX;
  if (e === 0) {
    e = 1;
    if (hi === 0) {
      hi = lo;
      lo = 0;
      e -= 32;
    }
    const s = Math.clz32(hi);
    if (s !== 0) {
      hi = ((hi << s) | (lo >>> (32 - s))) >>> 0;
      lo = (lo << s) >>> 0;
      e -= s;
    }
  }
  B.exp = e;
  B.hi = hi;
  B.lo = lo;
}

/** Shifts the working significand right by n bits, collecting lost bits in the sticky bit. */
function shiftRightWork(n: number): void {
  if (n <= 0) return;
  if (n >= 96) {
    if ((W.hi | W.lo | W.x) !== 0) W.sticky = 1;
    W.hi = W.lo = W.x = 0;
    return;
  }
  while (n >= 32) {
    if (W.x !== 0) W.sticky = 1;
    W.x = W.lo;
    W.lo = W.hi;
    W.hi = 0;
    n -= 32;
  }
  if (n > 0) {
    if (W.x << (32 - n) !== 0) W.sticky = 1;
    W.x = ((W.x >>> n) | (W.lo << (32 - n))) >>> 0;
    W.lo = ((W.lo >>> n) | (W.hi << (32 - n))) >>> 0;
    W.hi = W.hi >>> n;
  }
}

/** Normalizes the working significand to the left; returns false if it is zero. */
function normalizeWork(): boolean {
  if (W.hi === 0) {
    if (W.lo === 0 && W.x === 0) {
      if (W.sticky === 0) return false;
      // Only sticky bits remain; cannot happen for the operations here (exact cancellation has no sticky).
      W.hi = J;
      W.exp -= 96;
      return true;
    }
    while (W.hi === 0) {
      W.hi = W.lo;
      W.lo = W.x;
      W.x = 0;
      W.exp -= 32;
    }
  }
  const s = Math.clz32(W.hi);
  if (s !== 0) {
    W.hi = ((W.hi << s) | (W.lo >>> (32 - s))) >>> 0;
    W.lo = ((W.lo << s) | (W.x >>> (32 - s))) >>> 0;
    W.x = (W.x << s) >>> 0;
    W.exp -= s;
  }
  return true;
}

/**
 * Rounding decision for the working value at `prec` bits (0, 24 → PC_24, ...):
 * 0 exact, 1 inexact and truncated, 2 inexact and incremented.
 */
function roundDecision(prec: number, rc: number): number {
  let half: number;
  let rest: number;
  let lsb: number;
  if (prec === 64) {
    half = W.x >>> 31;
    rest = (W.x & 0x7fffffff) | W.sticky;
    lsb = W.lo & 1;
  } else if (prec === 53) {
    half = (W.lo >>> 10) & 1;
    rest = (W.lo & 0x3ff) | W.x | W.sticky;
    lsb = (W.lo >>> 11) & 1;
  } else {
    half = (W.hi >>> 7) & 1;
    rest = (W.hi & 0x7f) | W.lo | W.x | W.sticky;
    lsb = (W.hi >>> 8) & 1;
  }
  if (half === 0 && rest === 0) return 0;
  switch (rc) {
    case RC_NEAREST:
      return half !== 0 && (rest !== 0 || lsb !== 0) ? 2 : 1;
    case RC_DOWN:
      return W.sign !== 0 ? 2 : 1;
    case RC_UP:
      return W.sign !== 0 ? 1 : 2;
    default:
      return 1;
  }
}

/** True if every kept significand bit at `prec` is one (an increment carries out). */
function allOnes(prec: number): boolean {
  if (prec === 64) return W.hi === 0xffffffff && W.lo === 0xffffffff;
  if (prec === 53) return W.hi === 0xffffffff && W.lo >>> 11 === 0x1fffff;
  return W.hi >>> 8 === 0xffffff;
}

/** Clears the bits below `prec` and adds one unit in the last place if `inc`. */
function truncInc(prec: number, inc: boolean): void {
  W.x = 0;
  W.sticky = 0;
  if (prec === 64) {
    if (inc) {
      W.lo += 1;
      if (W.lo === TWO32) {
        W.lo = 0;
        W.hi += 1;
        if (W.hi === TWO32) {
          W.hi = J;
          W.exp++;
        }
      }
    }
  } else if (prec === 53) {
    W.lo = (W.lo & 0xfffff800) >>> 0;
    if (inc) {
      W.lo += 0x800;
      if (W.lo >= TWO32) {
        W.lo -= TWO32;
        W.hi += 1;
        if (W.hi === TWO32) {
          W.hi = J;
          W.exp++;
        }
      }
    }
  } else {
    W.lo = 0;
    W.hi = (W.hi & 0xffffff00) >>> 0;
    if (inc) {
      W.hi += 0x100;
      if (W.hi >= TWO32) {
        W.hi = J;
        W.exp++;
      }
    }
  }
}

/**
 * Rounds the normalized, non-zero working value to `prec` significand bits and the exponent range
 * [eMin, eMax] (in extended bias) under rounding control `rc`, honouring the OE/UE masks of `cw`.
 * Tininess is detected after rounding with an unbounded exponent, as the x87 does. On return the
 * working registers hold the result: a denormal has J clear and W.exp = eMin; an infinity has
 * W.exp = eMax + 1. Unmasked overflow/underflow leave the exponent adjusted by `adjust`
 * (BIAS_ADJUST for a register destination; memory destinations are not stored at all).
 * Sets R.up and returns the flags.
 */
function roundWork(prec: number, rc: number, eMin: number, eMax: number, cw: number, adjust: number): number {
  let flags = 0;
  if (W.exp < eMin) {
    const d = roundDecision(prec, rc);
    const tiny = !(W.exp === eMin - 1 && d === 2 && allOnes(prec));
    if (tiny) {
      if ((cw & UE) === 0) {
        truncInc(prec, d === 2);
        R.up = d === 2 ? 1 : 0;
        W.exp += adjust;
        if (W.exp < eMin && adjust !== 0) {
          // Too small even after the bias adjustment (FSCALE): a signed zero.
          W.hi = W.lo = 0;
          R.up = 0;
          return UE | PE;
        }
        return d !== 0 ? UE | PE : UE;
      }
      shiftRightWork(eMin - W.exp);
      W.exp = eMin;
      const d2 = roundDecision(prec, rc);
      truncInc(prec, d2 === 2);
      R.up = d2 === 2 ? 1 : 0;
      return d2 !== 0 ? UE | PE : 0;
    }
  }
  const d = roundDecision(prec, rc);
  truncInc(prec, d === 2);
  R.up = d === 2 ? 1 : 0;
  if (d !== 0) flags = PE;
  if (W.exp > eMax) {
    if ((cw & OE) === 0) {
      W.exp -= adjust;
      if (W.exp > eMax) {
        // Too large even after the bias adjustment (FSCALE): a signed infinity.
        W.exp = eMax + 1;
        W.hi = J;
        W.lo = 0;
        R.up = 1;
        return OE | PE;
      }
      return flags | OE;
    }
    flags |= OE | PE;
    if (rc === RC_NEAREST || (rc === RC_UP && W.sign === 0) || (rc === RC_DOWN && W.sign !== 0)) {
      W.exp = eMax + 1;
      W.hi = J;
      W.lo = 0;
      R.up = 1;
    } else {
      W.exp = eMax;
      if (prec === 64) {
        W.hi = 0xffffffff;
        W.lo = 0xffffffff;
      } else if (prec === 53) {
        W.hi = 0xffffffff;
        W.lo = 0xfffff800;
      } else {
        W.hi = 0xffffff00;
        W.lo = 0;
      }
      R.up = 0;
    }
  }
  return flags;
}

/** Precision in bits from the control word's PC field. */
function precisionOf(cw: number): number {
  const pc = (cw >>> 8) & 3;
  return pc === PC_24 ? 24 : pc === PC_53 ? 53 : 64;
}

/** Rounds the working value for a register destination and packs it into R. */
function roundToReg(prec: number, cw: number): number {
  const flags = roundWork(prec, (cw >>> 10) & 3, 1, 0x7ffe, cw, BIAS_ADJUST);
  packWorkToR();
  return flags;
}

/** Packs the working registers (after roundWork with eMin = 1) into R. */
function packWorkToR(): void {
  let e = W.exp;
  if ((W.hi & J) === 0)
    e = 0; // denormal or zero
  else if (e > EXP_MAX) e = EXP_MAX;
  else if (e < 0) e = 0;
  R.se = (W.sign << 15) | (e & EXP_MAX);
  R.hi = W.hi;
  R.lo = W.lo;
}

function zeroResult(sign: number): void {
  R.se = sign << 15;
  R.hi = 0;
  R.lo = 0;
  R.up = 0;
}

function infResult(sign: number): void {
  R.se = (sign << 15) | EXP_MAX;
  R.hi = J;
  R.lo = 0;
  R.up = 0;
}

// ---------------------------------------------------------------------------------------------
// Addition and subtraction

/**
 * a + b (or a - b when `negB`), rounded per the control word (precision and rounding control).
 */
export function add(
  aSe: number,
  aH: number,
  aL: number,
  bSe: number,
  bH: number,
  bL: number,
  cw: number,
  negB: boolean,
): number {
  const bSeRaw = bSe;
  if (negB) bSe ^= 0x8000;
  const ae = aSe & EXP_MAX;
  const be = bSe & EXP_MAX;
  // Quick path: two normal operands, extended precision, round to nearest, result in range.
  if ((cw & 0x0f00) === 0x0300 && ae !== 0 && be !== 0 && ae !== EXP_MAX && be !== EXP_MAX && (aH & bH & J) !== 0) {
    const f = addQuick(aSe, aH, aL, bSe, bH, bL);
    if (f >= 0) {
      arithStats.fast++;
      return f | memDenormal;
    }
  }
  arithStats.slow++;
  const aCls = classify(aSe, aH, aL);
  const bCls = classify(bSe, bH, bL);
  if (aCls === CLS_UNSUPPORTED || bCls === CLS_UNSUPPORTED) {
    setIndefinite();
    return IE;
  }
  // NaNs keep their own sign: the subtraction does not negate them.
  if (aCls >= CLS_QNAN || bCls >= CLS_QNAN) return propagateNaN(aSe, aH, aL, aCls, bSeRaw, bH, bL, bCls);
  const rc = (cw >>> 10) & 3;
  if (aCls === CLS_INF || bCls === CLS_INF) {
    if (aCls === CLS_INF && bCls === CLS_INF) {
      if (((aSe ^ bSe) & 0x8000) !== 0) {
        setIndefinite();
        return IE;
      }
      infResult(aSe >>> 15);
      return 0;
    }
    infResult(aCls === CLS_INF ? aSe >>> 15 : bSe >>> 15);
    return aCls === CLS_DENORMAL || bCls === CLS_DENORMAL ? DE : memDenormal;
  }
  let flags = aCls === CLS_DENORMAL || bCls === CLS_DENORMAL ? DE : memDenormal;
  if (aCls === CLS_ZERO && bCls === CLS_ZERO) {
    const sa = aSe >>> 15;
    const sb = bSe >>> 15;
    zeroResult(sa === sb ? sa : rc === RC_DOWN ? 1 : 0);
    return flags;
  }
  if (aCls === CLS_ZERO || bCls === CLS_ZERO) {
    // x + 0 = x, still rounded to the precision control.
    if (aCls === CLS_ZERO) unpackA(bSe, bH, bL);
    else unpackA(aSe, aH, aL);
    W.sign = A.sign;
    W.exp = A.exp;
    W.hi = A.hi;
    W.lo = A.lo;
    W.x = 0;
    W.sticky = 0;
    return flags | roundToReg(precisionOf(cw), cw);
  }
  unpackA(aSe, aH, aL);
  unpackB(bSe, bH, bL);
  if (!addCore()) {
    zeroResult(rc === RC_DOWN ? 1 : 0);
    return flags;
  }
  flags |= roundToReg(precisionOf(cw), cw);
  return flags;
}

/**
 * Exact sum of the unpacked operands into the working registers (normalized, with sticky).
 * Returns false for an exact zero.
 */
function addCore(): boolean {
  // Make a the operand with the larger exponent.
  if (B.exp > A.exp || (B.exp === A.exp && (B.hi > A.hi || (B.hi === A.hi && B.lo > A.lo)))) {
    let t = A.sign;
    A.sign = B.sign;
    B.sign = t;
    t = A.exp;
    A.exp = B.exp;
    B.exp = t;
    t = A.hi;
    A.hi = B.hi;
    B.hi = t;
    t = A.lo;
    A.lo = B.lo;
    B.lo = t;
  }
  const d = A.exp - B.exp;
  // Align b into the working window.
  W.hi = B.hi;
  W.lo = B.lo;
  W.x = 0;
  W.sticky = 0;
  shiftRightWork(d);
  const bh = W.hi;
  const bl = W.lo;
  const bx = W.x;
  const bst = W.sticky;
  W.sign = A.sign;
  W.exp = A.exp;
  if (A.sign === B.sign) {
    let lo = A.lo + bl;
    let c = lo >= TWO32 ? 1 : 0;
    if (c !== 0) lo -= TWO32;
    let hi = A.hi + bh + c;
    W.x = bx;
    W.sticky = bst;
    if (hi >= TWO32) {
      hi -= TWO32;
      if ((W.x & 1) !== 0) W.sticky = 1;
      W.x = ((W.x >>> 1) | (lo << 31)) >>> 0;
      lo = ((lo >>> 1) | (hi << 31)) >>> 0;
      hi = ((hi >>> 1) | J) >>> 0;
      W.exp++;
    }
    W.hi = hi;
    W.lo = lo;
    c = 0;
    return true;
  }
  // Effective subtraction: a - (bh:bl:bx + sticky). A sticky remainder borrows one unit of x.
  let x = -bx - bst;
  let borrow = 0;
  if (x < 0) {
    x += TWO32;
    borrow = 1;
  }
  let lo = A.lo - bl - borrow;
  borrow = 0;
  if (lo < 0) {
    lo += TWO32;
    borrow = 1;
  }
  const hi = A.hi - bh - borrow;
  W.hi = hi;
  W.lo = lo;
  W.x = x;
  W.sticky = bst;
  return normalizeWork();
}

/**
 * a + b for two normal operands at 64-bit precision, rounding to nearest, all in local variables.
 * Returns the flags, or -1 (nothing written) when the result leaves the normal range.
 */
function addQuick(aSe: number, aH: number, aL: number, bSe: number, bH: number, bL: number): number {
  let ea = aSe & EXP_MAX;
  let eb = bSe & EXP_MAX;
  let sa = aSe >>> 15;
  let sb = bSe >>> 15;
  if (eb > ea || (eb === ea && (bH > aH || (bH === aH && bL > aL)))) {
    let t = ea;
    ea = eb;
    eb = t;
    t = sa;
    sa = sb;
    sb = t;
    t = aH;
    aH = bH;
    bH = t;
    t = aL;
    aL = bL;
    bL = t;
  }
  // b aligned to a: bH:bL:x2 and a sticky bit for anything below.
  const d = ea - eb;
  let h2 = 0;
  let l2 = 0;
  let x2 = 0;
  let st = 0;
  if (d === 0) {
    h2 = bH;
    l2 = bL;
  } else if (d < 32) {
    x2 = (bL << (32 - d)) >>> 0;
    l2 = ((bL >>> d) | (bH << (32 - d))) >>> 0;
    h2 = bH >>> d;
  } else if (d === 32) {
    x2 = bL;
    l2 = bH;
  } else if (d < 64) {
    const s = d - 32;
    x2 = ((bL >>> s) | (bH << (32 - s))) >>> 0;
    st = bL << (32 - s) !== 0 ? 1 : 0;
    l2 = bH >>> s;
  } else if (d === 64) {
    x2 = bH;
    st = bL !== 0 ? 1 : 0;
  } else if (d < 96) {
    const s = d - 64;
    x2 = bH >>> s;
    st = ((bH << (32 - s)) | bL) !== 0 ? 1 : 0;
  } else st = 1;
  let hi: number;
  let lo: number;
  let x: number;
  if (sa === sb) {
    lo = aL + l2;
    let c = 0;
    if (lo >= TWO32) {
      lo -= TWO32;
      c = 1;
    }
    hi = aH + h2 + c;
    x = x2;
    if (hi >= TWO32) {
      hi -= TWO32;
      st |= x & 1;
      x = ((x >>> 1) | (lo << 31)) >>> 0;
      lo = ((lo >>> 1) | (hi << 31)) >>> 0;
      hi = ((hi >>> 1) | J) >>> 0;
      ea++;
    }
  } else {
    // a - b; a sticky remainder of b borrows one unit of x (and stays sticky).
    x = -x2 - st;
    let bw = 0;
    if (x < 0) {
      x += TWO32;
      bw = 1;
    }
    lo = aL - l2 - bw;
    bw = 0;
    if (lo < 0) {
      lo += TWO32;
      bw = 1;
    }
    hi = aH - h2 - bw;
    if (hi < J) {
      if ((hi | lo | x | st) === 0) {
        R.se = 0;
        R.hi = 0;
        R.lo = 0;
        R.up = 0;
        return 0;
      }
      // Cancellation: only with d <= 1 can more than one bit go, and then nothing is sticky.
      while (hi === 0) {
        hi = lo;
        lo = x;
        x = 0;
        ea -= 32;
      }
      const s = Math.clz32(hi);
      if (s !== 0) {
        hi = ((hi << s) | (lo >>> (32 - s))) >>> 0;
        lo = ((lo << s) | (x >>> (32 - s))) >>> 0;
        x = (x << s) >>> 0;
        ea -= s;
      }
    }
  }
  // Round to nearest, ties to even, at bit 0 of lo.
  const inexact = (x | st) !== 0;
  let up = 0;
  if (x >= J && (x !== J || st !== 0 || (lo & 1) !== 0)) {
    up = 1;
    lo += 1;
    if (lo === TWO32) {
      lo = 0;
      hi += 1;
      if (hi === TWO32) {
        hi = J;
        ea++;
      }
    }
  }
  if (ea <= 0 || ea >= EXP_MAX) return -1;
  R.se = (sa << 15) | ea;
  R.hi = hi;
  R.lo = lo;
  R.up = up;
  return inexact ? PE : 0;
}

/** a * b for two normal operands at 64-bit precision, rounding to nearest; -1 if out of range. */
function mulQuick(aSe: number, aH: number, aL: number, bSe: number, bH: number, bL: number): number {
  const x0 = aL & 0xffff;
  const x1 = aL >>> 16;
  const x2 = aH & 0xffff;
  const x3 = aH >>> 16;
  const y0 = bL & 0xffff;
  const y1 = bL >>> 16;
  const y2 = bH & 0xffff;
  const y3 = bH >>> 16;
  let c = x0 * y0;
  const r0 = c & 0xffff;
  c = (c - r0) / 65536 + x0 * y1 + x1 * y0;
  const r1 = c & 0xffff;
  c = (c - r1) / 65536 + x0 * y2 + x1 * y1 + x2 * y0;
  const r2 = c & 0xffff;
  c = (c - r2) / 65536 + x0 * y3 + x1 * y2 + x2 * y1 + x3 * y0;
  const r3 = c & 0xffff;
  c = (c - r3) / 65536 + x1 * y3 + x2 * y2 + x3 * y1;
  const r4 = c & 0xffff;
  c = (c - r4) / 65536 + x2 * y3 + x3 * y2;
  const r5 = c & 0xffff;
  c = (c - r5) / 65536 + x3 * y3;
  const r6 = c & 0xffff;
  const r7 = (c - r6) / 65536;
  let hi = r7 * 65536 + r6;
  let lo = r5 * 65536 + r4;
  let x = r3 * 65536 + r2;
  let low = r1 * 65536 + r0;
  let e = (aSe & EXP_MAX) + (bSe & EXP_MAX) - BIAS;
  if (hi >= J) e++;
  else {
    hi = ((hi << 1) | (lo >>> 31)) >>> 0;
    lo = ((lo << 1) | (x >>> 31)) >>> 0;
    x = ((x << 1) | (low >>> 31)) >>> 0;
    low = (low << 1) >>> 0;
  }
  const inexact = (x | low) !== 0;
  let up = 0;
  if (x >= J && (x !== J || low !== 0 || (lo & 1) !== 0)) {
    up = 1;
    lo += 1;
    if (lo === TWO32) {
      lo = 0;
      hi += 1;
      if (hi === TWO32) {
        hi = J;
        e++;
      }
    }
  }
  if (e <= 0 || e >= EXP_MAX) return -1;
  R.se = (((aSe ^ bSe) >>> 15) << 15) | e;
  R.hi = hi;
  R.lo = lo;
  R.up = up;
  return inexact ? PE : 0;
}

/** The quick division's remainder (below B) in r0..r3 and divisor B in b0..b3, all 16-bit limbs. */
class QuickDivision {
  r0 = 0;
  r1 = 0;
  r2 = 0;
  r3 = 0;
  b0 = 0;
  b1 = 0;
  b2 = 0;
  b3 = 0;
  bd = 0;
}
const QD = new QuickDivision();

/** One 32-bit quotient digit of the quick division: r := r * 2^32 mod B, returns floor(r * 2^32 / B). */
function quotientDigit(): number {
  // A double estimate is within one of the digit.
  let d = Math.floor(((((QD.r3 * 65536 + QD.r2) * 65536 + QD.r1) * 65536 + QD.r0) / QD.bd) * TWO32);
  if (d > 0xffffffff) d = 0xffffffff;
  const d0 = d & 0xffff;
  const d1 = (d - d0) / 65536;
  // t = r * 2^32 - d * B, limb by limb with signed carries.
  let c = -(d0 * QD.b0);
  let t0 = c & 0xffff;
  c = (c - t0) / 65536 - (d0 * QD.b1 + d1 * QD.b0);
  let t1 = c & 0xffff;
  c = (c - t1) / 65536 + QD.r0 - (d0 * QD.b2 + d1 * QD.b1);
  let t2 = c & 0xffff;
  c = (c - t2) / 65536 + QD.r1 - (d0 * QD.b3 + d1 * QD.b2);
  let t3 = c & 0xffff;
  c = (c - t3) / 65536 + QD.r2 - d1 * QD.b3;
  let t4 = c & 0xffff;
  let t5 = (c - t4) / 65536 + QD.r3;
  if (t5 < 0) {
    // One too many: add B back.
    d--;
    c = t0 + QD.b0;
    t0 = c & 0xffff;
    c = (c - t0) / 65536 + t1 + QD.b1;
    t1 = c & 0xffff;
    c = (c - t1) / 65536 + t2 + QD.b2;
    t2 = c & 0xffff;
    c = (c - t2) / 65536 + t3 + QD.b3;
    t3 = c & 0xffff;
    c = (c - t3) / 65536 + t4;
    t4 = c & 0xffff;
    t5 += (c - t4) / 65536;
  } else if (
    t5 > 0 ||
    t4 > 0 ||
    t3 > QD.b3 ||
    (t3 === QD.b3 && (t2 > QD.b2 || (t2 === QD.b2 && (t1 > QD.b1 || (t1 === QD.b1 && t0 >= QD.b0)))))
  ) {
    // One too few: subtract B once more.
    d++;
    c = t0 - QD.b0;
    t0 = c & 0xffff;
    c = (c - t0) / 65536 + t1 - QD.b1;
    t1 = c & 0xffff;
    c = (c - t1) / 65536 + t2 - QD.b2;
    t2 = c & 0xffff;
    c = (c - t2) / 65536 + t3 - QD.b3;
    t3 = c & 0xffff;
  }
  QD.r0 = t0;
  QD.r1 = t1;
  QD.r2 = t2;
  QD.r3 = t3;
  return d;
}

/** a / b for two normal operands at 64-bit precision, rounding to nearest; -1 if out of range. */
function divQuick(aSe: number, aH: number, aL: number, bSe: number, bH: number, bL: number): number {
  QD.b0 = bL & 0xffff;
  QD.b1 = bL >>> 16;
  QD.b2 = bH & 0xffff;
  QD.b3 = bH >>> 16;
  QD.bd = bH * TWO32 + bL;
  let e = (aSe & EXP_MAX) - (bSe & EXP_MAX) + BIAS;
  let rh = aH;
  let rl = aL;
  let one = 0;
  if (aH > bH || (aH === bH && aL >= bL)) {
    one = 1;
    rl -= bL;
    rh -= bH;
    if (rl < 0) {
      rl += TWO32;
      rh -= 1;
    }
  } else e--;
  QD.r0 = rl & 0xffff;
  QD.r1 = rl >>> 16;
  QD.r2 = rh & 0xffff;
  QD.r3 = rh >>> 16;
  const q1 = quotientDigit();
  const q2 = quotientDigit();
  const q3 = quotientDigit();
  let hi: number;
  let lo: number;
  let x: number;
  let st = (QD.r0 | QD.r1 | QD.r2 | QD.r3) !== 0 ? 1 : 0;
  if (one !== 0) {
    hi = (J | (q1 >>> 1)) >>> 0;
    lo = ((q1 << 31) | (q2 >>> 1)) >>> 0;
    x = ((q2 << 31) | (q3 >>> 1)) >>> 0;
    st |= q3 & 1;
  } else {
    hi = q1;
    lo = q2;
    x = q3;
  }
  const inexact = (x | st) !== 0;
  let up = 0;
  if (x >= J && (x !== J || st !== 0 || (lo & 1) !== 0)) {
    up = 1;
    lo += 1;
    if (lo === TWO32) {
      lo = 0;
      hi += 1;
      if (hi === TWO32) {
        hi = J;
        e++;
      }
    }
  }
  if (e <= 0 || e >= EXP_MAX) return -1;
  R.se = (((aSe ^ bSe) >>> 15) << 15) | e;
  R.hi = hi;
  R.lo = lo;
  R.up = up;
  return inexact ? PE : 0;
}

// ---------------------------------------------------------------------------------------------
// Multiplication

/** A 128-bit product in 32-bit words, p3 most significant. */
class Product {
  p3 = 0;
  p2 = 0;
  p1 = 0;
  p0 = 0;
}
const P = new Product();

/** 64 x 64 -> 128-bit product of two significands into P. */
function mul64(xh: number, xl: number, yh: number, yl: number): void {
  const x0 = xl & 0xffff;
  const x1 = xl >>> 16;
  const x2 = xh & 0xffff;
  const x3 = xh >>> 16;
  const y0 = yl & 0xffff;
  const y1 = yl >>> 16;
  const y2 = yh & 0xffff;
  const y3 = yh >>> 16;
  // Column sums stay below 2^35 + carry; all exact in doubles. `& 0xffff` takes the low 16 bits
  // of any integer-valued double (ToInt32 works modulo 2^32), and the division is exact.
  let c = x0 * y0;
  const r0 = c & 0xffff;
  c = (c - r0) / 65536 + x0 * y1 + x1 * y0;
  const r1 = c & 0xffff;
  c = (c - r1) / 65536 + x0 * y2 + x1 * y1 + x2 * y0;
  const r2 = c & 0xffff;
  c = (c - r2) / 65536 + x0 * y3 + x1 * y2 + x2 * y1 + x3 * y0;
  const r3 = c & 0xffff;
  c = (c - r3) / 65536 + x1 * y3 + x2 * y2 + x3 * y1;
  const r4 = c & 0xffff;
  c = (c - r4) / 65536 + x2 * y3 + x3 * y2;
  const r5 = c & 0xffff;
  c = (c - r5) / 65536 + x3 * y3;
  const r6 = c & 0xffff;
  const r7 = (c - r6) / 65536;
  P.p0 = r1 * 65536 + r0;
  P.p1 = r3 * 65536 + r2;
  P.p2 = r5 * 65536 + r4;
  P.p3 = r7 * 65536 + r6;
}

/** a * b, rounded per the control word. */
export function mul(aSe: number, aH: number, aL: number, bSe: number, bH: number, bL: number, cw: number): number {
  const ae = aSe & EXP_MAX;
  const be = bSe & EXP_MAX;
  let flags = 0;
  let prec = 64;
  if ((cw & 0x0f00) === 0x0300 && ae !== 0 && be !== 0 && ae !== EXP_MAX && be !== EXP_MAX && (aH & bH & J) !== 0) {
    const f = mulQuick(aSe, aH, aL, bSe, bH, bL);
    if (f >= 0) {
      arithStats.fast++;
      return f | memDenormal;
    }
  }
  arithStats.slow++;
  const aCls = classify(aSe, aH, aL);
  const bCls = classify(bSe, bH, bL);
  if (aCls === CLS_UNSUPPORTED || bCls === CLS_UNSUPPORTED) {
    setIndefinite();
    return IE;
  }
  if (aCls >= CLS_QNAN || bCls >= CLS_QNAN) return propagateNaN(aSe, aH, aL, aCls, bSe, bH, bL, bCls);
  const sign = (aSe ^ bSe) >>> 15;
  if (aCls === CLS_INF || bCls === CLS_INF) {
    if (aCls === CLS_ZERO || bCls === CLS_ZERO) {
      setIndefinite();
      return IE;
    }
    infResult(sign);
    return aCls === CLS_DENORMAL || bCls === CLS_DENORMAL ? DE : memDenormal;
  }
  flags = aCls === CLS_DENORMAL || bCls === CLS_DENORMAL ? DE : memDenormal;
  if (aCls === CLS_ZERO || bCls === CLS_ZERO) {
    zeroResult(sign);
    return flags;
  }
  prec = precisionOf(cw);
  unpackA(aSe, aH, aL);
  unpackB(bSe, bH, bL);
  mulCore();
  return flags | roundToReg(prec, cw);
}

function mulCore(): void {
  mul64(A.hi, A.lo, B.hi, B.lo);
  W.sign = A.sign ^ B.sign;
  W.exp = A.exp + B.exp - BIAS;
  if (P.p3 >= J) {
    W.exp++;
    W.hi = P.p3;
    W.lo = P.p2;
    W.x = P.p1;
  } else {
    W.hi = ((P.p3 << 1) | (P.p2 >>> 31)) >>> 0;
    W.lo = ((P.p2 << 1) | (P.p1 >>> 31)) >>> 0;
    W.x = ((P.p1 << 1) | (P.p0 >>> 31)) >>> 0;
    P.p0 = (P.p0 << 1) >>> 0;
  }
  W.sticky = P.p0 !== 0 ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// Division

/**
 * The long division: quotient digits (16 bits each) of the last division, the remainder limbs
 * (16 bits each, r4 most significant) and the divisor limbs.
 */
class LongDivision {
  qInt = 0;
  q0 = 0;
  q1 = 0;
  q2 = 0;
  q3 = 0;
  q4 = 0;
  remNonZero = 0;
  r0 = 0;
  r1 = 0;
  r2 = 0;
  r3 = 0;
  r4 = 0;
  v0 = 0;
  v1 = 0;
  v2 = 0;
  v3 = 0;
  vApprox = 0;
}
const D = new LongDivision();

/**
 * One 16-bit quotient digit: r := r * 2^16, returns floor(r / v) and leaves r mod v.
 * The remainder before the step is below v.
 */
function divDigit(): number {
  // Shift r left by one limb (r4 is 0 before the shift because r < v < 2^64).
  D.r4 = D.r3;
  D.r3 = D.r2;
  D.r2 = D.r1;
  D.r1 = D.r0;
  D.r0 = 0;
  const num = ((D.r4 * 65536 + D.r3) * 65536 + D.r2) * 65536 + D.r1;
  let qd = Math.floor((num * 65536) / D.vApprox);
  if (qd > 0xffff) qd = 0xffff;
  // r -= qd * v, exactly, with signed limb carries (`& 0xffff` is the non-negative residue).
  let c = D.r0 - qd * D.v0;
  let t0 = c & 0xffff;
  c = (c - t0) / 65536 + D.r1 - qd * D.v1;
  let t1 = c & 0xffff;
  c = (c - t1) / 65536 + D.r2 - qd * D.v2;
  let t2 = c & 0xffff;
  c = (c - t2) / 65536 + D.r3 - qd * D.v3;
  let t3 = c & 0xffff;
  let t4 = (c - t3) / 65536 + D.r4;
  while (t4 < 0) {
    // Estimate one too large: add the divisor back.
    qd--;
    t0 += D.v0;
    t1 += D.v1 + (t0 >= 65536 ? 1 : 0);
    if (t0 >= 65536) t0 -= 65536;
    t2 += D.v2 + (t1 >= 65536 ? 1 : 0);
    if (t1 >= 65536) t1 -= 65536;
    t3 += D.v3 + (t2 >= 65536 ? 1 : 0);
    if (t2 >= 65536) t2 -= 65536;
    t4 += t3 >= 65536 ? 1 : 0;
    if (t3 >= 65536) t3 -= 65536;
  }
  // Estimate one too small: subtract once more while r >= v.
  while (
    t4 > 0 ||
    t3 > D.v3 ||
    (t3 === D.v3 && (t2 > D.v2 || (t2 === D.v2 && (t1 > D.v1 || (t1 === D.v1 && t0 >= D.v0)))))
  ) {
    qd++;
    t0 -= D.v0;
    t1 -= D.v1 + (t0 < 0 ? 1 : 0);
    if (t0 < 0) t0 += 65536;
    t2 -= D.v2 + (t1 < 0 ? 1 : 0);
    if (t1 < 0) t1 += 65536;
    t3 -= D.v3 + (t2 < 0 ? 1 : 0);
    if (t2 < 0) t2 += 65536;
    t4 -= t3 < 0 ? 1 : 0;
    if (t3 < 0) t3 += 65536;
  }
  D.r0 = t0;
  D.r1 = t1;
  D.r2 = t2;
  D.r3 = t3;
  D.r4 = 0;
  return qd;
}

/** Sets up the divisor for divDigit(). */
function setDivisor(yh: number, yl: number): void {
  D.v0 = yl & 0xffff;
  D.v1 = yl >>> 16;
  D.v2 = yh & 0xffff;
  D.v3 = yh >>> 16;
  D.vApprox = yh * TWO32 + yl;
}

/** Loads the remainder with a 64-bit value below 2^64 (must be below the divisor for divDigit). */
function setRemainder(xh: number, xl: number): void {
  D.r0 = xl & 0xffff;
  D.r1 = xl >>> 16;
  D.r2 = xh & 0xffff;
  D.r3 = xh >>> 16;
  D.r4 = 0;
}

function remainderIsZero(): boolean {
  return (D.r0 | D.r1 | D.r2 | D.r3 | D.r4) === 0;
}

/** r >= v for the current 64-bit remainder. */
function remainderGeDivisor(): boolean {
  if (D.r3 !== D.v3) return D.r3 > D.v3;
  if (D.r2 !== D.v2) return D.r2 > D.v2;
  if (D.r1 !== D.v1) return D.r1 > D.v1;
  return D.r0 >= D.v0;
}

function subtractDivisor(): void {
  D.r0 -= D.v0;
  D.r1 -= D.v1 + (D.r0 < 0 ? 1 : 0);
  if (D.r0 < 0) D.r0 += 65536;
  D.r2 -= D.v2 + (D.r1 < 0 ? 1 : 0);
  if (D.r1 < 0) D.r1 += 65536;
  D.r3 -= D.v3 + (D.r2 < 0 ? 1 : 0);
  if (D.r2 < 0) D.r2 += 65536;
  if (D.r3 < 0) D.r3 += 65536;
}

/** Significand quotient x / y (both normalized) with 80 fraction bits and a sticky remainder. */
function divSignificands(xh: number, xl: number, yh: number, yl: number): void {
  setDivisor(yh, yl);
  setRemainder(xh, xl);
  D.qInt = 0;
  if (remainderGeDivisor()) {
    subtractDivisor();
    D.qInt = 1;
  }
  D.q0 = divDigit();
  D.q1 = divDigit();
  D.q2 = divDigit();
  D.q3 = divDigit();
  D.q4 = divDigit();
  D.remNonZero = remainderIsZero() ? 0 : 1;
}

/** a / b, rounded per the control word. */
export function div(aSe: number, aH: number, aL: number, bSe: number, bH: number, bL: number, cw: number): number {
  const ae = aSe & EXP_MAX;
  const be = bSe & EXP_MAX;
  let flags = 0;
  if ((cw & 0x0f00) === 0x0300 && ae !== 0 && be !== 0 && ae !== EXP_MAX && be !== EXP_MAX && (aH & bH & J) !== 0) {
    const f = divQuick(aSe, aH, aL, bSe, bH, bL);
    if (f >= 0) {
      arithStats.fast++;
      return f | memDenormal;
    }
  }
  arithStats.slow++;
  const aCls = classify(aSe, aH, aL);
  const bCls = classify(bSe, bH, bL);
  if (aCls === CLS_UNSUPPORTED || bCls === CLS_UNSUPPORTED) {
    setIndefinite();
    return IE;
  }
  if (aCls >= CLS_QNAN || bCls >= CLS_QNAN) return propagateNaN(aSe, aH, aL, aCls, bSe, bH, bL, bCls);
  const sign = (aSe ^ bSe) >>> 15;
  if (aCls === CLS_INF) {
    if (bCls === CLS_INF) {
      setIndefinite();
      return IE;
    }
    infResult(sign);
    return bCls === CLS_DENORMAL ? DE : memDenormal;
  }
  if (bCls === CLS_INF) {
    zeroResult(sign);
    return aCls === CLS_DENORMAL ? DE : memDenormal;
  }
  if (bCls === CLS_ZERO) {
    if (aCls === CLS_ZERO) {
      setIndefinite();
      return IE;
    }
    infResult(sign);
    return ZE;
  }
  flags = aCls === CLS_DENORMAL || bCls === CLS_DENORMAL ? DE : memDenormal;
  if (aCls === CLS_ZERO) {
    zeroResult(sign);
    return flags;
  }
  unpackA(aSe, aH, aL);
  unpackB(bSe, bH, bL);
  divCore();
  return flags | roundToReg(precisionOf(cw), cw);
}

function divCore(): void {
  divSignificands(A.hi, A.lo, B.hi, B.lo);
  W.sign = A.sign ^ B.sign;
  W.sticky = D.remNonZero;
  if (D.qInt !== 0) {
    W.exp = A.exp - B.exp + BIAS;
    W.hi = (J | (D.q0 << 15) | (D.q1 >>> 1)) >>> 0;
    W.lo = (((D.q1 & 1) << 31) | (D.q2 << 15) | (D.q3 >>> 1)) >>> 0;
    W.x = (((D.q3 & 1) << 31) | (D.q4 << 15)) >>> 0;
  } else {
    W.exp = A.exp - B.exp + BIAS - 1;
    W.hi = ((D.q0 << 16) | D.q1) >>> 0;
    W.lo = ((D.q2 << 16) | D.q3) >>> 0;
    W.x = (D.q4 << 16) >>> 0;
  }
}

// ---------------------------------------------------------------------------------------------
// Square root

/** sqrt(a), rounded per the control word. */
export function sqrt(aSe: number, aH: number, aL: number, cw: number): number {
  const cls = classify(aSe, aH, aL);
  if (cls === CLS_UNSUPPORTED) {
    setIndefinite();
    return IE;
  }
  if (cls >= CLS_QNAN) return propagateNaN1(aSe, aH, aL, cls);
  const sign = aSe >>> 15;
  if (cls === CLS_ZERO) {
    zeroResult(sign);
    return 0;
  }
  if (sign !== 0) {
    setIndefinite();
    return IE;
  }
  if (cls === CLS_INF) {
    infResult(0);
    return 0;
  }
  const flags = cls === CLS_DENORMAL ? DE : 0;
  unpackA(aSe, aH, aL);
  sqrtCore();
  return flags | roundToReg(precisionOf(cw), cw);
}

// Square root in 23-bit limbs: products of two limbs (46 bits) and sums of a few stay exact in
// doubles. The radicand M has six limbs (m0..m5), the root Y three (y0..y2).
const L23 = 8388608;
class SquareRoot {
  m3 = 0;
  m4 = 0;
  m5 = 0;
  y0 = 0;
  y1 = 0;
  y2 = 0;
  /** Sign of the last remainder (-1, 0, 1) and, when positive or negative, its magnitude as a double. */
  sign = 0;
  r = 0;
}
const SQ = new SquareRoot();

/** Normalizes the root limbs after adding to the lowest one. */
function sqNormalize(): void {
  let c = Math.floor(SQ.y0 / L23);
  SQ.y0 -= c * L23;
  SQ.y1 += c;
  c = Math.floor(SQ.y1 / L23);
  SQ.y1 -= c * L23;
  SQ.y2 += c;
}

/** Remainder M - (Y + k)^2 for k 0 or 1: sets SQ.sign and SQ.r. */
function sqRemainder(k: number): void {
  let y0 = SQ.y0 + k;
  let y1 = SQ.y1;
  let y2 = SQ.y2;
  if (y0 === L23) {
    y0 = 0;
    y1 += 1;
    if (y1 === L23) {
      y1 = 0;
      y2 += 1;
    }
  }
  // Column differences of M - Y^2 (M has no bits in limbs 0..2).
  let c0 = -(y0 * y0);
  let c1 = -2 * y0 * y1;
  let c2 = -(2 * y0 * y2 + y1 * y1);
  let c3 = SQ.m3 - 2 * y1 * y2;
  let c4 = SQ.m4 - y2 * y2;
  let c5 = SQ.m5;
  for (let pass = 0; pass < 2; pass++) {
    let v = c0;
    let carry = Math.floor(v / L23);
    c0 = v - carry * L23;
    v = c1 + carry;
    carry = Math.floor(v / L23);
    c1 = v - carry * L23;
    v = c2 + carry;
    carry = Math.floor(v / L23);
    c2 = v - carry * L23;
    v = c3 + carry;
    carry = Math.floor(v / L23);
    c3 = v - carry * L23;
    v = c4 + carry;
    carry = Math.floor(v / L23);
    c4 = v - carry * L23;
    v = c5 + carry;
    carry = Math.floor(v / L23);
    c5 = v - carry * L23;
    if (carry >= 0) {
      const mag = ((((c5 * L23 + c4) * L23 + c3) * L23 + c2) * L23 + c1) * L23 + c0;
      if (pass === 0) SQ.sign = mag === 0 && (c0 | c1 | c2 | c3 | c4 | c5) === 0 ? 0 : 1;
      SQ.r = pass === 0 ? mag : -mag;
      return;
    }
    // Negative: take the magnitude from the negated columns.
    SQ.sign = -1;
    c0 = -c0;
    c1 = -c1;
    c2 = -c2;
    c3 = -c3;
    c4 = -c4;
    c5 = -c5 - carry * L23;
  }
}

/** Square root of the unpacked positive operand a into the working registers. */
function sqrtCore(): void {
  // value = m * 2^(E - 63) with m the 64-bit significand. The radicand M = m * 2^shift (shift 71
  // or 72, so that E - 63 - shift is even) has 135 or 136 bits and its integer root Y exactly 68
  // bits: sqrt(value) = Y * 2^((E - 63 - shift) / 2). A double estimate of Y is corrected by one
  // Newton step on the exact remainder M - Y^2, then to the floor of the root.
  const e = A.exp - BIAS;
  const shift = (e & 1) === 0 ? 71 : 72;
  const s = shift - 69; // M = (m << s) << 69 and 69 = 3 limbs
  const m0 = A.lo & 0x7fffff;
  const m1 = ((A.lo >>> 23) | ((A.hi & 0x3fff) << 9)) >>> 0;
  const m2 = A.hi >>> 14;
  SQ.m3 = (m0 * (1 << s)) % L23;
  SQ.m4 = ((m1 * (1 << s)) % L23) + Math.floor((m0 * (1 << s)) / L23);
  SQ.m5 = m2 * (1 << s) + Math.floor((m1 * (1 << s)) / L23);
  const yd = Math.floor(Math.sqrt((A.hi * TWO32 + A.lo) * (shift === 71 ? 128 : 256)) * TWO32);
  SQ.y2 = Math.floor(yd / (L23 * L23));
  const rest = yd - SQ.y2 * L23 * L23;
  SQ.y1 = Math.floor(rest / L23);
  SQ.y0 = rest - SQ.y1 * L23;
  sqRemainder(0);
  SQ.y0 += Math.round(SQ.r / (2 * yd));
  sqNormalize();
  for (;;) {
    sqRemainder(0);
    if (SQ.sign < 0) {
      SQ.y0 -= 1;
      sqNormalize();
      continue;
    }
    const sign0 = SQ.sign;
    sqRemainder(1);
    if (SQ.sign >= 0) {
      SQ.y0 += 1;
      sqNormalize();
      continue;
    }
    SQ.sign = sign0;
    break;
  }
  W.sign = 0;
  W.exp = 67 + ((e - 63 - shift) >> 1) + BIAS;
  // Y has 68 bits (y2 22, y1 and y0 23 each): bit 67 becomes J (bit 31 of W.hi).
  W.hi = ((SQ.y2 << 10) | (SQ.y1 >>> 13)) >>> 0;
  W.lo = (((SQ.y1 & 0x1fff) << 19) | (SQ.y0 >>> 4)) >>> 0;
  W.x = ((SQ.y0 & 0xf) << 28) >>> 0;
  W.sticky = SQ.sign !== 0 ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// Comparison

/** Relations reported in R.q by compare(). */
export const REL_GT = 0;
export const REL_LT = 1;
export const REL_EQ = 2;
export const REL_UNORDERED = 3;

/**
 * Compares a with b; R.q receives the relation. `quiet` (FUCOM*) raises IE only for SNaNs and
 * unsupported operands; the ordered forms raise it for any NaN.
 */
export function compare(
  aSe: number,
  aH: number,
  aL: number,
  bSe: number,
  bH: number,
  bL: number,
  quiet: boolean,
): number {
  const aCls = classify(aSe, aH, aL);
  const bCls = classify(bSe, bH, bL);
  if (aCls >= CLS_QNAN || bCls >= CLS_QNAN) {
    R.q = REL_UNORDERED;
    if (aCls === CLS_UNSUPPORTED || bCls === CLS_UNSUPPORTED || aCls === CLS_SNAN || bCls === CLS_SNAN) return IE;
    return quiet ? 0 : IE;
  }
  const flags = aCls === CLS_DENORMAL || bCls === CLS_DENORMAL ? DE : memDenormal;
  R.q = compareOrdered(aSe, aH, aL, aCls, bSe, bH, bL, bCls);
  return flags;
}

function compareOrdered(
  aSe: number,
  aH: number,
  aL: number,
  aCls: number,
  bSe: number,
  bH: number,
  bL: number,
  bCls: number,
): number {
  if (aCls === CLS_ZERO && bCls === CLS_ZERO) return REL_EQ;
  const sa = aSe >>> 15;
  const sb = bSe >>> 15;
  if (aCls === CLS_ZERO) return sb !== 0 ? REL_GT : REL_LT;
  if (bCls === CLS_ZERO) return sa !== 0 ? REL_LT : REL_GT;
  if (sa !== sb) return sa !== 0 ? REL_LT : REL_GT;
  // Same sign, both non-zero: compare magnitudes (infinities have the largest exponent).
  let mag: number;
  if (aCls === CLS_INF || bCls === CLS_INF) {
    mag = aCls === bCls ? 0 : aCls === CLS_INF ? 1 : -1;
  } else {
    unpackA(aSe, aH, aL);
    unpackB(bSe, bH, bL);
    if (A.exp !== B.exp) mag = A.exp > B.exp ? 1 : -1;
    else if (A.hi !== B.hi) mag = A.hi > B.hi ? 1 : -1;
    else if (A.lo !== B.lo) mag = A.lo > B.lo ? 1 : -1;
    else mag = 0;
  }
  if (mag === 0) return REL_EQ;
  return mag > 0 !== (sa !== 0) ? REL_GT : REL_LT;
}

// ---------------------------------------------------------------------------------------------
// Integers

/** Exact conversion of a 64-bit signed integer (two's complement halves) into R. */
export function fromInt64(hi: number, lo: number): void {
  hi >>>= 0;
  lo >>>= 0;
  let sign = 0;
  if (hi >= J) {
    sign = 1;
    lo = TWO32 - lo;
    hi = 0xffffffff - hi;
    if (lo === TWO32) {
      lo = 0;
      hi += 1;
    }
    hi >>>= 0;
  }
  if ((hi | lo) === 0) {
    zeroResult(sign);
    return;
  }
  let e = BIAS + 63;
  if (hi === 0) {
    hi = lo;
    lo = 0;
    e -= 32;
  }
  const s = Math.clz32(hi);
  if (s !== 0) {
    hi = ((hi << s) | (lo >>> (32 - s))) >>> 0;
    lo = (lo << s) >>> 0;
    e -= s;
  }
  R.se = (sign << 15) | e;
  R.hi = hi;
  R.lo = lo;
  R.up = 0;
}

/** Exact conversion of a 32-bit signed integer into R. */
export function fromInt32(v: number): void {
  fromInt64(v < 0 ? 0xffffffff : 0, v >>> 0);
}

/**
 * Rounds a to an integer of `bits` (16, 32 or 64) bits per the rounding control (or toward zero
 * when `truncate`, for FISTTP). R.hi:R.lo receive the two's complement result; an out-of-range
 * value, NaN, infinity or unsupported operand raises IE and yields the integer indefinite.
 */
export function toInt(aSe: number, aH: number, aL: number, cw: number, bits: number, truncate: boolean): number {
  const cls = classify(aSe, aH, aL);
  R.up = 0;
  if (cls === CLS_ZERO) {
    R.hi = 0;
    R.lo = 0;
    return 0;
  }
  if (cls === CLS_INF || cls >= CLS_QNAN) {
    intIndefinite(bits);
    return IE;
  }
  const rc = truncate ? RC_ZERO : (cw >>> 10) & 3;
  unpackA(aSe, aH, aL);
  const e = A.exp - BIAS;
  let flags = 0;
  let mh: number;
  let ml: number;
  if (e >= 63) {
    if (e > 63) {
      intIndefinite(bits);
      return IE;
    }
    mh = A.hi;
    ml = A.lo;
  } else {
    W.sign = A.sign;
    W.hi = A.hi;
    W.lo = A.lo;
    W.x = 0;
    W.sticky = 0;
    W.exp = 0;
    shiftRightWork(63 - e);
    const d = roundDecision(64, rc);
    truncInc(64, d === 2);
    if (d !== 0) flags = PE;
    R.up = d === 2 ? 1 : 0;
    mh = W.hi;
    ml = W.lo;
  }
  // Range check on the magnitude: up to 2^(bits-1) - 1, or 2^(bits-1) when negative.
  let ok: boolean;
  if (bits === 64) ok = mh < J || (A.sign !== 0 && mh === J && ml === 0);
  else if (bits === 32) ok = mh === 0 && (ml < J || (A.sign !== 0 && ml === J));
  else ok = mh === 0 && (ml < 0x8000 || (A.sign !== 0 && ml === 0x8000));
  if (!ok) {
    intIndefinite(bits);
    R.up = 0;
    return IE;
  }
  if (A.sign !== 0 && (mh | ml) !== 0) {
    ml = TWO32 - ml;
    mh = 0xffffffff - mh;
    if (ml === TWO32) {
      ml = 0;
      mh += 1;
    }
    mh >>>= 0;
  }
  R.hi = mh;
  R.lo = ml;
  return flags;
}

function intIndefinite(bits: number): void {
  if (bits === 64) {
    R.hi = J;
    R.lo = 0;
  } else {
    R.hi = 0xffffffff;
    R.lo = bits === 32 ? J : 0xffff8000;
  }
  R.up = 0;
}

/** FRNDINT: a rounded to an integral value per the rounding control. */
export function roundToInt(aSe: number, aH: number, aL: number, cw: number): number {
  const cls = classify(aSe, aH, aL);
  R.up = 0;
  if (cls === CLS_UNSUPPORTED) {
    setIndefinite();
    return IE;
  }
  if (cls >= CLS_QNAN) return propagateNaN1(aSe, aH, aL, cls);
  if (cls === CLS_ZERO || cls === CLS_INF) {
    setResult(aSe, aH, aL);
    return 0;
  }
  const flags = cls === CLS_DENORMAL ? DE : 0;
  unpackA(aSe, aH, aL);
  const e = A.exp - BIAS;
  if (e >= 63) {
    setResult(aSe, aH, aL);
    return flags;
  }
  W.sign = A.sign;
  W.hi = A.hi;
  W.lo = A.lo;
  W.x = 0;
  W.sticky = 0;
  W.exp = 0;
  shiftRightWork(63 - e);
  const d = roundDecision(64, (cw >>> 10) & 3);
  truncInc(64, d === 2);
  R.up = d === 2 ? 1 : 0;
  if ((W.hi | W.lo) === 0) {
    zeroResult(A.sign);
    return d !== 0 ? flags | PE : flags;
  }
  W.exp = BIAS + 63;
  normalizeWork();
  R.se = (A.sign << 15) | W.exp;
  R.hi = W.hi;
  R.lo = W.lo;
  return d !== 0 ? flags | PE : flags;
}

// ---------------------------------------------------------------------------------------------
// Memory reals

/** Loads a single-precision value (raw bits) into R; DE for denormals, IE for SNaNs. */
export function fromFloat32(bits: number): number {
  const sign = bits >>> 31;
  const e = (bits >>> 23) & 0xff;
  const frac = bits & 0x7fffff;
  R.up = 0;
  if (e === 0xff) {
    R.se = (sign << 15) | EXP_MAX;
    R.hi = (J | (frac << 8)) >>> 0;
    R.lo = 0;
    if (frac === 0) return 0;
    if ((frac & 0x400000) === 0) {
      R.hi = (R.hi | QUIET) >>> 0;
      return IE;
    }
    return 0;
  }
  if (e === 0) {
    if (frac === 0) {
      zeroResult(sign);
      return 0;
    }
    const s = Math.clz32(frac) - 8; // leading zeros within the 24-bit significand (J is 0)
    R.se = (sign << 15) | (BIAS - 126 - s);
    R.hi = (frac << (8 + s)) >>> 0;
    R.lo = 0;
    return DE;
  }
  R.se = (sign << 15) | (e - 127 + BIAS);
  R.hi = (J | (frac << 8)) >>> 0;
  R.lo = 0;
  return 0;
}

/** Loads a double-precision value (raw halves) into R; DE for denormals, IE for SNaNs. */
export function fromFloat64(hi: number, lo: number): number {
  hi >>>= 0;
  lo >>>= 0;
  const sign = hi >>> 31;
  const e = (hi >>> 20) & 0x7ff;
  const fh = hi & 0xfffff;
  R.up = 0;
  if (e === 0x7ff) {
    R.se = (sign << 15) | EXP_MAX;
    R.hi = (J | (fh << 11) | (lo >>> 21)) >>> 0;
    R.lo = (lo << 11) >>> 0;
    if ((fh | lo) === 0) return 0;
    if ((fh & 0x80000) === 0) {
      R.hi = (R.hi | QUIET) >>> 0;
      return IE;
    }
    return 0;
  }
  if (e === 0) {
    if ((fh | lo) === 0) {
      zeroResult(sign);
      return 0;
    }
    // Significand 0.f: place f (52 bits) below J and normalize.
    let h = ((fh << 11) | (lo >>> 21)) >>> 0;
    let l = (lo << 11) >>> 0;
    let ex = BIAS - 1022;
    if (h === 0) {
      h = l;
      l = 0;
      ex -= 32;
    }
    const s = Math.clz32(h);
    if (s !== 0) {
      h = ((h << s) | (l >>> (32 - s))) >>> 0;
      l = (l << s) >>> 0;
      ex -= s;
    }
    R.se = (sign << 15) | ex;
    R.hi = h;
    R.lo = l;
    return DE;
  }
  R.se = (sign << 15) | (e - 1023 + BIAS);
  R.hi = (J | (fh << 11) | (lo >>> 21)) >>> 0;
  R.lo = (lo << 11) >>> 0;
  return 0;
}

const F32_EMIN = BIAS - 126;
const F32_EMAX = BIAS + 127;
const F64_EMIN = BIAS - 1022;
const F64_EMAX = BIAS + 1023;

/**
 * Rounds a to single precision per the rounding control; R.lo receives the raw bits. Unmasked
 * OE/UE are reported in the flags and the caller must not store.
 */
export function toFloat32(aSe: number, aH: number, aL: number, cw: number): number {
  const cls = classify(aSe, aH, aL);
  const sign = aSe >>> 15;
  R.up = 0;
  switch (cls) {
    case CLS_ZERO:
      R.lo = (sign << 31) >>> 0;
      return 0;
    case CLS_INF:
      R.lo = ((sign << 31) | 0x7f800000) >>> 0;
      return 0;
    case CLS_UNSUPPORTED:
      R.lo = 0xffc00000;
      return IE;
    case CLS_QNAN:
    case CLS_SNAN:
      R.lo = ((sign << 31) | 0x7fc00000 | ((aH >>> 8) & 0x7fffff)) >>> 0;
      return cls === CLS_SNAN ? IE : 0;
  }
  unpackA(aSe, aH, aL);
  W.sign = A.sign;
  W.exp = A.exp;
  W.hi = A.hi;
  W.lo = A.lo;
  W.x = 0;
  W.sticky = 0;
  const flags = roundWork(24, (cw >>> 10) & 3, F32_EMIN, F32_EMAX, cw, 0);
  let field: number;
  if (W.exp > F32_EMAX) field = 0xff;
  else if ((W.hi & J) === 0) field = 0;
  else field = W.exp - F32_EMIN + 1;
  R.lo = ((sign << 31) | (field << 23) | ((W.hi >>> 8) & 0x7fffff)) >>> 0;
  return flags;
}

/** Rounds a to double precision; R.hi:R.lo receive the raw halves. */
export function toFloat64(aSe: number, aH: number, aL: number, cw: number): number {
  const cls = classify(aSe, aH, aL);
  const sign = aSe >>> 15;
  R.up = 0;
  switch (cls) {
    case CLS_ZERO:
      R.hi = (sign << 31) >>> 0;
      R.lo = 0;
      return 0;
    case CLS_INF:
      R.hi = ((sign << 31) | 0x7ff00000) >>> 0;
      R.lo = 0;
      return 0;
    case CLS_UNSUPPORTED:
      R.hi = 0xfff80000;
      R.lo = 0;
      return IE;
    case CLS_QNAN:
    case CLS_SNAN:
      R.hi = ((sign << 31) | 0x7ff80000 | ((aH >>> 11) & 0xfffff)) >>> 0;
      R.lo = ((aH << 21) | (aL >>> 11)) >>> 0;
      return cls === CLS_SNAN ? IE : 0;
  }
  unpackA(aSe, aH, aL);
  W.sign = A.sign;
  W.exp = A.exp;
  W.hi = A.hi;
  W.lo = A.lo;
  W.x = 0;
  W.sticky = 0;
  const flags = roundWork(53, (cw >>> 10) & 3, F64_EMIN, F64_EMAX, cw, 0);
  let field: number;
  if (W.exp > F64_EMAX) field = 0x7ff;
  else if ((W.hi & J) === 0) field = 0;
  else field = W.exp - F64_EMIN + 1;
  R.hi = ((sign << 31) | (field << 20) | ((W.hi >>> 11) & 0xfffff)) >>> 0;
  R.lo = ((W.hi << 21) | (W.lo >>> 11)) >>> 0;
  return flags;
}

// ---------------------------------------------------------------------------------------------
// Packed BCD (18 digits, sign in bit 7 of byte 9)

/** Loads packed BCD; digits above 9 are taken at face value, as the hardware does. */
export function fromBcd(mem: Uint8Array, off: number): void {
  let low = 0;
  let high = 0;
  for (let i = 8; i >= 0; i--) {
    const b = mem[off + i];
    const d = (b >>> 4) * 10 + (b & 15);
    if (i >= 5) high = high * 100 + d;
    else low = low * 100 + d;
  }
  // value = high * 10^10 + low? No: bytes 0..4 hold 10 digits, bytes 5..8 hold 8 digits.
  // high * 10^10 = high * 9765625 * 2^10 with high * 9765625 < 2^53.
  const t = high * 9765625;
  const tHi = Math.floor(t / 4194304); // t = tHi * 2^22 + tLo, so t * 2^10 = tHi * 2^32 + tLo * 2^10
  const tLo = t - tHi * 4194304;
  let lo = tLo * 1024 + low;
  let hi = tHi;
  const carry = Math.floor(lo / TWO32);
  lo -= carry * TWO32;
  hi += carry;
  const neg = (mem[off + 9] & 0x80) !== 0;
  if (neg) {
    if ((hi | lo) === 0) {
      zeroResult(1);
      return;
    }
    lo = TWO32 - lo;
    hi = 0xffffffff - hi;
    if (lo === TWO32) {
      lo = 0;
      hi += 1;
    }
  }
  fromInt64(hi >>> 0, lo >>> 0);
  if (neg && (R.se & 0x8000) === 0) R.se |= 0x8000;
}

/**
 * FBSTP conversion: rounds a to an integer per the rounding control and writes 10 BCD bytes into
 * `out` at `off`. Values of 10^18 or more, NaNs, infinities and unsupported operands raise IE and
 * store the packed BCD indefinite.
 */
export function toBcd(aSe: number, aH: number, aL: number, cw: number, out: Uint8Array, off: number): number {
  const sign = aSe >>> 15;
  let flags = toInt(aSe, aH, aL, cw, 64, false);
  let mh = R.hi;
  let ml = R.lo;
  if ((flags & IE) === 0 && sign !== 0 && (mh | ml) !== 0) {
    ml = TWO32 - ml;
    mh = 0xffffffff - mh;
    if (ml === TWO32) {
      ml = 0;
      mh += 1;
    }
  }
  // 10^18 = 0x0DE0B6B3_A7640000
  if ((flags & IE) === 0 && (mh > 0x0de0b6b3 || (mh === 0x0de0b6b3 && ml >= 0xa7640000))) {
    flags = IE;
    R.up = 0;
  }
  if ((flags & IE) !== 0) {
    for (let i = 0; i < 7; i++) out[off + i] = 0;
    out[off + 7] = 0xc0;
    out[off + 8] = 0xff;
    out[off + 9] = 0xff;
    return flags;
  }
  // Split into two 9-digit halves: value = q * 10^9 + r.
  const x = mh * 65536 + (ml >>> 16);
  const qa = Math.floor(x / 1e9);
  const y = (x - qa * 1e9) * 65536 + (ml & 0xffff);
  const qb = Math.floor(y / 1e9);
  let r = y - qb * 1e9;
  let q = qa * 65536 + qb;
  for (let i = 0; i < 9; i++) {
    const d = i < 4 ? r % 100 : i === 4 ? (r % 10) + (q % 10) * 10 : q % 100;
    if (i < 4) r = (r - d) / 100;
    else if (i === 4) {
      r = 0;
      q = (q - (q % 10)) / 10;
    } else q = (q - d) / 100;
    out[off + i] = ((Math.floor(d / 10) << 4) | (d % 10)) & 0xff;
  }
  out[off + 9] = sign !== 0 ? 0x80 : 0;
  return flags;
}

// ---------------------------------------------------------------------------------------------
// FPREM, FPREM1, FSCALE, FXTRACT

/**
 * Bits of quotient one FPREM/FPREM1 step develops when the exponents differ by 64 or more (the
 * SDM leaves it between 32 and 63; this is the processor's choice).
 */
function partialRemainderBits(d: number): number {
  return 32 + (d & 31);
}

/**
 * FPREM (`ieee` false: quotient truncated) or FPREM1 (quotient rounded to nearest even).
 * R.q receives the three low quotient bits; R.up is 1 for an incomplete (partial) reduction (C2).
 */
export function remainder(
  aSe: number,
  aH: number,
  aL: number,
  bSe: number,
  bH: number,
  bL: number,
  cw: number,
  ieee: boolean,
): number {
  const aCls = classify(aSe, aH, aL);
  const bCls = classify(bSe, bH, bL);
  R.q = 0;
  R.up = 0;
  if (aCls === CLS_UNSUPPORTED || bCls === CLS_UNSUPPORTED) {
    setIndefinite();
    return IE;
  }
  if (aCls >= CLS_QNAN || bCls >= CLS_QNAN) return propagateNaN(aSe, aH, aL, aCls, bSe, bH, bL, bCls);
  if (aCls === CLS_INF || bCls === CLS_ZERO) {
    setIndefinite();
    return IE;
  }
  let flags = aCls === CLS_DENORMAL || bCls === CLS_DENORMAL ? DE : 0;
  if (aCls === CLS_ZERO || bCls === CLS_INF) {
    setResult(aSe, aH, aL);
    if (aCls === CLS_DENORMAL) {
      // A denormal dividend is returned as is, but normalized if the destination allows it.
      unpackA(aSe, aH, aL);
      W.sign = A.sign;
      W.exp = A.exp;
      W.hi = A.hi;
      W.lo = A.lo;
      W.x = 0;
      W.sticky = 0;
      flags |= roundToReg(64, cw);
    }
    return flags;
  }
  unpackA(aSe, aH, aL);
  unpackB(bSe, bH, bL);
  let d = A.exp - B.exp;
  let scaleExp = B.exp;
  let partial = false;
  if (d >= 64) {
    const n = partialRemainderBits(d);
    scaleExp = B.exp + (d - n);
    d = n;
    partial = true;
  }
  let sign = A.sign;
  let q = 0;
  // Remainder r (65 bits: rc:rh:rl) of A * 2^d by B, quotient bits collected in q (low 3 only).
  let rh = A.hi;
  let rl = A.lo;
  if (d < 0) {
    // |a| < |b|: quotient 0, remainder a itself (value scale of a).
    if (ieee && d === -1 && (A.hi > B.hi || (A.hi === B.hi && A.lo > B.lo))) {
      // |b|/2 < |a| < |b|: quotient 1; the result |b| - |a| = (B - A/2) * 2^(bExp - 63) takes
      // the opposite sign of a. A/2 needs one bit below the significand (top bit of wX).
      const xh = A.hi >>> 1;
      const xl = ((A.lo >>> 1) | (A.hi << 31)) >>> 0;
      let x = 0;
      let bw = 0;
      if ((A.lo & 1) !== 0) {
        x = J;
        bw = 1;
      }
      let nl = B.lo - xl - bw;
      bw = 0;
      if (nl < 0) {
        nl += TWO32;
        bw = 1;
      }
      W.sign = A.sign ^ 1;
      W.exp = B.exp;
      W.hi = B.hi - xh - bw;
      W.lo = nl;
      W.x = x;
      W.sticky = 0;
      normalizeWork();
      flags |= roundToReg(64, cw);
      R.q = 1;
      R.up = 0;
      return flags;
    }
    setResult(aSe, aH, aL);
    if (aCls === CLS_DENORMAL) {
      W.sign = A.sign;
      W.exp = A.exp;
      W.hi = A.hi;
      W.lo = A.lo;
      W.x = 0;
      W.sticky = 0;
      flags |= roundToReg(64, cw);
    }
    return flags;
  }
  if (rh > B.hi || (rh === B.hi && rl >= B.lo)) {
    rl -= B.lo;
    let bw = 0;
    if (rl < 0) {
      rl += TWO32;
      bw = 1;
    }
    rh = rh - B.hi - bw;
    q = 1;
  }
  for (let i = 0; i < d; i++) {
    const top = rh >>> 31;
    rh = ((rh << 1) | (rl >>> 31)) >>> 0;
    rl = (rl << 1) >>> 0;
    q = (q << 1) & 7;
    if (top !== 0 || rh > B.hi || (rh === B.hi && rl >= B.lo)) {
      rl -= B.lo;
      let bw = 0;
      if (rl < 0) {
        rl += TWO32;
        bw = 1;
      }
      rh = rh - B.hi - bw;
      if (rh < 0) rh += TWO32;
      q |= 1;
    }
  }
  if (ieee && !partial && (rh | rl) !== 0) {
    // Round the quotient to nearest: compare 2r with B.
    const top = rh >>> 31;
    const r2h = ((rh << 1) | (rl >>> 31)) >>> 0;
    const r2l = (rl << 1) >>> 0;
    const gt = top !== 0 || r2h > B.hi || (r2h === B.hi && r2l > B.lo);
    const eq = top === 0 && r2h === B.hi && r2l === B.lo;
    if (gt || (eq && (q & 1) !== 0)) {
      // r := B - r, sign flips, quotient + 1.
      let nl = B.lo - rl;
      let bw = 0;
      if (nl < 0) {
        nl += TWO32;
        bw = 1;
      }
      rh = B.hi - rh - bw;
      rl = nl;
      sign ^= 1;
      q = (q + 1) & 7;
    }
  }
  R.q = q;
  if ((rh | rl) === 0) {
    zeroResult(A.sign);
    R.q = q;
    R.up = partial ? 1 : 0;
    return flags;
  }
  W.sign = sign;
  W.exp = scaleExp;
  W.hi = rh;
  W.lo = rl;
  W.x = 0;
  W.sticky = 0;
  normalizeWork();
  flags |= roundToReg(64, cw);
  R.q = q;
  R.up = partial ? 1 : 0;
  return flags;
}

/** FSCALE: a * 2^trunc(b). */
export function scale(aSe: number, aH: number, aL: number, bSe: number, bH: number, bL: number, cw: number): number {
  const aCls = classify(aSe, aH, aL);
  const bCls = classify(bSe, bH, bL);
  R.up = 0;
  if (aCls === CLS_UNSUPPORTED || bCls === CLS_UNSUPPORTED) {
    setIndefinite();
    return IE;
  }
  if (aCls >= CLS_QNAN || bCls >= CLS_QNAN) return propagateNaN(aSe, aH, aL, aCls, bSe, bH, bL, bCls);
  const bNeg = bSe >>> 15;
  let flags = aCls === CLS_DENORMAL || bCls === CLS_DENORMAL ? DE : 0;
  if (bCls === CLS_INF) {
    if (bNeg !== 0) {
      if (aCls === CLS_INF) {
        setIndefinite();
        return IE;
      }
      zeroResult(aSe >>> 15);
      return flags;
    }
    if (aCls === CLS_ZERO) {
      setIndefinite();
      return IE;
    }
    infResult(aSe >>> 15);
    return flags;
  }
  if (aCls === CLS_ZERO || aCls === CLS_INF) {
    setResult(aSe, aH, aL);
    return flags;
  }
  // n = trunc(b), clamped: anything beyond +-2^16 over/underflows the same way.
  let n = 0;
  if (bCls !== CLS_ZERO) {
    unpackB(bSe, bH, bL);
    const e = B.exp - BIAS;
    if (e >= 16) n = 0x10000;
    else if (e >= 0) n = B.hi >>> (31 - e);
    if (bNeg !== 0) n = -n;
  }
  unpackA(aSe, aH, aL);
  W.sign = A.sign;
  W.exp = A.exp + n;
  W.hi = A.hi;
  W.lo = A.lo;
  W.x = 0;
  W.sticky = 0;
  flags |= roundToReg(64, cw);
  return flags;
}

/**
 * FXTRACT: R receives the exponent (as a real) and R.se2:hi2:lo2 the significand with exponent 0.
 * Zero raises ZE with an exponent of minus infinity.
 */
export function extract(aSe: number, aH: number, aL: number): number {
  const cls = classify(aSe, aH, aL);
  R.up = 0;
  if (cls === CLS_UNSUPPORTED) {
    setIndefinite();
    R.se2 = R.se;
    R.hi2 = R.hi;
    R.lo2 = R.lo;
    return IE;
  }
  if (cls >= CLS_QNAN) {
    const f = propagateNaN1(aSe, aH, aL, cls);
    R.se2 = R.se;
    R.hi2 = R.hi;
    R.lo2 = R.lo;
    return f;
  }
  if (cls === CLS_ZERO) {
    R.se2 = aSe;
    R.hi2 = 0;
    R.lo2 = 0;
    infResult(1);
    return ZE;
  }
  if (cls === CLS_INF) {
    R.se2 = aSe;
    R.hi2 = aH;
    R.lo2 = aL;
    infResult(0);
    return 0;
  }
  unpackA(aSe, aH, aL);
  R.se2 = (A.sign << 15) | BIAS;
  R.hi2 = A.hi;
  R.lo2 = A.lo;
  const e = A.exp - BIAS;
  fromInt32(e);
  return cls === CLS_DENORMAL ? DE : 0;
}

/**
 * Rounds an externally computed value for a register destination: sign, biased exponent
 * (unbounded), a normalized 64-bit significand, 32 further bits and a sticky bit. Used by the
 * transcendental functions, which compute their results with more bits than needed.
 */
export function roundExternal(
  sign: number,
  exp: number,
  hi: number,
  lo: number,
  x: number,
  sticky: number,
  cw: number,
): number {
  W.sign = sign;
  W.exp = exp;
  W.hi = hi;
  W.lo = lo;
  W.x = x;
  W.sticky = sticky;
  return roundToReg(64, cw);
}
