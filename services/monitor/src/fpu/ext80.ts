// Exact arithmetic on 80-bit extended values, as the x87 computes it.
//
// A value travels as three numbers: `se` (sign in bit 15, biased exponent in bits 14..0) and the
// 64-bit significand in `hi`/`lo` (unsigned 32-bit halves, the explicit integer bit J is bit 31 of
// `hi`). Every operation takes raw operands and the control word, writes its result into `R` and
// returns the exception flags it raised (IE, DE, ZE, OE, UE, PE as in the status word). Unmasked
// exceptions are not acted on here: the caller decides from the flags and the control word whether
// the result is stored (see fpu.ts). No BigInt and no allocation: intermediate significands live in
// module-level 32-bit words.

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

// Working value: sign, unbounded biased exponent, 96-bit significand window hi:lo:x and a sticky
// bit for anything below it. Normalized means wHi bit 31 set.
let wSign = 0;
let wExp = 0;
let wHi = 0;
let wLo = 0;
let wX = 0;
let wSt = 0;

// Unpacked operands (normalized; denormals get exponents below 1).
let aSign = 0;
let aExp = 0;
let aHi = 0;
let aLo = 0;
let bSign = 0;
let bExp = 0;
let bHi = 0;
let bLo = 0;

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
  aSign = se >>> 15;
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
  aExp = e;
  aHi = hi;
  aLo = lo;
}

function unpackB(se: number, hi: number, lo: number): void {
  bSign = se >>> 15;
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
  bExp = e;
  bHi = hi;
  bLo = lo;
}

/** Shifts the working significand right by n bits, collecting lost bits in the sticky bit. */
function shiftRightWork(n: number): void {
  if (n <= 0) return;
  if (n >= 96) {
    if ((wHi | wLo | wX) !== 0) wSt = 1;
    wHi = wLo = wX = 0;
    return;
  }
  while (n >= 32) {
    if (wX !== 0) wSt = 1;
    wX = wLo;
    wLo = wHi;
    wHi = 0;
    n -= 32;
  }
  if (n > 0) {
    if (wX << (32 - n) !== 0) wSt = 1;
    wX = ((wX >>> n) | (wLo << (32 - n))) >>> 0;
    wLo = ((wLo >>> n) | (wHi << (32 - n))) >>> 0;
    wHi = wHi >>> n;
  }
}

/** Normalizes the working significand to the left; returns false if it is zero. */
function normalizeWork(): boolean {
  if (wHi === 0) {
    if (wLo === 0 && wX === 0) {
      if (wSt === 0) return false;
      // Only sticky bits remain; cannot happen for the operations here (exact cancellation has no sticky).
      wHi = J;
      wExp -= 96;
      return true;
    }
    while (wHi === 0) {
      wHi = wLo;
      wLo = wX;
      wX = 0;
      wExp -= 32;
    }
  }
  const s = Math.clz32(wHi);
  if (s !== 0) {
    wHi = ((wHi << s) | (wLo >>> (32 - s))) >>> 0;
    wLo = ((wLo << s) | (wX >>> (32 - s))) >>> 0;
    wX = (wX << s) >>> 0;
    wExp -= s;
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
    half = wX >>> 31;
    rest = (wX & 0x7fffffff) | wSt;
    lsb = wLo & 1;
  } else if (prec === 53) {
    half = (wLo >>> 10) & 1;
    rest = (wLo & 0x3ff) | wX | wSt;
    lsb = (wLo >>> 11) & 1;
  } else {
    half = (wHi >>> 7) & 1;
    rest = (wHi & 0x7f) | wLo | wX | wSt;
    lsb = (wHi >>> 8) & 1;
  }
  if (half === 0 && rest === 0) return 0;
  switch (rc) {
    case RC_NEAREST:
      return half !== 0 && (rest !== 0 || lsb !== 0) ? 2 : 1;
    case RC_DOWN:
      return wSign !== 0 ? 2 : 1;
    case RC_UP:
      return wSign !== 0 ? 1 : 2;
    default:
      return 1;
  }
}

