// Differential testing of the x87 FPU against the host CPU: random records, the same setup and
// instruction on both sides, and a byte comparison of the resulting FNSAVE image, AX, EFLAGS and
// memory operand.

import { readFileSync } from 'node:fs';
import { CTL_NE, CTL_OPSIZE32, CTL_PROTECTED, Fpu, FpuResult } from '../../src/fpu/fpu.js';
import type { X87Vendor } from '../../src/fpu/transcendental.js';
import { Mem, type X87Op } from './ops.js';
import { RECORD_SIZE, runHarness } from './native.js';

/** Deterministic PRNG (xorshift32 variant with a 32-bit output). */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  u32(): number {
    let x = this.s;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    this.s = x;
    // Mix the output so low bits are as good as high bits.
    let z = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  }
  int(n: number): number {
    return this.u32() % n;
  }
  chance(p: number): boolean {
    return this.u32() / 4294967296 < p;
  }
}

/** Kinds of value distributions for ST operands. */
export type ValueKind = 'any' | 'finite' | 'unit' | 'small' | 'angle' | 'tiny' | 'int' | 'scale' | 'bcd' | 'special';

/** A random 64-bit significand with J set, from several bit patterns. */
function significand(r: Rng): [number, number] {
  switch (r.int(8)) {
    case 0: // all ones
      return [0xffffffff, 0xffffffff];
    case 1: {
      // a single low bit set
      const b = r.int(64);
      return b >= 32 ? [(0x80000000 | (1 << (b - 32))) >>> 0, 0] : [0x80000000, (1 << b) >>> 0];
    }
    case 2: // double-representable
      return [(r.u32() | 0x80000000) >>> 0, (r.u32() & 0xfffff800) >>> 0];
    case 3: // float-representable
      return [(r.u32() & 0xffffff00) | 0x80000000, 0].map((v) => v >>> 0) as [number, number];
    case 4: {
      // exactly halfway patterns at the precisions (x...x 1000...)
      const p = [24, 53, 64][r.int(3)];
      const hi = (r.u32() | 0x80000000) >>> 0;
      const lo = r.u32();
      if (p === 24) return [((hi & 0xffffff00) | 0x80) >>> 0, 0];
      if (p === 53) return [hi, ((lo & 0xfffff800) | 0x400) >>> 0];
      return [hi, lo];
    }
    default:
      return [(r.u32() | 0x80000000) >>> 0, r.u32()];
  }
}

