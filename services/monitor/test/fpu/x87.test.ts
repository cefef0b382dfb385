// Differential tests of the x87 FPU against the host CPU, which runs the same instructions
// natively in a small 32-bit program (x87-harness.asm). Every record starts from a random stack,
// control word (all precisions and rounding modes, some exceptions unmasked), status bits and
// memory operand; the FNSAVE image, AX, EFLAGS and memory operand afterwards must be identical.

import { beforeAll, describe, expect, it } from 'vitest';
import { Fpu } from '../../src/fpu/fpu.js';
import {
  Rng,
  describeInput,
  describeResult,
  emulateRecord,
  makeRecord,
  probeHost,
  recordMask,
  type HostX87,
  type RecordOptions,
} from './diff.js';
import { buildHarness, RECORD_SIZE, runHarness } from './native.js';
import { allOps, nativeAsm, type X87Op } from './ops.js';
import type { X87Vendor } from '../../src/fpu/transcendental.js';

const OPS = allOps();
let exe = '';
let hostX87: HostX87 = { fopOnException: false, zeroSegments: false, vendor: 'intel' };

beforeAll(() => {
  exe = buildHarness(OPS.map(nativeAsm));
  hostX87 = probeHost(exe, OPS);
});

interface Outcome {
  records: number;
  /** Records that still differ after a native re-run, described. */
  mismatches: string[];
  input: Uint8Array;
  host: Uint8Array;
  ours: Uint8Array;
}

/** Runs `perOp` random records for every op accepted by `select` on both sides and compares them. */
function differential(seed: number, select: (op: X87Op) => boolean, perOp: number, opt: RecordOptions): Outcome {
  const rng = new Rng(seed);
  const chosen = OPS.map((op, index) => ({ op, index })).filter(({ op }) => select(op));
  expect(chosen.length).toBeGreaterThan(0);
  const count = chosen.length * perOp;
  const input = new Uint8Array(count * RECORD_SIZE);
  let k = 0;
  for (const { op, index } of chosen) {
    for (let j = 0; j < perOp; j++, k++) makeRecord(rng, op, index, input, k * RECORD_SIZE, opt);
  }
  const host = runHarness(exe, input);
  const ours = new Uint8Array(input.length);
  const fpu = new Fpu();
  fpu.sse3 = true; // the host has FISTTP
  fpu.vendor = hostX87.vendor;
  const differing: number[] = [];
  for (let r = 0; r < count; r++) {
    const o = r * RECORD_SIZE;
    emulateRecord(fpu, OPS, input, o, ours, o);
    if (!sameRecord(input, host, ours, o)) differing.push(r);
  }
  // The host kernel may lose the last-opcode field when it switches tasks between the instruction
  // and the FNSAVE (some processors save it only with an exception pending): run differing
  // records again and keep those that differ twice.
  const mismatches: string[] = [];
  if (differing.length > 0) {
    const again = new Uint8Array(differing.length * RECORD_SIZE);
    differing.forEach((r, i) => again.set(input.subarray(r * RECORD_SIZE, (r + 1) * RECORD_SIZE), i * RECORD_SIZE));
    const host2 = runHarness(exe, again);
    differing.forEach((r, i) => {
      const o = r * RECORD_SIZE;
      host.set(host2.subarray(i * RECORD_SIZE, (i + 1) * RECORD_SIZE), o);
      if (!sameRecord(input, host, ours, o)) {
        mismatches.push(
          `${describeInput(OPS, input, o)}\n   host ${describeResult(host, o)}\n   ours ${describeResult(ours, o)}`,
        );
      }
    });
  }
  return { records: count, mismatches, input, host, ours };
}

function sameRecord(input: Uint8Array, host: Uint8Array, ours: Uint8Array, o: number): boolean {
  const mask = recordMask(OPS[input[o] | (input[o + 1] << 8)], hostX87, host, o);
  for (let b = 0; b < RECORD_SIZE; b++) if (mask[b] !== 0 && host[o + b] !== ours[o + b]) return false;
  return true;
}

function expectIdentical(seed: number, select: (op: X87Op) => boolean, perOp: number, opt: RecordOptions = {}): void {
  const out = differential(seed, select, perOp, opt);
  const shown = out.mismatches.slice(0, 8).join('\n');
  expect(out.mismatches.length, `${out.mismatches.length} of ${out.records} records differ:\n${shown}`).toBe(0);
}