/** True if every kept significand bit at `prec` is one (an increment carries out). */
function allOnes(prec: number): boolean {
  if (prec === 64) return wHi === 0xffffffff && wLo === 0xffffffff;
  if (prec === 53) return wHi === 0xffffffff && wLo >>> 11 === 0x1fffff;
  return wHi >>> 8 === 0xffffff;
}

/** Clears the bits below `prec` and adds one unit in the last place if `inc`. */
function truncInc(prec: number, inc: boolean): void {
  wX = 0;
  wSt = 0;
  if (prec === 64) {
    if (inc) {
      wLo += 1;
      if (wLo === TWO32) {
        wLo = 0;
        wHi += 1;
        if (wHi === TWO32) {
          wHi = J;
          wExp++;
        }
      }
    }
  } else if (prec === 53) {
    wLo = (wLo & 0xfffff800) >>> 0;
    if (inc) {
      wLo += 0x800;
      if (wLo >= TWO32) {
        wLo -= TWO32;
        wHi += 1;
        if (wHi === TWO32) {
          wHi = J;
          wExp++;
        }
      }
    }
  } else {
    wLo = 0;
    wHi = (wHi & 0xffffff00) >>> 0;
    if (inc) {
      wHi += 0x100;
      if (wHi >= TWO32) {
        wHi = J;
        wExp++;
      }
    }
  }
}

/**
 * Rounds the normalized, non-zero working value to `prec` significand bits and the exponent range
 * [eMin, eMax] (in extended bias) under rounding control `rc`, honouring the OE/UE masks of `cw`.
 * Tininess is detected after rounding with an unbounded exponent, as the x87 does. On return the
 * working registers hold the result: a denormal has J clear and wExp = eMin; an infinity has
 * wExp = eMax + 1. Unmasked overflow/underflow leave the exponent adjusted by `adjust`
 * (BIAS_ADJUST for a register destination; memory destinations are not stored at all).
 * Sets R.up and returns the flags.
 */