/** A random 80-bit value as [se, hi, lo] of the given distribution. */
export function randomValue(r: Rng, kind: ValueKind): [number, number, number] {
  const sign = r.chance(0.5) ? 0x8000 : 0;
  const [h, l] = significand(r);
  switch (kind) {
    case 'special': {
      // Zeros, infinities, NaNs and unsupported encodings: the results are exact.
      const v = special(r, sign);
      const e = v[0] & 0x7fff;
      return e === 0 && (v[1] | v[2]) !== 0
        ? [sign, 0, 0]
        : e !== 0 && e !== 0x7fff && (v[1] & 0x80000000) !== 0
          ? [sign | 0x7fff, 0x80000000, 0]
          : v;
    }
    case 'unit': {
      // |x| <= 1 mostly, with tiny values and the end points.
      const k = r.int(20);
      if (k === 0) return [sign | 0x3fff, 0x80000000, 0];
      if (k === 1) return special(r, sign);
      if (k === 2) return [sign | (1 + r.int(0x3f00)), h, l];
      return [sign | (0x3fff - 1 - r.int(70)), h, l];
    }
    case 'small': {
      // FYL2XP1 range: |x| < 1 - sqrt(2)/2 (0.29...).
      const k = r.int(20);
      if (k === 0) return special(r, sign);
      if (k === 1) return [sign | (1 + r.int(0x3f00)), h, l];
      return [sign | (0x3fff - 2 - r.int(70)), h, l];
    }
    case 'angle': {
      const k = r.int(20);
      if (k === 0) return special(r, sign);
      if (k < 4) return [sign | (0x3fff + r.int(63)), h, l];
      if (k === 4) return [sign | (0x3fff + 60 + r.int(8)), h, l];
      if (k === 5) return [sign | (1 + r.int(0x3fff)), h, l];
      // Near multiples of pi/4 and small ones.
      return [sign | (0x3fff - 8 + r.int(16)), h, l];
    }
    case 'tiny': {
      // Below 2^-40: every normal exponent, and denormals.
      if (r.chance(0.1)) return denormal(r, sign, h, l);
      return [sign | (1 + r.int(0x3fff - 42)), h, l];
    }
    case 'int': {
      const k = r.int(20);
      if (k === 0) return special(r, sign);
      if (k < 3) return [sign | (0x3fff + 60 + r.int(8)), h, l];
      if (k < 5) return [sign | (0x3fff + 14 + r.int(4)), h, l];
      if (k < 7) return [sign | (0x3fff + 29 + r.int(4)), h, l];
      // Halves and quarters around integers.
      const e = r.int(40);
      return [sign | (0x3fff + e), h, e >= 30 ? l : 0];
    }
    case 'scale': {
      const k = r.int(10);
      if (k === 0) return special(r, sign);
      if (k === 1) return [sign | (0x3fff + 12 + r.int(8)), h, l];
      return [sign | (0x3fff + r.int(8)), h, l];
    }
    case 'bcd': {
      const k = r.int(10);
      if (k === 0) return special(r, sign);
      return [sign | (0x3fff + r.int(62)), h, l];
    }
    default: {
      const k = r.int(100);
      if (kind === 'any' && k < 25) return special(r, sign);
      if (k < 60) return [sign | (0x3fff - 64 + r.int(128)), h, l];
      if (k < 75) return [sign | (1 + r.int(0x7ffe)), h, l];
      if (k < 85) return [sign | (r.chance(0.5) ? 1 + r.int(80) : 0x7ffe - r.int(80)), h, l];
      if (k < 92) return [sign | (0x3fff + r.int(64)), h, r.chance(0.5) ? 0 : l];
      return [sign | (0x3fff - 1 + r.int(3)), h, l];
    }
  }
}

/** A denormal from the significand h:l: J clear and 1 to 63 leading zeros. */
function denormal(r: Rng, sign: number, h: number, l: number): [number, number, number] {
  const s = 1 + r.int(63);
  const hi = s >= 32 ? 0 : h >>> s;
  const lo = s >= 32 ? h >>> (s - 32) : ((h << (32 - s)) | (l >>> s)) >>> 0;
  return [sign, hi >>> 0, (lo | (hi === 0 && lo === 0 ? 1 : 0)) >>> 0];
}

/** Zeros, denormals, infinities, NaNs and unsupported encodings. */
function special(r: Rng, sign: number): [number, number, number] {
  const [h, l] = significand(r);
  switch (r.int(12)) {
    case 0:
    case 1:
      return [sign, 0, 0];
    case 2:
    case 3:
      return denormal(r, sign, h, l);
    case 4: // pseudo-denormal
      return [sign, h, l];
    case 5:
      return [sign | 0x7fff, 0x80000000, 0];
    case 6: // QNaN
      return [sign | 0x7fff, (h | 0xc0000000) >>> 0, l];
    case 7: // indefinite
      return [0xffff, 0xc0000000, 0];
    case 8: {
      // SNaN
      const hi = (h & 0xbfffffff) >>> 0;
      return [sign | 0x7fff, hi, hi === 0x80000000 && l === 0 ? 1 : l];
    }
    case 9: // unnormal
      return [sign | (1 + r.int(0x7ffe)), (h & 0x7fffffff) >>> 0, l];
    case 10: // pseudo-infinity or pseudo-NaN
      return [sign | 0x7fff, r.chance(0.5) ? 0 : (h & 0x7fffffff) >>> 0, r.chance(0.5) ? 0 : l];
    default:
      return [sign | (r.chance(0.5) ? 1 : 0x7ffe), h, l];
  }
}