const name = (re: RegExp) => (op: X87Op) => re.test(op.name);

describe('x87 against the host CPU', () => {
  it('arithmetic on registers: FADD FSUB FSUBR FMUL FDIV FDIVR (and P forms)', () => {
    expectIdentical(1, name(/^f(add|sub|subr|mul|div|divr)p? st\d,st\d$/), 60);
  });

  it('arithmetic with memory operands: m32real, m64real, m16int, m32int', () => {
    expectIdentical(2, name(/^fi?(add|sub|subr|mul|div|divr) m(16|32|64)$/), 500);
  });

  it('compares: FCOM FCOMP FCOMPP FUCOM FUCOMP FUCOMPP FICOM FCOMI FUCOMI FCOMIP FUCOMIP FTST FXAM', () => {
    expectIdentical(3, name(/^(fi?u?comp?p?|fcom2|fcomp3|fcomp5|fu?comip?)( |$)|^ftst$|^fxam$/), 40);
  });

  it('loads and stores of every memory format', () => {
    expectIdentical(4, name(/^f(ld|st|stp) m(32|64|80)$|^fild m|^fbld$/), 600);
    expectIdentical(5, name(/^fi(st|stp|sttp) m|^fbstp$/), 600, { value: 'int' });
    expectIdentical(6, name(/^fbstp$/), 600, { value: 'bcd' });
  });

  it('FSQRT, FRNDINT, FSCALE, FXTRACT, FPREM, FPREM1', () => {
    expectIdentical(7, name(/^(fsqrt|frndint|fxtract|fprem|fprem1)$/), 1500);
    expectIdentical(8, name(/^fscale$/), 1500, { rest: 'scale' });
    expectIdentical(9, name(/^fscale$/), 1500);
  });

  it('stack and register moves: FLD FST FSTP FXCH FFREE FFREEP FCMOVcc FINCSTP FDECSTP and the aliases', () => {
    expectIdentical(
      10,
      name(
        /^(fld|fst|fstp|fstp1|fstp8|fstp9|fxch|fxch4|fxch7|ffree|ffreep|fcmov[a-z]+) (st\d,)?st\d$|^(fincstp|fdecstp|fnop|fchs|fabs)$/,
      ),
      40,
      { emptyRate: 0.3 },
    );
  });

  it('constants under every rounding mode', () => {
    expectIdentical(11, name(/^fld(1|l2t|l2e|pi|lg2|ln2|z)$/), 300);
  });

  it('control: FLDCW FNSTCW FNSTSW FNCLEX FNINIT FLDENV FNSTENV FRSTOR FNSAVE (16- and 32-bit layouts)', () => {
    expectIdentical(
      12,
      name(/^(o16 )?(fldcw|fnstcw|fnstsw.*|fnclex|fninit|fneni|fndisi|fnsetpm|fldenv|fnstenv|frstor|fnsave)$/),
      300,
    );
  });

  it('FXSAVE and FXRSTOR images', () => {
    expectIdentical(17, name(/^fx(save|rstor)$/), 400);
  });

  it('stack overflow and underflow with masked and unmasked invalid operation', () => {
    expectIdentical(13, name(/^f(add|mul|sub|div)p? st\d,st\d$|^f(ld|st|stp) |^fi?(add|com) m/), 15, {
      emptyRate: 0.6,
      unmaskedRate: 0.6,
    });
  });

  it('transcendentals: special operands give identical results', () => {
    expectIdentical(14, name(/^(f2xm1|fsin|fcos|fsincos|fptan)$/), 400, { value: 'special' });
    expectIdentical(15, name(/^(fyl2x|fyl2xp1|fpatan)$/), 400, { value: 'special', rest: 'any' });
  });

  it('FPTAN below 2^-40: identical, the rounding of the scaled argument included', () => {
    // tan x lies within 2^-80 of x there, so the last bit is the processor's own rounding error,
    // which the model gives: on an AMD host, correctly rounded results differ on a third of these
    // operands.
    expectIdentical(18, name(/^fptan$/), 1500, { value: 'tiny', emptyRate: 0 });
  });

  // The processor's transcendentals carry approximation errors of about 2^-69 to 2^-66 of the
  // result; ours model the systematic parts of the host vendor's (transcendental.ts) and are
  // otherwise correctly rounded. A result may then differ in the last place, and C1 (the round-up
  // bit) with it. The floors sit just below the shares measured on an AMD family 19h host and on
  // an Intel Xeon (family 6, model 167) host.
  const TRANSCENDENTALS: [RegExp, RecordOptions, Record<X87Vendor, number>][] = [
    [/^fsin$/, { value: 'angle' }, { amd: 0.99, intel: 0.99 }],
    [/^fcos$/, { value: 'angle' }, { amd: 0.99, intel: 0.99 }],
    [/^fsincos$/, { value: 'angle' }, { amd: 0.99, intel: 0.99 }],
    [/^fptan$/, { value: 'angle' }, { amd: 0.97, intel: 0.99 }],
    [/^f2xm1$/, { value: 'unit' }, { amd: 0.965, intel: 0.99 }],
    [/^fyl2x$/, { value: 'finite', rest: 'finite' }, { amd: 0.985, intel: 0.99 }],
    [/^fyl2xp1$/, { value: 'small', rest: 'finite' }, { amd: 0.985, intel: 0.995 }],
    [/^fpatan$/, { value: 'finite', rest: 'finite' }, { amd: 0.99, intel: 0.99 }],
  ];
  for (const [re, opt, floor] of TRANSCENDENTALS) {
    it(`${re.source.slice(1, -1)}: bit-identical on most operands, within one unit in the last place on all`, () => {
      expectMostlyIdentical(16, re, { ...opt, emptyRate: 0, unmaskedRate: 0 }, floor[hostX87.vendor]);
    });
  }
});

