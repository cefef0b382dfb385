// The arithmetic core against an independent exact reference: BigInt rationals rounded by the
// textbook rule (quantum 2^(max(E, Emin) - p + 1), tininess after rounding), for every precision
// and rounding control, with normal, denormal, tiny and huge operands and results.

import { describe, expect, it } from 'vitest';
import { DE, IE, OE, PE, UE, ZE } from './constants.js';
import {
  R,
  add,
  compare,
  div,
  fromFloat32,
  fromFloat64,
  fromInt64,
  mul,
  sqrt,
  toFloat32,
  toFloat64,
  toInt,
} from './ext80.js';

const BIAS = 16383;

interface Num {
  sign: number;
  /** Numerator and power of two: value = (-1)^sign * num * 2^exp. */
  num: bigint;
  exp: number;
}

function decode(se: number, hi: number, lo: number): Num {
  const e = se & 0x7fff;
  return { sign: se >>> 15, num: (BigInt(hi) << 32n) | BigInt(lo), exp: (e === 0 ? 1 : e) - BIAS - 63 };
}

/** floor(log2(n / d)) for positive n, d. */
function ilog2(n: bigint, d: bigint): number {
  let e = n.toString(2).length - d.toString(2).length;
  // Adjust so that 2^e <= n/d < 2^(e+1).
  for (;;) {
    const lo = e >= 0 ? d << BigInt(e) : d;
    const nn = e >= 0 ? n : n << BigInt(-e);
    if (nn < lo) e--;
    else if (nn >= lo << 1n) e++;
    else return e;
  }
}

interface Rounded {
  se: number;
  hi: number;
  lo: number;
  flags: number;
  up: number;
}

/**
 * Rounds sign * n / d to `p` bits with exponents [emin, emax] (unbiased), rounding control rc
 * (0 nearest, 1 down, 2 up, 3 zero), all exceptions masked. Register format result.
 */
function roundRef(sign: number, n: bigint, d: bigint, p: number, rc: number, emin: number, emax: number): Rounded {
  if (n === 0n) return { se: sign << 15, hi: 0, lo: 0, flags: 0, up: 0 };
  const e = ilog2(n, d);
  const roundAt = (q: number): { m: bigint; inexact: boolean; up: boolean } => {
    // m = round(n / d / 2^q) as an integer.
    const num = q >= 0 ? n : n << BigInt(-q);
    const den = q >= 0 ? d << BigInt(q) : d;
    let m = num / den;
    const r = num - m * den;
    let inc = false;
    if (r !== 0n) {
      if (rc === 0) inc = 2n * r > den || (2n * r === den && (m & 1n) === 1n);
      else if (rc === 1) inc = sign === 1;
      else if (rc === 2) inc = sign === 0;
    }
    if (inc) m += 1n;
    return { m, inexact: r !== 0n, up: inc };
  };
  // Tininess after rounding: round with an unbounded exponent.
  const unbounded = roundAt(e - p + 1);
  const unboundedE = unbounded.m >> BigInt(p) !== 0n ? e + 1 : e;
  const tiny = unboundedE < emin;
  const q = Math.max(e, emin) - p + 1;
  const r = roundAt(q);
  let flags = r.inexact ? PE : 0;
  if (tiny && r.inexact) flags |= UE;
  // Value = r.m * 2^q; express as a 64-bit significand.
  const m = r.m;
  const qq = q;
  if (m === 0n) return { se: sign << 15, hi: 0, lo: 0, flags, up: r.up ? 1 : 0 };
  const bits = m.toString(2).length;
  const rexp = qq + bits - 1;
  if (rexp > emax) {
    flags |= OE | PE;
    const toInf = rc === 0 || (rc === 1 && sign === 1) || (rc === 2 && sign === 0);
    if (toInf) return { se: (sign << 15) | 0x7fff, hi: 0x80000000, lo: 0, flags, up: 1 };
    return pack(sign, ((1n << BigInt(p)) - 1n) << BigInt(64 - p), emax, flags, 0);
  }
  if (rexp < emin) {
    // Denormal: significand relative to 2^emin.
    const sig = m << BigInt(qq - (emin - 63));
    return { se: sign << 15, hi: Number(sig >> 32n), lo: Number(sig & 0xffffffffn), flags, up: r.up ? 1 : 0 };
  }
  return pack(sign, m << BigInt(64 - bits), rexp, flags, r.up ? 1 : 0);
}