function wr16(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
}

function wr32(b: Uint8Array, o: number, v: number): void {
  wr16(b, o, v & 0xffff);
  wr16(b, o + 2, v >>> 16);
}

function rd16(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8);
}

function rd32(b: Uint8Array, o: number): number {
  return (rd16(b, o) | (rd16(b, o + 2) << 16)) >>> 0;
}

function writeValue(b: Uint8Array, o: number, v: [number, number, number]): void {
  wr32(b, o, v[2]);
  wr32(b, o + 4, v[1]);
  wr16(b, o + 8, v[0]);
}

/** Random float32 bits: all classes, with denormals and NaNs well represented. */
function randomF32(r: Rng): number {
  const s = r.chance(0.5) ? 0x80000000 : 0;
  switch (r.int(10)) {
    case 0:
      return s;
    case 1:
      return (s | (r.u32() & 0x7fffff)) >>> 0;
    case 2:
      return (s | 0x7f800000 | (r.chance(0.3) ? 0 : r.u32() & 0x7fffff)) >>> 0;
    case 3:
      return (s | ((100 + r.int(56)) << 23) | (r.u32() & 0x7fffff)) >>> 0;
    default:
      return (s | (r.u32() & 0x7fffffff)) >>> 0;
  }
}

function randomF64(r: Rng, b: Uint8Array, o: number): void {
  const s = r.chance(0.5) ? 0x80000000 : 0;
  let hi: number;
  switch (r.int(10)) {
    case 0:
      hi = s;
      wr32(b, o, 0);
      wr32(b, o + 4, hi);
      return;
    case 1:
      hi = s | (r.u32() & 0xfffff);
      break;
    case 2:
      hi = s | 0x7ff00000 | (r.chance(0.3) ? 0 : r.u32() & 0xfffff);
      break;
    case 3:
      hi = s | ((1000 + r.int(48)) << 20) | (r.u32() & 0xfffff);
      break;
    default:
      hi = s | (r.u32() & 0x7fffffff);
  }
  wr32(b, o, r.chance(0.2) ? 0 : r.u32());
  wr32(b, o + 4, hi >>> 0);
}

function randomBcd(r: Rng, b: Uint8Array, o: number): void {
  const digits = r.int(19);
  for (let i = 0; i < 9; i++) {
    const lo = 2 * i < digits ? r.int(10) : 0;
    const hi = 2 * i + 1 < digits ? r.int(10) : 0;
    b[o + i] = (hi << 4) | lo;
  }
  if (r.chance(0.05)) b[o + r.int(9)] = r.u32() & 0xff; // invalid digits
  b[o + 9] = r.chance(0.5) ? 0x80 : 0;
  if (r.chance(0.05)) b[o + 9] |= r.u32() & 0x7f;
}

/** A random control word: mostly all exceptions masked, any precision and rounding. */
export function randomCw(r: Rng, unmaskedRate = 0.25): number {
  let masks = 0x3f;
  if (r.chance(unmaskedRate)) for (let i = 0; i < 6; i++) if (r.chance(0.4)) masks &= ~(1 << i);
  const pc = [0, 2, 3, 3, 1][r.int(5)];
  return masks | 0x40 | (pc << 8) | (r.int(4) << 10) | (r.chance(0.2) ? 0x1000 : 0);
}

export interface RecordOptions {
  /** Distribution of ST(0) and ST(1). */
  value?: ValueKind;
  /** Distribution of the other stack values. */
  rest?: ValueKind;
  unmaskedRate?: number;
  /** Probability of an under-full stack (empty operands). */
  emptyRate?: number;
}

