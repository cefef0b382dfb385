// Measures the error of the host's FSIN and FCOS on (0, pi/4] and fits what transcendental.ts adds
// to the exact values, so its constants can be re-derived: on an AMD host the sine polynomial's
// error (SIN_POLY_ERROR), on an Intel host the error of each piece [j/16, (j+1)/16) of the sine and
// the cosine (INTEL_SIN_TABLE_ERROR, INTEL_COS_TABLE_ERROR).
//
// Each neighbourhood is K consecutive 64-bit operands, each run in the four rounding modes at
// 64-bit precision. A result brackets the host's unrounded value v' (round down gives
// v' in [r, r + ulp), to nearest v' in [r - ulp/2, r + ulp/2], ...), and within a
// neighbourhood the error e = v' - f(x) hardly changes, so the brackets of all its operands
// intersect in a narrow interval. Its midpoint is one sample of e.
//
//   npx tsx --conditions=@plex86/source services/monitor/test/fpu/sine-error-fit.ts [neighbourhoods] [seed]

import { INTEL_COS_TABLE_ERROR, INTEL_SIN_TABLE_ERROR, SIN_POLY_ERROR } from '../../src/fpu/transcendental.js';
import { probeHost } from './diff.js';
import { buildHarness, RECORD_SIZE, runHarness } from './native.js';
import { allOps, nativeAsm } from './ops.js';

const CENTRES = Number(process.argv[2] ?? 600);
const SEED = Number(process.argv[3] ?? 77);
/** Operands per neighbourhood. */
const K = 48;
/** Neighbourhoods whose brackets intersect in a wider interval (ulps) are left out. */
const MAX_WIDTH = 0.04;
const TERMS = SIN_POLY_ERROR.length;
if (!Number.isInteger(CENTRES) || CENTRES < 2 * TERMS) throw new Error(`neighbourhoods: ${process.argv[2]}`);

// Exact sine and cosine in fixed point with F fraction bits.
const F = 400n;

function series(x: bigint, first: bigint, k0: bigint): bigint {
  const x2 = (x * x) >> F;
  let t = first;
  let s = first;
  for (let k = k0; t !== 0n; k += 2n) {
    t = -((t * x2) >> F) / (k * (k + 1n));
    s += t;
  }
  return s;
}
const sinFix = (x: bigint) => series(x, x, 2n);
const cosFix = (x: bigint) => series(x, 1n << F, 1n);

/** Exponent E with 2^E <= v < 2^(E+1), for v > 0 in fixed point. */
function exponent(v: bigint): number {
  return v.toString(2).length - 1 - Number(F);
}

let state = SEED >>> 0 || 1;
function random(): number {
  state ^= state << 13;
  state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5;
  state >>>= 0;
  return state / 4294967296;
}

const ops = allOps();
const exe = buildHarness(ops.map(nativeAsm));
const { vendor } = probeHost(exe, ops);

interface Sample {
  x: number;
  /** The host's error in units of 2^-63 (AMD's fit) ... */
  e: number;
  /** ... and in ulps of the result. */
  ulps: number;
  /** 1 / ulp in units of 2^-63. */
  weight: number;
}

/** One error sample per neighbourhood of `op` on [lo, hi) that pins it down to MAX_WIDTH ulp. */
function measure(op: 'fsin' | 'fcos', lo: number, hi: number): Sample[] {
  const index = ops.findIndex((o) => o.name === op);
  const exact = op === 'fsin' ? sinFix : cosFix;
  const input = new Uint8Array(CENTRES * K * 4 * RECORD_SIZE);
  const view = new DataView(input.buffer);
  const xs: bigint[] = [];
  const centres: number[] = [];
  for (let c = 0; c < CENTRES; c++) {
    const x = lo + (hi - lo) * ((c + random()) / CENTRES);
    centres.push(x);
    const e = Math.floor(Math.log2(x));
    const sig0 = BigInt(Math.floor(x * 2 ** (63 - e))) & ~0xffffn;
    for (let k = 0; k < K; k++) {
      const sig = sig0 + BigInt(k);
      xs.push((sig << F) >> BigInt(63 - e));
      for (let rc = 0; rc < 4; rc++) {
        const o = ((c * K + k) * 4 + rc) * RECORD_SIZE;
        view.setUint16(o, index, true);
        view.setUint16(o + 2, 0x037f | (rc << 10), true);
        view.setUint32(o + 4, 0x202, true);
        input[o + 8] = 1; // one value pushed: ST(0) = x
        view.setBigUint64(o + 16, sig, true);
        view.setUint16(o + 24, 0x3fff + e, true);
      }
    }
  }
  const host = runHarness(exe, input);
  const hv = new DataView(host.buffer, host.byteOffset);
  /** ST(0) of a result record in fixed point. */
  const result = (r: number): bigint => {
    const p = r * RECORD_SIZE + 28;
    const sig = hv.getBigUint64(p, true);
    const e = (hv.getUint16(p + 8, true) & 0x7fff) - 0x3fff - 63;
    return e + Number(F) >= 0 ? sig << BigInt(e + Number(F)) : sig >> BigInt(-e - Number(F));
  };
  const samples: Sample[] = [];
  for (let c = 0; c < CENTRES; c++) {
    let low = -Infinity;
    let high = Infinity;
    let ulpE = 0;
    for (let k = 0; k < K; k++) {
      const i = c * K + k;
      const v = exact(xs[i] as bigint);
      ulpE = exponent(v);
      const ulp = 1n << (F + BigInt(ulpE - 63));
      const d = (rc: number) => Number(((result(i * 4 + rc) - v) << 32n) / ulp) / 2 ** 32;
      // Round to nearest, down (here toward zero), up, toward zero.
      low = Math.max(low, d(0) - 0.5, d(1), d(2) - 1, d(3));
      high = Math.min(high, d(0) + 0.5, d(1) + 1, d(2), d(3) + 1);
    }
    if (low > high || high - low > MAX_WIDTH) continue;
    const ulps = (low + high) / 2;
    samples.push({ x: centres[c] as number, e: ulps * 2 ** ulpE, ulps, weight: 2 ** -ulpE });
  }
  console.log(
    `${op}: ${samples.length} of ${CENTRES} neighbourhoods on [${lo}, ${hi.toFixed(4)}) within ${MAX_WIDTH} ulp`,
  );
  return samples;
}