function pack(sign: number, sig: bigint, e: number, flags: number, up: number): Rounded {
  return { se: (sign << 15) | (e + BIAS), hi: Number(sig >> 32n), lo: Number(sig & 0xffffffffn), flags, up };
}

/** A deterministic generator of operands covering the edges of the extended range. */
class Gen {
  private s = 0x2545f491;
  u32(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  int(n: number): number {
    return this.u32() % n;
  }
  value(): [number, number, number] {
    const sign = this.int(2) << 15;
    let hi = (this.u32() | 0x80000000) >>> 0;
    let lo = this.u32();
    switch (this.int(4)) {
      case 0:
        lo = (lo & 0xfffff800) >>> 0;
        break;
      case 1:
        hi = (hi & 0xffffff00) >>> 0;
        lo = 0;
        break;
    }
    switch (this.int(6)) {
      case 0:
        return [sign | (1 + this.int(80)), hi, lo];
      case 1:
        return [sign | (0x7ffe - this.int(80)), hi, lo];
      case 2: {
        const s = 1 + this.int(63);
        return [sign, s >= 32 ? 0 : hi >>> s, s >= 32 ? hi >>> (s - 32) : ((hi << (32 - s)) | (lo >>> s)) >>> 0];
      }
      case 3:
        return [sign | (1 + this.int(0x7ffe)), hi, lo];
      default:
        return [sign | (0x3fff - 40 + this.int(80)), hi, lo];
    }
  }
}

const PRECISIONS: [number, number][] = [
  [0, 24],
  [2, 53],
  [3, 64],
];

function check(
  name: string,
  op: (a: [number, number, number], b: [number, number, number], cw: number) => number,
  ref: (a: Num, b: Num) => { sign: number; n: bigint; d: bigint } | undefined,
  count: number,
): void {
  const g = new Gen();
  let checked = 0;
  for (let i = 0; i < count; i++) {
    const a = g.value();
    const b = g.value();
    const [pcBits, p] = PRECISIONS[i % 3];
    const rc = (i >>> 2) & 3;
    const cw = 0x3f | (pcBits << 8) | (rc << 10);
    const exact = ref(decode(...a), decode(...b));
    if (!exact || exact.n === 0n) continue;
    const flags = op(a, b, cw) & ~DE;
    const want = roundRef(exact.sign, exact.n, exact.d, p, rc, 1 - BIAS, BIAS);
    const got = { se: R.se, hi: R.hi >>> 0, lo: R.lo >>> 0, flags, up: R.up };
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      expect.fail(
        `${name} ${a.map((v) => v.toString(16))} ${b.map((v) => v.toString(16))} cw=${cw.toString(16)}: ` +
          `got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`,
      );
    }
    checked++;
  }
  expect(checked).toBeGreaterThan(count / 2);
}

function scaled(x: Num, y: Num, op: 'add' | 'sub'): { sign: number; n: bigint; d: bigint } {
  // An operand more than 200 bits below the other only matters as a sticky bit of its sign.
  const top = (v: Num) => (v.num === 0n ? -Infinity : v.exp + v.num.toString(2).length);
  if (top(x) - top(y) > 200) y = { sign: y.sign, num: y.num === 0n ? 0n : 1n, exp: top(x) - 200 };
  else if (top(y) - top(x) > 200) x = { sign: x.sign, num: x.num === 0n ? 0n : 1n, exp: top(y) - 200 };
  const e = Math.min(x.exp, y.exp);
  const xv = (x.sign ? -x.num : x.num) << BigInt(x.exp - e);
  let yv = (y.sign ? -y.num : y.num) << BigInt(y.exp - e);
  if (op === 'sub') yv = -yv;
  const s = xv + yv;
  const sign = s < 0n ? 1 : 0;
  const n = s < 0n ? -s : s;
  return e >= 0 ? { sign, n: n << BigInt(e), d: 1n } : { sign, n, d: 1n << BigInt(-e) };
}