/** Fills one input record for `op` (index `index` in the op table). */
export function makeRecord(r: Rng, op: X87Op, index: number, rec: Uint8Array, o: number, opt: RecordOptions): void {
  rec.fill(0, o, o + RECORD_SIZE);
  wr16(rec, o, index);
  const cw = randomCw(r, opt.unmaskedRate ?? 0.25);
  wr16(rec, o + 2, cw);
  wr32(rec, o + 4, 0x202 | (r.u32() & 0x8d5));
  const emptyRate = opt.emptyRate ?? 0.05;
  let npush = 8 - r.int(7);
  if (r.chance(emptyRate)) npush = r.int(3);
  rec[o + 8] = npush;
  rec[o + 9] = r.chance(emptyRate) ? 1 << r.int(3) : 0;
  rec[o + 10] = r.int(8);
  // Condition codes and flags that stay masked under the op's control word.
  let sw = r.u32() & 0x4700;
  if (r.chance(0.3)) sw |= r.u32() & 0x7f & cw & 0x3f;
  wr16(rec, o + 12, sw);
  for (let i = 0; i < 8; i++) {
    const kind = i < 2 ? (opt.value ?? 'any') : (opt.rest ?? 'any');
    writeValue(rec, o + 16 + i * 10, randomValue(r, kind));
  }
  const m = o + 112;
  for (let i = 0; i < 112; i++) rec[m + i] = r.u32() & 0xff;
  switch (op.mem) {
    case Mem.F32:
      wr32(rec, m, randomF32(r));
      break;
    case Mem.F64:
      randomF64(r, rec, m);
      break;
    case Mem.F80:
      writeValue(rec, m, randomValue(r, 'any'));
      break;
    case Mem.I16:
      wr16(rec, m, r.chance(0.5) ? r.u32() : r.int(64) - 32);
      break;
    case Mem.I32:
      wr32(rec, m, r.chance(0.5) ? r.u32() : r.int(64) - 32);
      break;
    case Mem.I64:
      wr32(rec, m, r.u32());
      wr32(rec, m + 4, r.chance(0.5) ? r.u32() : r.chance(0.5) ? 0 : 0xffffffff);
      break;
    case Mem.Bcd:
      randomBcd(r, rec, m);
      break;
    case Mem.Cw:
      wr16(rec, m, randomCw(r, 0) | (r.u32() & 0xe080));
      break;
    case Mem.Env14:
    case Mem.Env28:
    case Mem.State94:
    case Mem.State108:
      randomEnv(r, op.mem, rec, m);
      break;
    case Mem.FxImage:
      randomFxImage(r, rec, m);
      break;
  }
}

/** A loadable FXSAVE image prefix: valid MXCSR, any x87 state, ST(0)..ST(4) values. */
function randomFxImage(r: Rng, b: Uint8Array, o: number): void {
  wr16(b, o, randomCw(r, 0.3) | (r.u32() & 0xe080));
  wr16(b, o + 2, r.u32() & 0xffff);
  b[o + 4] = r.u32() & 0xff;
  b[o + 5] = r.chance(0.1) ? r.u32() & 0xff : 0;
  wr16(b, o + 6, r.u32() & 0xffff);
  wr32(b, o + 24, 0x1f80); // MXCSR: reserved bits must be clear
  wr32(b, o + 28, r.u32());
  for (let i = 0; i < 5; i++) {
    writeValue(b, o + 32 + 16 * i, randomValue(r, 'any'));
    for (let k = 10; k < 16; k++) b[o + 32 + 16 * i + k] = r.chance(0.5) ? 0 : r.u32() & 0xff;
  }
}

/**
 * A random environment. It may leave an unmasked exception pending: the harness runs no waiting
 * instruction between the op and its FNSAVE, so nothing traps.
 */