const rms = (values: number[]) => Math.sqrt(values.reduce((s, v) => s + v * v, 0) / values.length);

if (vendor === 'amd') fitPolynomial(measure('fsin', 2 ** -8, Math.PI / 4));
else {
  fitPieces('sine', measure('fsin', 1 / 8, Math.PI / 4), INTEL_SIN_TABLE_ERROR);
  fitPieces('cosine', measure('fcos', 1 / 8, Math.PI / 4), INTEL_COS_TABLE_ERROR);
}

/** Intel: the mean error of each piece, in units of 2^-64, against the FPU's table. */
function fitPieces(what: string, samples: Sample[], inFpu: readonly number[]): void {
  const pieces = new Map<number, number[]>();
  for (const s of samples) {
    const j = Math.floor(s.x * 16);
    // e is in units of 2^-63; the table's are 2^-64.
    pieces.set(j, [...(pieces.get(j) ?? []), 2 * s.e]);
  }
  console.log(`${what}: piece, samples, mean error and its rms scatter (units of 2^-64), the FPU's value`);
  for (const [j, es] of [...pieces].sort((a, b) => a[0] - b[0])) {
    const mean = es.reduce((s, e) => s + e, 0) / es.length;
    console.log(
      `  [${j}/16, ${j + 1}/16)  ${String(es.length).padStart(4)}  ${mean.toFixed(4).padStart(8)}  ` +
        `${rms(es.map((e) => e - mean)).toFixed(4)}  ${(inFpu[j] ?? 0).toFixed(4).padStart(8)}`,
    );
  }
}

/** AMD: e = t^3 * sum(c_i * t^(2i)), t = x / (pi/4), by weighted least squares (modified Gram-Schmidt). */
function fitPolynomial(samples: Sample[]): void {
  const ts = samples.map((s) => s.x / (Math.PI / 4));
  const es = samples.map((s) => s.e);
  const ws = samples.map((s) => s.weight);
  const n = ts.length;
  const cols: number[][] = [];
  for (let j = 0; j < TERMS; j++) cols.push(ts.map((t, i) => t ** (3 + 2 * j) * (ws[i] as number)));
  const rhs = es.map((e, i) => e * (ws[i] as number));
  const rMat: number[][] = Array.from({ length: TERMS }, () => new Array<number>(TERMS).fill(0));
  for (let j = 0; j < TERMS; j++) {
    const cj = cols[j] as number[];
    for (let p = 0; p < j; p++) {
      const cp = cols[p] as number[];
      let dot = 0;
      for (let i = 0; i < n; i++) dot += (cp[i] as number) * (cj[i] as number);
      (rMat[p] as number[])[j] = dot;
      for (let i = 0; i < n; i++) cj[i] = (cj[i] as number) - dot * (cp[i] as number);
    }
    const norm = Math.sqrt(cj.reduce((s, v) => s + v * v, 0));
    (rMat[j] as number[])[j] = norm;
    for (let i = 0; i < n; i++) cj[i] = (cj[i] as number) / norm;
  }
  const qb = cols.map((q) => q.reduce((s, qi, i) => s + qi * (rhs[i] as number), 0));
  const coef = new Array<number>(TERMS).fill(0);
  for (let j = TERMS - 1; j >= 0; j--) {
    let s = qb[j] as number;
    for (let p = j + 1; p < TERMS; p++) s -= ((rMat[j] as number[])[p] as number) * (coef[p] as number);
    coef[j] = s / ((rMat[j] as number[])[j] as number);
  }
  const curve = (c: readonly number[], t: number) => c.reduce((s, ci, j) => s + ci * t ** (3 + 2 * j), 0);
  console.log(
    `rms error ${rms(samples.map((s) => s.ulps)).toFixed(4)} ulp, after the fit ` +
      `${rms(ts.map((t, i) => ((es[i] as number) - curve(coef, t)) * (ws[i] as number))).toFixed(4)} ulp`,
  );
  console.log(`fitted:     [${coef.map((c) => c.toPrecision(9)).join(', ')}]`);
  console.log(`in the FPU: [${SIN_POLY_ERROR.join(', ')}]`);
  let worst = 0;
  for (let t = 2 ** -8; t <= 1; t += 1 / 1024) {
    const ulp = 2 ** Math.floor(Math.log2(Math.sin((t * Math.PI) / 4)));
    worst = Math.max(worst, Math.abs(curve(coef, t) - curve(SIN_POLY_ERROR, t)) / ulp);
  }
  console.log(`largest difference of the two curves on (0, pi/4]: ${worst.toFixed(4)} ulp`);
}