describe('extended arithmetic against an exact reference', () => {
  it('adds and subtracts with correct rounding at 24, 53 and 64 bits in every rounding mode', () => {
    check(
      'add',
      (a, b, cw) => add(...a, ...b, cw, false),
      (x, y) => scaled(x, y, 'add'),
      15000,
    );
    check(
      'sub',
      (a, b, cw) => add(...a, ...b, cw, true),
      (x, y) => scaled(x, y, 'sub'),
      15000,
    );
  });

  it('multiplies, including results that overflow or become denormal', () => {
    check(
      'mul',
      (a, b, cw) => mul(...a, ...b, cw),
      (x, y) => {
        const e = x.exp + y.exp;
        const n = x.num * y.num;
        return e >= 0
          ? { sign: x.sign ^ y.sign, n: n << BigInt(e), d: 1n }
          : { sign: x.sign ^ y.sign, n, d: 1n << BigInt(-e) };
      },
      15000,
    );
  });

  it('divides', () => {
    check(
      'div',
      (a, b, cw) => div(...a, ...b, cw),
      (x, y) => {
        if (y.num === 0n) return undefined;
        const e = x.exp - y.exp;
        return e >= 0
          ? { sign: x.sign ^ y.sign, n: x.num << BigInt(e), d: y.num }
          : { sign: x.sign ^ y.sign, n: x.num, d: y.num << BigInt(-e) };
      },
      15000,
    );
  });

  it('takes square roots', () => {
    const g = new Gen();
    for (let i = 0; i < 12000; i++) {
      const a = g.value();
      a[0] &= 0x7fff;
      const [pcBits, p] = PRECISIONS[i % 3];
      const rc = (i >>> 2) & 3;
      const cw = 0x3f | (pcBits << 8) | (rc << 10);
      const x = decode(...a);
      if (x.num === 0n) continue;
      // sqrt(num * 2^exp): make the exponent even, take an integer root with 80 extra bits.
      let n = x.num;
      let e = x.exp;
      if ((e & 1) !== 0) {
        n <<= 1n;
        e -= 1;
      }
      n <<= 160n;
      e -= 160;
      // Newton's iteration from above decreases monotonically to floor(sqrt(n)).
      let y = BigInt(Math.floor(Math.sqrt(Number(n)) * (1 + 1e-12))) + 1n;
      for (;;) {
        const z = (y + n / y) >> 1n;
        if (z >= y) break;
        y = z;
      }
      while (y * y > n) y--;
      while ((y + 1n) * (y + 1n) <= n) y++;
      // Root = y * 2^(e/2), plus a sticky half-unit if inexact (2y+1 over 2 keeps rounding right).
      const exactRoot = y * y === n;
      const num = exactRoot ? y : 2n * y + 1n;
      const half = e / 2 - (exactRoot ? 0 : 1);
      const want =
        half >= 0
          ? roundRef(0, num << BigInt(half), 1n, p, rc, 1 - BIAS, BIAS)
          : roundRef(0, num, 1n << BigInt(-half), p, rc, 1 - BIAS, BIAS);
      const flags = sqrt(...a, cw) & ~DE;
      expect(
        { se: R.se, hi: R.hi, lo: R.lo, flags, up: R.up },
        `sqrt ${a.map((v) => v.toString(16))} cw=${cw.toString(16)}`,
      ).toEqual(want);
    }
  });
});

describe('special operands', () => {
  const INF = [0x7fff, 0x80000000, 0] as const;
  const NINF = [0xffff, 0x80000000, 0] as const;
  const ZERO = [0, 0, 0] as const;
  const ONE = [0x3fff, 0x80000000, 0] as const;
  const QNAN = [0x7fff, 0xc0000001, 5] as const;
  const SNAN = [0x7fff, 0x80000001, 0] as const;
  const UNNORMAL = [0x3fff, 0x40000000, 0] as const;

  it('raises IE for invalid operations and returns the indefinite', () => {
    for (const f of [
      () => add(...INF, ...NINF, 0x37f, false),
      () => mul(...INF, ...ZERO, 0x37f),
      () => div(...ZERO, ...ZERO, 0x37f),
      () => div(...INF, ...INF, 0x37f),
      () => sqrt(0xbfff, 0x80000000, 0, 0x37f),
      () => add(...UNNORMAL, ...ONE, 0x37f, false),
    ]) {
      expect(f()).toBe(IE);
      expect([R.se, R.hi, R.lo]).toEqual([0xffff, 0xc0000000, 0]);
    }
  });

  it('propagates NaNs: an SNaN is quieted with IE, a QNaN passes silently', () => {
    expect(add(...SNAN, ...ONE, 0x37f, false)).toBe(IE);
    expect([R.se, R.hi, R.lo]).toEqual([0x7fff, 0xc0000001, 0]);
    expect(mul(...ONE, ...QNAN, 0x37f)).toBe(0);
    expect([R.se, R.hi, R.lo]).toEqual([0x7fff, 0xc0000001, 5]);
    // Two NaNs: the QNaN wins over the SNaN, otherwise the larger significand.
    expect(add(...SNAN, ...QNAN, 0x37f, false)).toBe(IE);
    expect(R.lo).toBe(5);
  });

  it('divides by zero with ZE and a signed infinity', () => {
    expect(div(0xbfff, 0x80000000, 0, ...ZERO, 0x37f)).toBe(ZE);
    expect([R.se, R.hi, R.lo]).toEqual([0xffff, 0x80000000, 0]);
  });

  it('gives -0 for x - x only when rounding down', () => {
    add(...ONE, ...ONE, 0x37f, true);
    expect(R.se).toBe(0);
    add(...ONE, ...ONE, 0x77f, true);
    expect(R.se).toBe(0x8000);
  });

  it('orders values in compare, with unordered NaNs', () => {
    expect(compare(...ONE, ...INF, false)).toBe(0);
    expect(R.q).toBe(1); // less
    compare(...ZERO, 0x8000, 0, 0, false);
    expect(R.q).toBe(2); // +0 == -0
    expect(compare(...QNAN, ...ONE, true)).toBe(0);
    expect(R.q).toBe(3);
    expect(compare(...QNAN, ...ONE, false)).toBe(IE);
  });
});