function randomEnv(r: Rng, kind: Mem, b: Uint8Array, o: number): void {
  const cw = randomCw(r, 0.3) | (r.u32() & 0xe080);
  const sw = r.u32() & 0xffff;
  const tw = r.u32() & 0xffff;
  const wide = kind === Mem.Env28 || kind === Mem.State108;
  let p: number;
  if (wide) {
    wr32(b, o, (r.u32() & 0xffff0000) | cw);
    wr32(b, o + 4, (r.u32() & 0xffff0000) | sw);
    wr32(b, o + 8, (r.u32() & 0xffff0000) | tw);
    p = o + 28;
  } else {
    wr16(b, o, cw);
    wr16(b, o + 2, sw);
    wr16(b, o + 4, tw);
    p = o + 14;
  }
  if (kind === Mem.State94 || kind === Mem.State108) {
    for (let i = 0; i < 8; i++) writeValue(b, p + 10 * i, randomValue(r, 'any'));
  }
}

const FOP_FLD_M80_SETUP = 0x3ac; // fld tword [inrec + 16 + eax * 2] in the harness
const FOP_FFREE = 0x5c0;
const FOP_FDECSTP = 0x1f6;

/** Runs one record on our FPU, producing the same result layout as the native harness. */
export function emulateRecord(
  fpu: Fpu,
  ops: readonly X87Op[],
  rec: Uint8Array,
  o: number,
  out: Uint8Array,
  oo: number,
): void {
  const ctl = CTL_PROTECTED | CTL_NE | CTL_OPSIZE32;
  const mem = new Uint8Array(512);
  const tmp = new Uint8Array(128);
  mem.set(rec.subarray(o + 112, o + 224));
  fpu.execute(0x3e3, ctl, tmp, 0); // FNINIT
  for (let i = 0; i < 8; i++) fpu.execute(0x1ee, ctl, tmp, 0); // FLDZ
  fpu.execute(0x3e3, ctl, tmp, 0);
  wr16(tmp, 0, 0x037f);
  fpu.execute(0x12d, ctl, tmp, 0); // FLDCW
  for (let i = rec[o + 10]; i > 0; i--) fpu.execute(FOP_FDECSTP, ctl, tmp, 0);
  for (let i = rec[o + 8] - 1; i >= 0; i--) fpu.execute(FOP_FLD_M80_SETUP, ctl, rec, o + 16 + 10 * i);
  const free = rec[o + 9];
  for (let i = 0; i < 8; i++) if ((free & (1 << i)) !== 0) fpu.execute(FOP_FFREE | i, ctl, tmp, 0);
  fpu.execute(0x135, ctl, tmp, 0); // FNSTENV
  wr16(tmp, 4, rd16(tmp, 4) | rd16(rec, o + 12));
  fpu.execute(0x125, ctl, tmp, 0); // FLDENV
  fpu.execute(0x12d, ctl, rec, o + 2); // FLDCW
  const op = ops[rd16(rec, o)];
  let ax = 0xaaaa;
  let eflags = rd32(rec, o + 4);
  const opCtl = (op.o16 ? ctl & ~CTL_OPSIZE32 : ctl) | (eflags & 0x45);
  let res: number = FpuResult.Done;
  if (op.fx === 'save') fpu.fxsave(mem, 0);
  else if (op.fx === 'restore') fpu.fxrstor(mem, 0);
  else res = fpu.execute(op.fop, opCtl, mem, 0);
  if (res === FpuResult.Ax) ax = fpu.ax;
  else if (res === FpuResult.Eflags) eflags = (eflags & ~0x8d5) | fpu.eflags;
  else if (res !== FpuResult.Done && res !== FpuResult.Store) throw new Error(`${op.name}: unexpected result ${res}`);
  out.fill(0, oo, oo + RECORD_SIZE);
  fpu.execute(0x535, ctl, out, oo); // FNSAVE
  wr16(out, oo + 108, ax);
  wr32(out, oo + 112, eflags);
  out.set(mem.subarray(0, 112), oo + 128);
}

