// Measures the error of the host's FSIN on (2^-8, pi/4] and fits the polynomial that
// transcendental.ts adds to the sine (SIN_POLY_ERROR), so its coefficients can be re-derived.
//
// Each neighbourhood is K consecutive 64-bit operands, each run in the four rounding modes at
// 64-bit precision. A result brackets the host's unrounded value v' (round down gives
// v' in [r, r + ulp), to nearest v' in [r - ulp/2, r + ulp/2], ...), and within a
// neighbourhood the error e = v' - sin(x) hardly changes, so the brackets of all its operands
// intersect in a narrow interval. Its midpoint is one sample of e. A weighted least-squares fit
// of e = t^3 * sum(c_i * t^(2i)), t = x / (pi/4), over the samples gives the coefficients.
//
//   npx tsx --conditions=@plex86/source services/monitor/test/fpu/sine-poly-fit.ts [neighbourhoods] [seed]

import { SIN_POLY_ERROR } from '../../src/fpu/transcendental.js';
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

// Exact sine in fixed point with F fraction bits.
const F = 400n;

function sinFix(x: bigint): bigint {
  const x2 = (x * x) >> F;
  let t = x;
  let s = x;
  for (let k = 2n; t !== 0n; k += 2n) {
    t = -((t * x2) >> F) / (k * (k + 1n));
    s += t;
  }
  return s;
}

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
const fsin = ops.findIndex((op) => op.name === 'fsin');
const input = new Uint8Array(CENTRES * K * 4 * RECORD_SIZE);
const view = new DataView(input.buffer);
const xs: bigint[] = [];
const centres: number[] = [];
for (let c = 0; c < CENTRES; c++) {
  const x = 2 ** -8 + (Math.PI / 4 - 2 ** -8) * ((c + random()) / CENTRES);
  centres.push(x);
  const e = Math.floor(Math.log2(x));
  const sig0 = BigInt(Math.floor(x * 2 ** (63 - e))) & ~0xffffn;
  for (let k = 0; k < K; k++) {
    const sig = sig0 + BigInt(k);
    xs.push((sig << F) >> BigInt(63 - e));
    for (let rc = 0; rc < 4; rc++) {
      const o = ((c * K + k) * 4 + rc) * RECORD_SIZE;
      view.setUint16(o, fsin, true);
      view.setUint16(o + 2, 0x037f | (rc << 10), true);
      view.setUint32(o + 4, 0x202, true);
      input[o + 8] = 1; // one value pushed: ST(0) = x
      view.setBigUint64(o + 16, sig, true);
      view.setUint16(o + 24, 0x3fff + e, true);
    }
  }
}
const host = runHarness(buildHarness(ops.map(nativeAsm)), input);

/** ST(0) of a result record in fixed point. */
function result(r: number): bigint {
  const p = r * RECORD_SIZE + 28;
  const hv = new DataView(host.buffer, host.byteOffset);
  const sig = hv.getBigUint64(p, true);
  const e = (hv.getUint16(p + 8, true) & 0x7fff) - 0x3fff - 63;
  return e + Number(F) >= 0 ? sig << BigInt(e + Number(F)) : sig >> BigInt(-e - Number(F));
}

// Samples: t, e in units of 2^-63, weight 1/ulp.
const ts: number[] = [];
const es: number[] = [];
const ws: number[] = [];
for (let c = 0; c < CENTRES; c++) {
  let lo = -Infinity;
  let hi = Infinity;
  let ulpE = 0;
  for (let k = 0; k < K; k++) {
    const i = c * K + k;
    const v = sinFix(xs[i]);
    const E = exponent(v);
    ulpE = E;
    const ulp = 1n << (F + BigInt(E - 63));
    const d = (rc: number) => Number(((result(i * 4 + rc) - v) << 32n) / ulp) / 2 ** 32;
    // Round to nearest, down (here toward zero), up, toward zero.
    lo = Math.max(lo, d(0) - 0.5, d(1), d(2) - 1, d(3));
    hi = Math.min(hi, d(0) + 0.5, d(1) + 1, d(2), d(3) + 1);
  }
  if (lo > hi || hi - lo > MAX_WIDTH) continue;
  ts.push(centres[c] / (Math.PI / 4));
  es.push(((lo + hi) / 2) * 2 ** ulpE);
  ws.push(2 ** -ulpE);
}

// Weighted least squares by modified Gram-Schmidt.
const n = ts.length;
const cols: number[][] = [];
for (let j = 0; j < TERMS; j++) cols.push(ts.map((t, i) => t ** (3 + 2 * j) * ws[i]));
const rhs = es.map((e, i) => e * ws[i]);
const rMat: number[][] = Array.from({ length: TERMS }, () => new Array<number>(TERMS).fill(0));
for (let j = 0; j < TERMS; j++) {
  for (let p = 0; p < j; p++) {
    let dot = 0;
    for (let i = 0; i < n; i++) dot += cols[p][i] * cols[j][i];
    rMat[p][j] = dot;
    for (let i = 0; i < n; i++) cols[j][i] -= dot * cols[p][i];
  }
  let norm = 0;
  for (let i = 0; i < n; i++) norm += cols[j][i] ** 2;
  norm = Math.sqrt(norm);
  rMat[j][j] = norm;
  for (let i = 0; i < n; i++) cols[j][i] /= norm;
}
const qb = cols.map((q) => q.reduce((s, qi, i) => s + qi * rhs[i], 0));
const coef = new Array<number>(TERMS).fill(0);
for (let j = TERMS - 1; j >= 0; j--) {
  let s = qb[j];
  for (let p = j + 1; p < TERMS; p++) s -= rMat[j][p] * coef[p];
  coef[j] = s / rMat[j][j];
}

const curve = (c: readonly number[], t: number) => c.reduce((s, ci, j) => s + ci * t ** (3 + 2 * j), 0);
const rms = (f: (i: number) => number) => Math.sqrt(ts.reduce((s, _, i) => s + f(i) ** 2, 0) / n);
console.log(`${n} of ${CENTRES} neighbourhoods within ${MAX_WIDTH} ulp`);
console.log(
  `rms error ${rms((i) => es[i] * ws[i]).toFixed(4)} ulp, after the fit ${rms((i) => (es[i] - curve(coef, ts[i])) * ws[i]).toFixed(4)} ulp`,
);
console.log(`fitted:     [${coef.map((c) => c.toPrecision(9)).join(', ')}]`);
console.log(`in the FPU: [${SIN_POLY_ERROR.join(', ')}]`);
let worst = 0;
for (let t = 2 ** -8; t <= 1; t += 1 / 1024) {
  const ulp = 2 ** Math.floor(Math.log2(Math.sin((t * Math.PI) / 4)));
  worst = Math.max(worst, Math.abs(curve(coef, t) - curve(SIN_POLY_ERROR, t)) / ulp);
}
console.log(`largest difference of the two curves on (0, pi/4]: ${worst.toFixed(4)} ulp`);