describe('conversions', () => {
  it('loads single and double reals exactly, with DE for denormals and IE for SNaNs', () => {
    expect(fromFloat32(0x3fc00000)).toBe(0); // 1.5
    expect([R.se, R.hi, R.lo]).toEqual([0x3fff, 0xc0000000, 0]);
    expect(fromFloat32(0x00000001)).toBe(DE); // smallest denormal, 2^-149
    expect([R.se, R.hi, R.lo]).toEqual([BIAS - 149, 0x80000000, 0]);
    expect(fromFloat32(0x7f800001)).toBe(IE);
    expect([R.se, R.hi >>> 0]).toEqual([0x7fff, 0xc0000100]);
    expect(fromFloat64(0x000fffff, 0xffffffff)).toBe(DE);
    expect([R.se, R.hi, R.lo]).toEqual([BIAS - 1023, 0xffffffff, 0xfffff000]);
  });

  it('stores reals rounded per RC, denormalizing tiny values', () => {
    // 1 + 2^-24 is halfway between two singles: ties to even.
    expect(toFloat32(0x3fff, 0x80000080, 0, 0x37f)).toBe(PE);
    expect(R.lo).toBe(0x3f800000);
    expect(toFloat32(0x3fff, 0x80000080, 0, 0xb7f)).toBe(PE); // up
    expect(R.lo).toBe(0x3f800001);
    // 2^-149 * 1.5 rounds to the smallest denormal or two of it.
    expect(toFloat32(BIAS - 149, 0xc0000000, 0, 0x37f)).toBe(UE | PE);
    expect(R.lo).toBe(0x00000002);
    expect(toFloat64(0x43ff, 0x80000000, 0, 0x37f)).toBe(OE | PE);
    expect([R.hi, R.lo]).toEqual([0x7ff00000, 0]);
    expect(toFloat64(0x43ff, 0x80000000, 0, 0xf7f)).toBe(OE | PE); // toward zero: largest finite
    expect([R.hi, R.lo]).toEqual([0x7fefffff, 0xffffffff]);
  });

  it('converts integers both ways, with the integer indefinite when out of range', () => {
    fromInt64(0x80000000, 0);
    expect([R.se, R.hi, R.lo]).toEqual([0xc03e, 0x80000000, 0]);
    expect(toInt(0xc03e, 0x80000000, 0, 0x37f, 64, false)).toBe(0);
    expect([R.hi, R.lo]).toEqual([0x80000000, 0]);
    expect(toInt(0x403e, 0x80000000, 0, 0x37f, 64, false)).toBe(IE);
    expect(toInt(0x400e, 0xffff0000, 0, 0x37f, 16, false)).toBe(IE); // 65535
    expect(R.lo & 0xffff).toBe(0x8000);
    // 2.5 rounds to 2 (nearest even), to 3 (up), and truncates to 2.
    expect(toInt(0x4000, 0xa0000000, 0, 0x37f, 32, false)).toBe(PE);
    expect(R.lo).toBe(2);
    expect(toInt(0x4000, 0xa0000000, 0, 0xb7f, 32, false)).toBe(PE);
    expect(R.lo).toBe(3);
    expect(toInt(0xc000, 0xa0000000, 0, 0xb7f, 32, true)).toBe(PE);
    expect(R.lo).toBe(0xfffffffe);
  });
});
