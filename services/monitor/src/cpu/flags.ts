/**
 * Lazy status flags. An arithmetic instruction stores its result and operands plus one "lazy word";
 * the six status flags are computed from them only when something reads them.
 *
 * Lazy word layout (an int in the CPU state):
 *   bits 0-3   LazyKind: how the stored values relate
 *   bits 8-13  operand size in bits (8, 16, 32)
 *   bits 16-27 the EFLAGS bits that are lazy (the others come from the stored EFLAGS word)
 * A lazy word of 0 means the EFLAGS word holds every flag.
 */

import { Flag } from './registers.js';

export const enum LazyKind {
  NONE = 0,
  /** res = a + b */
  ADD = 1,
  /** res = a + b + 1 */
  ADC = 2,
  /** res = a - b */
  SUB = 3,
  /** res = a - b - 1 */
  SBB = 4,
  /** AND/OR/XOR/TEST: CF = OF = AF = 0 */
  LOGIC = 5,
  /** Only SF, ZF and PF are lazy and follow from res (shifts, rotates through results, BCD). */
  RESULT = 6,
}

/** EFLAGS CF|PF|AF|ZF|SF|OF. */
const ALL = 0x8d5;
/** All but CF (INC and DEC keep CF). */
const NO_CF = 0x8d4;
/** SF|ZF|PF */
const SZP = 0xc4;

function word(kind: number, size: number, mask: number): number {
  return kind | (size << 8) | (mask << 16);
}

export const LZ_ADD8 = word(LazyKind.ADD, 8, ALL);
export const LZ_ADD16 = word(LazyKind.ADD, 16, ALL);
export const LZ_ADD32 = word(LazyKind.ADD, 32, ALL);
export const LZ_ADC8 = word(LazyKind.ADC, 8, ALL);
export const LZ_ADC16 = word(LazyKind.ADC, 16, ALL);
export const LZ_ADC32 = word(LazyKind.ADC, 32, ALL);
export const LZ_SUB8 = word(LazyKind.SUB, 8, ALL);
export const LZ_SUB16 = word(LazyKind.SUB, 16, ALL);
export const LZ_SUB32 = word(LazyKind.SUB, 32, ALL);
export const LZ_SBB8 = word(LazyKind.SBB, 8, ALL);
export const LZ_SBB16 = word(LazyKind.SBB, 16, ALL);
export const LZ_SBB32 = word(LazyKind.SBB, 32, ALL);
export const LZ_LOGIC8 = word(LazyKind.LOGIC, 8, ALL);
export const LZ_LOGIC16 = word(LazyKind.LOGIC, 16, ALL);
export const LZ_LOGIC32 = word(LazyKind.LOGIC, 32, ALL);
export const LZ_INC8 = word(LazyKind.ADD, 8, NO_CF);
export const LZ_INC16 = word(LazyKind.ADD, 16, NO_CF);
export const LZ_INC32 = word(LazyKind.ADD, 32, NO_CF);
export const LZ_DEC8 = word(LazyKind.SUB, 8, NO_CF);
export const LZ_DEC16 = word(LazyKind.SUB, 16, NO_CF);
export const LZ_DEC32 = word(LazyKind.SUB, 32, NO_CF);
export const LZ_RESULT8 = word(LazyKind.RESULT, 8, SZP);
export const LZ_RESULT16 = word(LazyKind.RESULT, 16, SZP);
export const LZ_RESULT32 = word(LazyKind.RESULT, 32, SZP);

/** Lazy words indexed by operand size / 8 - 1 (sizes 8, 16, -, 32), for size-generic code. */
export function lazyWord(kind: LazyKind, size: number, incDec = false): number {
  if (kind === LazyKind.RESULT) return word(kind, size, SZP);
  return word(kind, size, incDec ? NO_CF : ALL);
}

/** PARITY[b] is PF (0x4) when the low byte b has an even number of set bits. */
export const PARITY = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let bits = 0;
  for (let v = i; v !== 0; v >>= 1) bits += v & 1;
  PARITY[i] = (bits & 1) === 0 ? 4 : 0;
}