/** Byte ranges of a result record that are compared (pointer fields depend on native addresses). */
function compareMask(op: X87Op): Uint8Array {
  const m = new Uint8Array(RECORD_SIZE);
  m.fill(1, 0, 108);
  const comparePointers = op.name.includes('fldenv') || op.name.includes('rstor') || op.name === 'fninit';
  if (!comparePointers) {
    m.fill(0, 12, 18); // FIP, FCS
    m.fill(0, 20, 26); // FDP, FDS
  }
  m.fill(1, 108, 110); // AX
  m.fill(1, 112, 116); // EFLAGS
  m.fill(1, 128, 240); // memory operand
  if (op.fx === 'save') {
    // AMD processors store FOP, FIP and FDP only while an exception is pending; the modelled P6
    // (Intel) always stores them.
    m.fill(0, 128 + 6, 128 + 8); // FOP
    m.fill(0, 128 + 8, 128 + 16); // FIP, FCS
    m.fill(0, 128 + 16, 128 + 24); // FDP, FDS
    m.fill(0, 128 + 24, 128 + 32); // MXCSR and its mask: SSE state the guest CPU does not have
  }
  if (op.name.includes('fnstenv') || op.name.includes('fnsave')) {
    if (op.o16) m.fill(0, 128 + 6, 128 + 14);
    else {
      m.fill(0, 128 + 12, 128 + 18);
      m.fill(0, 128 + 20, 128 + 26);
    }
  }
  return m;
}

/**
 * What the host's x87 stores that the modelled P6 stores differently. The P6, like Intel processors
 * in FOP code compatibility mode, stores the last opcode (FOP) for every non-control instruction;
 * AMD processors and recent Intel ones, which lack that mode, store it only for an instruction that
 * raised an unmasked exception, so without one the setup's 0 stays (`fopOnException`). Intel
 * processors that deprecate the FPU CS and DS values store 0 for them (`zeroSegments`).
 */
export interface HostX87 {
  fopOnException: boolean;
  zeroSegments: boolean;
  /** Whose transcendental microcode the host runs (the Fpu models either). */
  vendor: X87Vendor;
}

/** The host processor's vendor, from /proc/cpuinfo. */
function hostVendor(): X87Vendor {
  const id = /^vendor_id\s*:\s*(\S+)/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1];
  if (id === 'GenuineIntel') return 'intel';
  if (id === 'AuthenticAMD') return 'amd';
  throw new Error(`the x87 differential tests know Intel and AMD processors, not ${id ?? 'this one'}`);
}

/** Finds the host's HostX87 with FLD1 (every exception masked) and FLDENV (segments loaded). */
export function probeHost(exe: string, ops: readonly X87Op[]): HostX87 {
  const fld1 = ops.findIndex((op) => op.name === 'fld1');
  const fldenv = ops.findIndex((op) => op.name === 'fldenv');
  const tries = 3;
  const input = new Uint8Array(2 * tries * RECORD_SIZE);
  const rng = new Rng(1);
  for (let t = 0; t < tries; t++) {
    makeRecord(rng, ops[fld1], fld1, input, t * RECORD_SIZE, { unmaskedRate: 0, emptyRate: 0 });
    makeRecord(rng, ops[fldenv], fldenv, input, (tries + t) * RECORD_SIZE, {});
    wr16(input, (tries + t) * RECORD_SIZE + 112 + 16, 0x1234); // FCS
    wr16(input, (tries + t) * RECORD_SIZE + 112 + 24, 0x5678); // FDS
  }
  const host = runHarness(exe, input);
  const at = (t: number, field: number) => rd16(host, t * RECORD_SIZE + field);
  const fops = Array.from({ length: tries }, (_, t) => at(t, 18) & 0x7ff);
  // A task switch between the instruction and the FNSAVE may lose the opcode, so one run that keeps it decides.
  const fopAlways = fops.includes(ops[fld1].fop);
  if (!fopAlways && fops.some((fop) => fop !== 0)) {
    throw new Error(`FLD1 left the last opcodes ${fops.map((f) => hex(f, 3)).join(', ')} on the host`);
  }
  const segments = Array.from({ length: tries }, (_, t) => [at(tries + t, 16), at(tries + t, 24)]);
  const zeroSegments = segments.every(([cs, ds]) => cs === 0 && ds === 0);
  if (!zeroSegments && !segments.every(([cs, ds]) => cs === 0x1234 && ds === 0x5678)) {
    throw new Error(
      `FLDENV left FPU CS:DS ${segments.map(([cs, ds]) => `${hex(cs, 4)}:${hex(ds, 4)}`).join(', ')} on the host`,
    );
  }
  return { fopOnException: !fopAlways, zeroSegments, vendor: hostVendor() };
}