function roundWork(prec: number, rc: number, eMin: number, eMax: number, cw: number, adjust: number): number {
  let flags = 0;
  if (wExp < eMin) {
    const d = roundDecision(prec, rc);
    const tiny = !(wExp === eMin - 1 && d === 2 && allOnes(prec));
    if (tiny) {
      if ((cw & UE) === 0) {
        truncInc(prec, d === 2);
        R.up = d === 2 ? 1 : 0;
        wExp += adjust;
        if (wExp < eMin && adjust !== 0) {
          // Too small even after the bias adjustment (FSCALE): a signed zero.
          wHi = wLo = 0;
          R.up = 0;
          return UE | PE;
        }
        return d !== 0 ? UE | PE : UE;
      }
      shiftRightWork(eMin - wExp);
      wExp = eMin;
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
  if (wExp > eMax) {
    if ((cw & OE) === 0) {
      wExp -= adjust;
      if (wExp > eMax) {
        // Too large even after the bias adjustment (FSCALE): a signed infinity.
        wExp = eMax + 1;
        wHi = J;
        wLo = 0;
        R.up = 1;
        return OE | PE;
      }
      return flags | OE;
    }
    flags |= OE | PE;
    if (rc === RC_NEAREST || (rc === RC_UP && wSign === 0) || (rc === RC_DOWN && wSign !== 0)) {
      wExp = eMax + 1;
      wHi = J;
      wLo = 0;
      R.up = 1;
    } else {
      wExp = eMax;
      if (prec === 64) {
        wHi = 0xffffffff;
        wLo = 0xffffffff;
      } else if (prec === 53) {
        wHi = 0xffffffff;
        wLo = 0xfffff800;
      } else {
        wHi = 0xffffff00;
        wLo = 0;
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
  let e = wExp;
  if ((wHi & J) === 0)
    e = 0; // denormal or zero
  else if (e > EXP_MAX) e = EXP_MAX;
  else if (e < 0) e = 0;
  R.se = (wSign << 15) | (e & EXP_MAX);
  R.hi = wHi;
  R.lo = wLo;
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
    wSign = aSign;
    wExp = aExp;
    wHi = aHi;
    wLo = aLo;
    wX = 0;
    wSt = 0;
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
  if (bExp > aExp || (bExp === aExp && (bHi > aHi || (bHi === aHi && bLo > aLo)))) {
    let t = aSign;
    aSign = bSign;
    bSign = t;
    t = aExp;
    aExp = bExp;
    bExp = t;
    t = aHi;
    aHi = bHi;
    bHi = t;
    t = aLo;
    aLo = bLo;
    bLo = t;
  }
  const d = aExp - bExp;
  // Align b into the working window.
  wHi = bHi;
  wLo = bLo;
  wX = 0;
  wSt = 0;
  shiftRightWork(d);
  const bh = wHi;
  const bl = wLo;
  const bx = wX;
  const bst = wSt;
  wSign = aSign;
  wExp = aExp;
  if (aSign === bSign) {
    let lo = aLo + bl;
    let c = lo >= TWO32 ? 1 : 0;
    if (c !== 0) lo -= TWO32;
    let hi = aHi + bh + c;
    wX = bx;
    wSt = bst;
    if (hi >= TWO32) {
      hi -= TWO32;
      if ((wX & 1) !== 0) wSt = 1;
      wX = ((wX >>> 1) | (lo << 31)) >>> 0;
      lo = ((lo >>> 1) | (hi << 31)) >>> 0;
      hi = ((hi >>> 1) | J) >>> 0;
      wExp++;
    }
    wHi = hi;
    wLo = lo;
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
  let lo = aLo - bl - borrow;
  borrow = 0;
  if (lo < 0) {
    lo += TWO32;
    borrow = 1;
  }
  const hi = aHi - bh - borrow;
  wHi = hi;
  wLo = lo;
  wX = x;
  wSt = bst;
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

/**
 * One 32-bit quotient digit of the quick division: r := r * 2^32 mod B, returns floor(r * 2^32 / B).
 * The remainder (below B) lives in qr0..qr3 and B in qb0..qb3, all 16-bit limbs.
 */
let qr0 = 0;
let qr1 = 0;
let qr2 = 0;
let qr3 = 0;
let qb0 = 0;
let qb1 = 0;
let qb2 = 0;
let qb3 = 0;
let qbd = 0;

function quotientDigit(): number {
  // A double estimate is within one of the digit.
  let d = Math.floor(((((qr3 * 65536 + qr2) * 65536 + qr1) * 65536 + qr0) / qbd) * TWO32);
  if (d > 0xffffffff) d = 0xffffffff;
  const d0 = d & 0xffff;
  const d1 = (d - d0) / 65536;
  // t = r * 2^32 - d * B, limb by limb with signed carries.
  let c = -(d0 * qb0);
  let t0 = c & 0xffff;
  c = (c - t0) / 65536 - (d0 * qb1 + d1 * qb0);
  let t1 = c & 0xffff;
  c = (c - t1) / 65536 + qr0 - (d0 * qb2 + d1 * qb1);
  let t2 = c & 0xffff;
  c = (c - t2) / 65536 + qr1 - (d0 * qb3 + d1 * qb2);
  let t3 = c & 0xffff;
  c = (c - t3) / 65536 + qr2 - d1 * qb3;
  let t4 = c & 0xffff;
  let t5 = (c - t4) / 65536 + qr3;
  if (t5 < 0) {
    // One too many: add B back.
    d--;
    c = t0 + qb0;
    t0 = c & 0xffff;
    c = (c - t0) / 65536 + t1 + qb1;
    t1 = c & 0xffff;
    c = (c - t1) / 65536 + t2 + qb2;
    t2 = c & 0xffff;
    c = (c - t2) / 65536 + t3 + qb3;
    t3 = c & 0xffff;
    c = (c - t3) / 65536 + t4;
    t4 = c & 0xffff;
    t5 += (c - t4) / 65536;
  } else if (
    t5 > 0 ||
    t4 > 0 ||
    t3 > qb3 ||
    (t3 === qb3 && (t2 > qb2 || (t2 === qb2 && (t1 > qb1 || (t1 === qb1 && t0 >= qb0)))))
  ) {
    // One too few: subtract B once more.
    d++;
    c = t0 - qb0;
    t0 = c & 0xffff;
    c = (c - t0) / 65536 + t1 - qb1;
    t1 = c & 0xffff;
    c = (c - t1) / 65536 + t2 - qb2;
    t2 = c & 0xffff;
    c = (c - t2) / 65536 + t3 - qb3;
    t3 = c & 0xffff;
  }
  qr0 = t0;
  qr1 = t1;
  qr2 = t2;
  qr3 = t3;
  return d;
}

/** a / b for two normal operands at 64-bit precision, rounding to nearest; -1 if out of range. */
function divQuick(aSe: number, aH: number, aL: number, bSe: number, bH: number, bL: number): number {
  qb0 = bL & 0xffff;
  qb1 = bL >>> 16;
  qb2 = bH & 0xffff;
  qb3 = bH >>> 16;
  qbd = bH * TWO32 + bL;
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
  qr0 = rl & 0xffff;
  qr1 = rl >>> 16;
  qr2 = rh & 0xffff;
  qr3 = rh >>> 16;
  const q1 = quotientDigit();
  const q2 = quotientDigit();
  const q3 = quotientDigit();
  let hi: number;
  let lo: number;
  let x: number;
  let st = (qr0 | qr1 | qr2 | qr3) !== 0 ? 1 : 0;
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

let p3 = 0;
let p2 = 0;
let p1 = 0;
let p0 = 0;

/** 64 x 64 -> 128-bit product of two significands into p3:p2:p1:p0. */
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
  p0 = r1 * 65536 + r0;
  p1 = r3 * 65536 + r2;
  p2 = r5 * 65536 + r4;
  p3 = r7 * 65536 + r6;
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
  mul64(aHi, aLo, bHi, bLo);
  wSign = aSign ^ bSign;
  wExp = aExp + bExp - BIAS;
  if (p3 >= J) {
    wExp++;
    wHi = p3;
    wLo = p2;
    wX = p1;
  } else {
    wHi = ((p3 << 1) | (p2 >>> 31)) >>> 0;
    wLo = ((p2 << 1) | (p1 >>> 31)) >>> 0;
    wX = ((p1 << 1) | (p0 >>> 31)) >>> 0;
    p0 = (p0 << 1) >>> 0;
  }
  wSt = p0 !== 0 ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// Division

// Quotient digits (16 bits each) of the last long division.
let qInt = 0;
let q0 = 0;
let q1 = 0;
let q2 = 0;
let q3 = 0;
let q4 = 0;
let remNonZero = 0;

// Remainder limbs (16 bits each, r4 most significant) and divisor limbs.
let r0 = 0;
let r1 = 0;
let r2 = 0;
let r3 = 0;
let r4 = 0;
let v0 = 0;
let v1 = 0;
let v2 = 0;
let v3 = 0;
let vApprox = 0;

/**
 * One 16-bit quotient digit: r := r * 2^16, returns floor(r / v) and leaves r mod v.
 * The remainder before the step is below v.
 */
function divDigit(): number {
  // Shift r left by one limb (r4 is 0 before the shift because r < v < 2^64).
  r4 = r3;
  r3 = r2;
  r2 = r1;
  r1 = r0;
  r0 = 0;
  const num = ((r4 * 65536 + r3) * 65536 + r2) * 65536 + r1;
  let qd = Math.floor((num * 65536) / vApprox);
  if (qd > 0xffff) qd = 0xffff;
  // r -= qd * v, exactly, with signed limb carries (`& 0xffff` is the non-negative residue).
  let c = r0 - qd * v0;
  let t0 = c & 0xffff;
  c = (c - t0) / 65536 + r1 - qd * v1;
  let t1 = c & 0xffff;
  c = (c - t1) / 65536 + r2 - qd * v2;
  let t2 = c & 0xffff;
  c = (c - t2) / 65536 + r3 - qd * v3;
  let t3 = c & 0xffff;
  let t4 = (c - t3) / 65536 + r4;
  while (t4 < 0) {
    // Estimate one too large: add the divisor back.
    qd--;
    t0 += v0;
    t1 += v1 + (t0 >= 65536 ? 1 : 0);
    if (t0 >= 65536) t0 -= 65536;
    t2 += v2 + (t1 >= 65536 ? 1 : 0);
    if (t1 >= 65536) t1 -= 65536;
    t3 += v3 + (t2 >= 65536 ? 1 : 0);
    if (t2 >= 65536) t2 -= 65536;
    t4 += t3 >= 65536 ? 1 : 0;
    if (t3 >= 65536) t3 -= 65536;
  }
  // Estimate one too small: subtract once more while r >= v.
  while (t4 > 0 || t3 > v3 || (t3 === v3 && (t2 > v2 || (t2 === v2 && (t1 > v1 || (t1 === v1 && t0 >= v0)))))) {
    qd++;
    t0 -= v0;
    t1 -= v1 + (t0 < 0 ? 1 : 0);
    if (t0 < 0) t0 += 65536;
    t2 -= v2 + (t1 < 0 ? 1 : 0);
    if (t1 < 0) t1 += 65536;
    t3 -= v3 + (t2 < 0 ? 1 : 0);
    if (t2 < 0) t2 += 65536;
    t4 -= t3 < 0 ? 1 : 0;
    if (t3 < 0) t3 += 65536;
  }
  r0 = t0;
  r1 = t1;
  r2 = t2;
  r3 = t3;
  r4 = 0;
  return qd;
}

/** Sets up the divisor for divDigit(). */
function setDivisor(yh: number, yl: number): void {
  v0 = yl & 0xffff;
  v1 = yl >>> 16;
  v2 = yh & 0xffff;
  v3 = yh >>> 16;
  vApprox = yh * TWO32 + yl;
}

/** Loads the remainder with a 64-bit value below 2^64 (must be below the divisor for divDigit). */
function setRemainder(xh: number, xl: number): void {
  r0 = xl & 0xffff;
  r1 = xl >>> 16;
  r2 = xh & 0xffff;
  r3 = xh >>> 16;
  r4 = 0;
}

function remainderIsZero(): boolean {
  return (r0 | r1 | r2 | r3 | r4) === 0;
}

/** r >= v for the current 64-bit remainder. */
function remainderGeDivisor(): boolean {
  if (r3 !== v3) return r3 > v3;
  if (r2 !== v2) return r2 > v2;
  if (r1 !== v1) return r1 > v1;
  return r0 >= v0;
}

function subtractDivisor(): void {
  r0 -= v0;
  r1 -= v1 + (r0 < 0 ? 1 : 0);
  if (r0 < 0) r0 += 65536;
  r2 -= v2 + (r1 < 0 ? 1 : 0);
  if (r1 < 0) r1 += 65536;
  r3 -= v3 + (r2 < 0 ? 1 : 0);
  if (r2 < 0) r2 += 65536;
  if (r3 < 0) r3 += 65536;
}

/** Significand quotient x / y (both normalized) with 80 fraction bits and a sticky remainder. */
function divSignificands(xh: number, xl: number, yh: number, yl: number): void {
  setDivisor(yh, yl);
  setRemainder(xh, xl);
  qInt = 0;
  if (remainderGeDivisor()) {
    subtractDivisor();
    qInt = 1;
  }
  q0 = divDigit();
  q1 = divDigit();
  q2 = divDigit();
  q3 = divDigit();
  q4 = divDigit();
  remNonZero = remainderIsZero() ? 0 : 1;
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
  divSignificands(aHi, aLo, bHi, bLo);
  wSign = aSign ^ bSign;
  wSt = remNonZero;
  if (qInt !== 0) {
    wExp = aExp - bExp + BIAS;
    wHi = (J | (q0 << 15) | (q1 >>> 1)) >>> 0;
    wLo = (((q1 & 1) << 31) | (q2 << 15) | (q3 >>> 1)) >>> 0;
    wX = (((q3 & 1) << 31) | (q4 << 15)) >>> 0;
  } else {
    wExp = aExp - bExp + BIAS - 1;
    wHi = ((q0 << 16) | q1) >>> 0;
    wLo = ((q2 << 16) | q3) >>> 0;
    wX = (q4 << 16) >>> 0;
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
let sqM3 = 0;
let sqM4 = 0;
let sqM5 = 0;
let sqY0 = 0;
let sqY1 = 0;
let sqY2 = 0;
/** Sign of the last remainder (-1, 0, 1) and, when positive or negative, its magnitude as a double. */
let sqSign = 0;
let sqR = 0;

/** Normalizes the root limbs after adding to the lowest one. */
function sqNormalize(): void {
  let c = Math.floor(sqY0 / L23);
  sqY0 -= c * L23;
  sqY1 += c;
  c = Math.floor(sqY1 / L23);
  sqY1 -= c * L23;
  sqY2 += c;
}

/** Remainder M - (Y + k)^2 for k 0 or 1: sets sqSign and sqR. */
function sqRemainder(k: number): void {
  let y0 = sqY0 + k;
  let y1 = sqY1;
  let y2 = sqY2;
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
  let c3 = sqM3 - 2 * y1 * y2;
  let c4 = sqM4 - y2 * y2;
  let c5 = sqM5;
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
      if (pass === 0) sqSign = mag === 0 && (c0 | c1 | c2 | c3 | c4 | c5) === 0 ? 0 : 1;
      sqR = pass === 0 ? mag : -mag;
      return;
    }
    // Negative: take the magnitude from the negated columns.
    sqSign = -1;
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
  const e = aExp - BIAS;
  const shift = (e & 1) === 0 ? 71 : 72;
  const s = shift - 69; // M = (m << s) << 69 and 69 = 3 limbs
  const m0 = aLo & 0x7fffff;
  const m1 = ((aLo >>> 23) | ((aHi & 0x3fff) << 9)) >>> 0;
  const m2 = aHi >>> 14;
  sqM3 = (m0 * (1 << s)) % L23;
  sqM4 = ((m1 * (1 << s)) % L23) + Math.floor((m0 * (1 << s)) / L23);
  sqM5 = m2 * (1 << s) + Math.floor((m1 * (1 << s)) / L23);
  const yd = Math.floor(Math.sqrt((aHi * TWO32 + aLo) * (shift === 71 ? 128 : 256)) * TWO32);
  sqY2 = Math.floor(yd / (L23 * L23));
  const rest = yd - sqY2 * L23 * L23;
  sqY1 = Math.floor(rest / L23);
  sqY0 = rest - sqY1 * L23;
  sqRemainder(0);
  sqY0 += Math.round(sqR / (2 * yd));
  sqNormalize();
  for (;;) {
    sqRemainder(0);
    if (sqSign < 0) {
      sqY0 -= 1;
      sqNormalize();
      continue;
    }
    const sign0 = sqSign;
    sqRemainder(1);
    if (sqSign >= 0) {
      sqY0 += 1;
      sqNormalize();
      continue;
    }
    sqSign = sign0;
    break;
  }
  wSign = 0;
  wExp = 67 + ((e - 63 - shift) >> 1) + BIAS;
  // Y has 68 bits (y2 22, y1 and y0 23 each): bit 67 becomes J (bit 31 of wHi).
  wHi = ((sqY2 << 10) | (sqY1 >>> 13)) >>> 0;
  wLo = (((sqY1 & 0x1fff) << 19) | (sqY0 >>> 4)) >>> 0;
  wX = ((sqY0 & 0xf) << 28) >>> 0;
  wSt = sqSign !== 0 ? 1 : 0;
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
    if (aExp !== bExp) mag = aExp > bExp ? 1 : -1;
    else if (aHi !== bHi) mag = aHi > bHi ? 1 : -1;
    else if (aLo !== bLo) mag = aLo > bLo ? 1 : -1;
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
  const e = aExp - BIAS;
  let flags = 0;
  let mh: number;
  let ml: number;
  if (e >= 63) {
    if (e > 63) {
      intIndefinite(bits);
      return IE;
    }
    mh = aHi;
    ml = aLo;
  } else {
    wSign = aSign;
    wHi = aHi;
    wLo = aLo;
    wX = 0;
    wSt = 0;
    wExp = 0;
    shiftRightWork(63 - e);
    const d = roundDecision(64, rc);
    truncInc(64, d === 2);
    if (d !== 0) flags = PE;
    R.up = d === 2 ? 1 : 0;
    mh = wHi;
    ml = wLo;
  }
  // Range check on the magnitude: up to 2^(bits-1) - 1, or 2^(bits-1) when negative.
  let ok: boolean;
  if (bits === 64) ok = mh < J || (aSign !== 0 && mh === J && ml === 0);
  else if (bits === 32) ok = mh === 0 && (ml < J || (aSign !== 0 && ml === J));
  else ok = mh === 0 && (ml < 0x8000 || (aSign !== 0 && ml === 0x8000));
  if (!ok) {
    intIndefinite(bits);
    R.up = 0;
    return IE;
  }
  if (aSign !== 0 && (mh | ml) !== 0) {
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
  const e = aExp - BIAS;
  if (e >= 63) {
    setResult(aSe, aH, aL);
    return flags;
  }
  wSign = aSign;
  wHi = aHi;
  wLo = aLo;
  wX = 0;
  wSt = 0;
  wExp = 0;
  shiftRightWork(63 - e);
  const d = roundDecision(64, (cw >>> 10) & 3);
  truncInc(64, d === 2);
  R.up = d === 2 ? 1 : 0;
  if ((wHi | wLo) === 0) {
    zeroResult(aSign);
    return d !== 0 ? flags | PE : flags;
  }
  wExp = BIAS + 63;
  normalizeWork();
  R.se = (aSign << 15) | wExp;
  R.hi = wHi;
  R.lo = wLo;
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
  wSign = aSign;
  wExp = aExp;
  wHi = aHi;
  wLo = aLo;
  wX = 0;
  wSt = 0;
  const flags = roundWork(24, (cw >>> 10) & 3, F32_EMIN, F32_EMAX, cw, 0);
  let field: number;
  if (wExp > F32_EMAX) field = 0xff;
  else if ((wHi & J) === 0) field = 0;
  else field = wExp - F32_EMIN + 1;
  R.lo = ((sign << 31) | (field << 23) | ((wHi >>> 8) & 0x7fffff)) >>> 0;
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
  wSign = aSign;
  wExp = aExp;
  wHi = aHi;
  wLo = aLo;
  wX = 0;
  wSt = 0;
  const flags = roundWork(53, (cw >>> 10) & 3, F64_EMIN, F64_EMAX, cw, 0);
  let field: number;
  if (wExp > F64_EMAX) field = 0x7ff;
  else if ((wHi & J) === 0) field = 0;
  else field = wExp - F64_EMIN + 1;
  R.hi = ((sign << 31) | (field << 20) | ((wHi >>> 11) & 0xfffff)) >>> 0;
  R.lo = ((wHi << 21) | (wLo >>> 11)) >>> 0;
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
      wSign = aSign;
      wExp = aExp;
      wHi = aHi;
      wLo = aLo;
      wX = 0;
      wSt = 0;
      flags |= roundToReg(64, cw);
    }
    return flags;
  }
  unpackA(aSe, aH, aL);
  unpackB(bSe, bH, bL);
  let d = aExp - bExp;
  let scaleExp = bExp;
  let partial = false;
  if (d >= 64) {
    const n = partialRemainderBits(d);
    scaleExp = bExp + (d - n);
    d = n;
    partial = true;
  }
  let sign = aSign;
  let q = 0;
  // Remainder r (65 bits: rc:rh:rl) of A * 2^d by B, quotient bits collected in q (low 3 only).
  let rh = aHi;
  let rl = aLo;
  if (d < 0) {
    // |a| < |b|: quotient 0, remainder a itself (value scale of a).
    if (ieee && d === -1 && (aHi > bHi || (aHi === bHi && aLo > bLo))) {
      // |b|/2 < |a| < |b|: quotient 1; the result |b| - |a| = (B - A/2) * 2^(bExp - 63) takes
      // the opposite sign of a. A/2 needs one bit below the significand (top bit of wX).
      const xh = aHi >>> 1;
      const xl = ((aLo >>> 1) | (aHi << 31)) >>> 0;
      let x = 0;
      let bw = 0;
      if ((aLo & 1) !== 0) {
        x = J;
        bw = 1;
      }
      let nl = bLo - xl - bw;
      bw = 0;
      if (nl < 0) {
        nl += TWO32;
        bw = 1;
      }
      wSign = aSign ^ 1;
      wExp = bExp;
      wHi = bHi - xh - bw;
      wLo = nl;
      wX = x;
      wSt = 0;
      normalizeWork();
      flags |= roundToReg(64, cw);
      R.q = 1;
      R.up = 0;
      return flags;
    }
    setResult(aSe, aH, aL);
    if (aCls === CLS_DENORMAL) {
      wSign = aSign;
      wExp = aExp;
      wHi = aHi;
      wLo = aLo;
      wX = 0;
      wSt = 0;
      flags |= roundToReg(64, cw);
    }
    return flags;
  }
  if (rh > bHi || (rh === bHi && rl >= bLo)) {
    rl -= bLo;
    let bw = 0;
    if (rl < 0) {
      rl += TWO32;
      bw = 1;
    }
    rh = rh - bHi - bw;
    q = 1;
  }
  for (let i = 0; i < d; i++) {
    const top = rh >>> 31;
    rh = ((rh << 1) | (rl >>> 31)) >>> 0;
    rl = (rl << 1) >>> 0;
    q = (q << 1) & 7;
    if (top !== 0 || rh > bHi || (rh === bHi && rl >= bLo)) {
      rl -= bLo;
      let bw = 0;
      if (rl < 0) {
        rl += TWO32;
        bw = 1;
      }
      rh = rh - bHi - bw;
      if (rh < 0) rh += TWO32;
      q |= 1;
    }
  }
  if (ieee && !partial && (rh | rl) !== 0) {
    // Round the quotient to nearest: compare 2r with B.
    const top = rh >>> 31;
    const r2h = ((rh << 1) | (rl >>> 31)) >>> 0;
    const r2l = (rl << 1) >>> 0;
    const gt = top !== 0 || r2h > bHi || (r2h === bHi && r2l > bLo);
    const eq = top === 0 && r2h === bHi && r2l === bLo;
    if (gt || (eq && (q & 1) !== 0)) {
      // r := B - r, sign flips, quotient + 1.
      let nl = bLo - rl;
      let bw = 0;
      if (nl < 0) {
        nl += TWO32;
        bw = 1;
      }
      rh = bHi - rh - bw;
      rl = nl;
      sign ^= 1;
      q = (q + 1) & 7;
    }
  }
  R.q = q;
  if ((rh | rl) === 0) {
    zeroResult(aSign);
    R.q = q;
    R.up = partial ? 1 : 0;
    return flags;
  }
  wSign = sign;
  wExp = scaleExp;
  wHi = rh;
  wLo = rl;
  wX = 0;
  wSt = 0;
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
    const e = bExp - BIAS;
    if (e >= 16) n = 0x10000;
    else if (e >= 0) n = bHi >>> (31 - e);
    if (bNeg !== 0) n = -n;
  }
  unpackA(aSe, aH, aL);
  wSign = aSign;
  wExp = aExp + n;
  wHi = aHi;
  wLo = aLo;
  wX = 0;
  wSt = 0;
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
  R.se2 = (aSign << 15) | BIAS;
  R.hi2 = aHi;
  R.lo2 = aLo;
  const e = aExp - BIAS;
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
  wSign = sign;
  wExp = exp;
  wHi = hi;
  wLo = lo;
  wX = x;
  wSt = sticky;
  return roundToReg(64, cw);
}