/** Records of the ops `re` selects: at least `floor` of them identical, the rest within one ulp. */
function expectMostlyIdentical(seed: number, re: RegExp, opt: RecordOptions, floor: number): void {
  const out = differential(seed, name(re), 1500, opt);
  let exact = 0;
  const far: string[] = [];
  for (let r = 0; r < out.records; r++) {
    const o = r * RECORD_SIZE;
    if (sameRecord(out.input, out.host, out.ours, o)) exact++;
    else if (!withinOneUlp(out.input, out.host, out.ours, o)) {
      far.push(
        `${describeInput(OPS, out.input, o)}\n   host ${describeResult(out.host, o)}\n   ours ${describeResult(out.ours, o)}`,
      );
    }
  }
  expect(far.length, `${far.length} results more than one ulp away:\n${far.slice(0, 6).join('\n')}`).toBe(0);
  const share = exact / out.records;
  console.log(
    `${re.source.slice(1, -1)}: ${(100 * share).toFixed(2)}% of ${out.records} bit-identical (${hostX87.vendor} host)`,
  );
  expect(share).toBeGreaterThanOrEqual(floor);
}

/** Same record except C1 and result registers that differ by at most one unit in the last place. */
function withinOneUlp(input: Uint8Array, host: Uint8Array, ours: Uint8Array, o: number): boolean {
  const mask = recordMask(OPS[input[o] | (input[o + 1] << 8)], hostX87, host, o);
  for (let b = 0; b < 28; b++) {
    if (mask[b] === 0) continue; // pointers, and FOP where the host keeps none
    const x = b === 5 ? (host[o + b] ^ ours[o + b]) & ~0x02 : host[o + b] ^ ours[o + b]; // C1 is bit 9 of the status word
    if (x !== 0) return false;
  }
  for (let i = 0; i < 8; i++) {
    const p = o + 28 + 10 * i;
    const a = ordinal(host, p);
    const b = ordinal(ours, p);
    if (a !== b && (host[p + 9] & 0x80) === (ours[p + 9] & 0x80) && (a - b > 1n || b - a > 1n)) return false;
    if (a !== b && (host[p + 9] & 0x80) !== (ours[p + 9] & 0x80)) return false;
  }
  return true;
}

/** Position of an 80-bit magnitude on the number line (consecutive values differ by one). */
function ordinal(b: Uint8Array, p: number): bigint {
  const dv = new DataView(b.buffer, b.byteOffset);
  const e = BigInt(dv.getUint16(p + 8, true) & 0x7fff);
  const sig = dv.getBigUint64(p, true);
  return e === 0n ? sig : (e << 63n) + (sig & 0x7fffffffffffffffn);
}