/** Computes CF (0 or 1) from a lazy state. */
export function lazyCf(lazy: number, res: number, a: number, b: number): number {
  switch (lazy & 0xf) {
    case LazyKind.ADD:
      return res >>> 0 < a >>> 0 ? 1 : 0;
    case LazyKind.ADC:
      return res >>> 0 <= a >>> 0 ? 1 : 0;
    case LazyKind.SUB:
      return a >>> 0 < b >>> 0 ? 1 : 0;
    case LazyKind.SBB:
      return a >>> 0 <= b >>> 0 ? 1 : 0;
    default:
      return 0;
  }
}

/** Computes OF (0 or 0x800) from a lazy state. */
export function lazyOf(lazy: number, res: number, a: number, b: number): number {
  const shift = ((lazy >>> 8) & 0x3f) - 1;
  switch (lazy & 0xf) {
    case LazyKind.ADD:
    case LazyKind.ADC:
      return (((a ^ res) & (b ^ res)) >>> shift) & 1 ? 0x800 : 0;
    case LazyKind.SUB:
    case LazyKind.SBB:
      return (((a ^ b) & (a ^ res)) >>> shift) & 1 ? 0x800 : 0;
    default:
      return 0;
  }
}

/** Computes AF (0 or 0x10) from a lazy state. */
export function lazyAf(lazy: number, res: number, a: number, b: number): number {
  const kind = lazy & 0xf;
  if (kind >= LazyKind.LOGIC) return 0;
  return (a ^ b ^ res) & 0x10;
}

/** Computes ZF (0 or 0x40). */
export function lazyZf(lazy: number, res: number): number {
  const size = (lazy >>> 8) & 0x3f;
  const masked = size === 32 ? res : res & ((1 << size) - 1);
  return masked === 0 ? 0x40 : 0;
}

/** Computes SF (0 or 0x80). */
export function lazySf(lazy: number, res: number): number {
  return ((res >>> (((lazy >>> 8) & 0x3f) - 1)) & 1) << 7;
}

/** Every status flag of a lazy state, as EFLAGS bits (only the lazy ones are meaningful). */
export function lazyFlags(lazy: number, res: number, a: number, b: number): number {
  return (
    lazyCf(lazy, res, a, b) |
    PARITY[res & 0xff] |
    lazyAf(lazy, res, a, b) |
    lazyZf(lazy, res) |
    lazySf(lazy, res) |
    lazyOf(lazy, res, a, b)
  );
}

// The status flags from the EFLAGS word and a lazy state (Cpu's state words, or the locals a page
// function holds them in): a lazy flag is computed, the others read from the EFLAGS word.

/** CF as 0 or 1. */
export function carryFlag(flags: number, lazy: number, res: number, a: number, b: number): number {
  return (lazy & (Flag.CF << 16)) === 0 ? flags & Flag.CF : lazyCf(lazy, res, a, b);
}

export function parityFlag(flags: number, lazy: number, res: number): boolean {
  return (lazy & (Flag.PF << 16)) === 0 ? (flags & Flag.PF) !== 0 : PARITY[res & 0xff] !== 0;
}

export function zeroFlag(flags: number, lazy: number, res: number): boolean {
  return (lazy & (Flag.ZF << 16)) === 0 ? (flags & Flag.ZF) !== 0 : lazyZf(lazy, res) !== 0;
}

export function signFlag(flags: number, lazy: number, res: number): boolean {
  return (lazy & (Flag.SF << 16)) === 0 ? (flags & Flag.SF) !== 0 : lazySf(lazy, res) !== 0;
}

export function overflowFlag(flags: number, lazy: number, res: number, a: number, b: number): boolean {
  return (lazy & (Flag.OF << 16)) === 0 ? (flags & Flag.OF) !== 0 : lazyOf(lazy, res, a, b) !== 0;
}