/**
 * compareMask for one record, without what the host leaves at 0: the FOP fields of images whose
 * status word has no exception pending (ES clear), unless the instruction loaded them, and the
 * FPU CS and DS fields.
 */
export function recordMask(op: X87Op, host: HostX87, result: Uint8Array, o: number): Uint8Array {
  const m = compareMask(op);
  if (host.zeroSegments) {
    m.fill(0, 16, 18);
    m.fill(0, 24, 26);
  }
  if (!host.fopOnException || /fldenv|rstor/.test(op.name)) return m;
  const ES = 0x80;
  if ((result[o + 4] & ES) === 0) m.fill(0, 18, 20);
  const savesEnvironment = /fnstenv|fnsave/.test(op.name) && !op.o16;
  if (savesEnvironment && (result[o + 128 + 4] & ES) === 0) m.fill(0, 128 + 18, 128 + 20);
  return m;
}

function hex(v: number, digits: number): string {
  return v.toString(16).padStart(digits, '0');
}

/** A readable account of a result record. */
export function describeResult(b: Uint8Array, o: number): string {
  const cw = rd16(b, o);
  const sw = rd16(b, o + 4);
  const tw = rd16(b, o + 8);
  const fop = rd32(b, o + 16) >>> 16;
  const st: string[] = [];
  for (let i = 0; i < 8; i++) {
    const p = o + 28 + 10 * i;
    st.push(`${hex(rd16(b, p + 8), 4)}:${hex(rd32(b, p + 4), 8)}${hex(rd32(b, p), 8)}`);
  }
  return (
    `cw=${hex(cw, 4)} sw=${hex(sw, 4)} tw=${hex(tw, 4)} fop=${hex(fop, 3)} ax=${hex(rd16(b, o + 108), 4)} ` +
    `efl=${hex(rd32(b, o + 112) & 0x8d5, 3)}\n      st=${st.join(' ')}\n      mem=${Array.from(b.subarray(o + 128, o + 144), (x) => hex(x, 2)).join('')}`
  );
}

/** A readable account of an input record. */
export function describeInput(ops: readonly X87Op[], b: Uint8Array, o: number): string {
  const op = ops[rd16(b, o)];
  const vals: string[] = [];
  for (let i = 0; i < b[o + 8]; i++) {
    const p = o + 16 + 10 * i;
    vals.push(`${hex(rd16(b, p + 8), 4)}:${hex(rd32(b, p + 4), 8)}${hex(rd32(b, p), 8)}`);
  }
  return (
    `${op.name} cw=${hex(rd16(b, o + 2), 4)} efl=${hex(rd32(b, o + 4), 3)} push=${b[o + 8]} free=${hex(b[o + 9], 2)} ` +
    `decstp=${b[o + 10]} sw|=${hex(rd16(b, o + 12), 4)}\n      in=${vals.join(' ')}\n      mem=${Array.from(b.subarray(o + 112, o + 128), (x) => hex(x, 2)).join('')}`
  );
}
