/**
 * The interpreter's compact form of a block: eight int32s per record, a block's records one after
 * another in its block source's arena (engine/record-arena.ts), holding the record's IP and length,
 * its routine as an index into ROUTINES, and the operand fields the specialised handlers read. Code
 * that runs a few thousand times is spread over many pages, and the interpreter's time on it goes to
 * cache misses: a record object spans two to three cache lines and each block's records lie wherever
 * the pool had them, where a packed block keeps two records per line, in order, beside its routine
 * numbers. With sixteen int32s per record instead (the same fields, the rest unused), the boot and
 * the bench workload took as long as with eight (two rounds in turns: the prompt after 8.01 and 8.29
 * s against 8.22 and 8.12 s, the whole run with the workload's steps 30.48 and 30.88 s against
 * 30.58 and 31.27 s; the forking loop, the step that interprets most, 5.88 and 5.78 s against 5.88
 * and 5.42 s): the interpreter no longer waits on the records' size, so halving them to four int32s
 * is not where its time is.
 *
 * Routines take the record object as well: the generic handlers read it (they decode operand kinds,
 * prefixes and the rest), the specialised ones read only the packed fields.
 */

import { OpKind, type Instruction } from '@plex86/x86';
import type { Cpu } from '../cpu.js';
import { R_AX, R_EAX, R_ES } from './operands.js';
import type { Handler } from './table.js';

/** int32s per record (a power of two: a record's offset is its index shifted). */
export const PACKED_SHIFT = 3;
export const PACKED_STRIDE = 1 << PACKED_SHIFT;

/** Where each field lies in a record's eight int32s. */
export const enum Packed {
  /** The record's IP (`rawIp`). */
  IP = 0,
  LENGTH = 1,
  /** Index of its routine in ROUTINES. */
  ROUTINE = 2,
  /** Register numbers of operands 0 and 1 (`op0Register`, `op1Register`). */
  OP0 = 3,
  OP1 = 4,
  /** `rawImmediate`; for a near branch, its target minus the next record's IP. */
  IMM = 5,
  /** `rawDisplacement`. */
  DISP = 6,
  /** The memory operand's base and index registers, scale, address size and segment (MemWord). */
  MEM = 7,
}

/** Bits of the Packed.MEM word. */
export const enum MemWord {
  /** memBase in bits 0-7, memIndex in bits 8-15. */
  INDEX_SHIFT = 8,
  /** log2 of memScale in bits 16-17. */
  SCALE_SHIFT = 16,
  /** Set for 16-bit addressing. */
  ADDR16 = 1 << 18,
  /** Segment register number (Seg) in bits 20-22. */
  SEG_SHIFT = 20,
}

/**
 * A routine as the interpreter calls it: with its packed form at offset `o`, and the record, which
 * a packed twin (in RECORDLESS) never reads and is called without.
 */
export type PackedHandler = (cpu: Cpu, ins: Instruction, p: Int32Array, o: number) => void;

/** Every routine a packed record names; an index is never reused. */
export const ROUTINES: PackedHandler[] = [];
const routineIndex = new Map<PackedHandler, number>();

/** The specialised handlers' packed twins (fast.ts): they read only the packed form. */
export const RECORDLESS = new WeakSet<PackedHandler>();

/**
 * Per routine index: 1 when the routine reads the record, 0 for a packed twin. The interpreter
 * passes the record only to the routines that read it: loading it from the block's record array
 * costs a cache miss or two on code that runs a few thousand times.
 */
export const READS_RECORD: number[] = [];

/** The routine's index in ROUTINES, adding it the first time. */
export function routineId(routine: PackedHandler | Handler): number {
  let id = routineIndex.get(routine);
  if (id === undefined) {
    id = ROUTINES.length;
    ROUTINES.push(routine);
    READS_RECORD.push(RECORDLESS.has(routine) ? 0 : 1);
    routineIndex.set(routine, id);
  }
  return id;
}

/** Writes the record's packed form at offset `o` of `p`, with routine index `routine`. */
export function packRecord(ins: Instruction, routine: number, p: Int32Array, o: number): void {
  p[o + Packed.IP] = ins.rawIp;
  p[o + Packed.LENGTH] = ins.length;
  p[o + Packed.ROUTINE] = routine;
  p[o + Packed.OP0] = ins.op0Register;
  p[o + Packed.OP1] = ins.op1Register;
  const branch = ins.op0Kind === OpKind.NearBranch16 || ins.op0Kind === OpKind.NearBranch32;
  p[o + Packed.IMM] = branch ? ins.rawBranchTarget - ins.rawIp - ins.length : ins.rawImmediate;
  p[o + Packed.DISP] = ins.rawDisplacement;
  const seg = ins.memSegment >= R_ES ? ins.memSegment - R_ES : 0;
  p[o + Packed.MEM] =
    ins.memBase |
    (ins.memIndex << MemWord.INDEX_SHIFT) |
    ((31 - Math.clz32(ins.memScale)) << MemWord.SCALE_SHIFT) |
    (ins.addressSize === 16 ? MemWord.ADDR16 : 0) |
    (seg << MemWord.SEG_SHIFT);
}

/** The effective address of a packed record's memory operand, as operands.ts `ea` gives it. */
export function eaPacked(cpu: Cpu, p: Int32Array, o: number): number {
  const m = p[o + Packed.MEM];
  const base = m & 0xff;
  const index = (m >>> MemWord.INDEX_SHIFT) & 0xff;
  let a = p[o + Packed.DISP];
  if ((m & MemWord.ADDR16) !== 0) {
    if (base !== 0) a += cpu.r16[(base - R_AX) << 1];
    if (index !== 0) a += cpu.r16[(index - R_AX) << 1];
    return a & 0xffff;
  }
  if (base !== 0) a += cpu.r32[base - R_EAX];
  if (index !== 0) a += cpu.r32[index - R_EAX] << ((m >>> MemWord.SCALE_SHIFT) & 3);
  return a | 0;
}
