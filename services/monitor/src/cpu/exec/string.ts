/**
 * String instructions with REP/REPE/REPNE. The address size picks SI/DI/CX or ESI/EDI/ECX. A long
 * repeat runs in slices: after a slice the instruction restarts itself (EIP stays on it), so
 * interrupts are taken between iterations as on hardware and a fault mid-way leaves the registers
 * describing the iterations already done.
 *
 * The single forms (no REP) with 32-bit addressing have templates in fast.ts, inline in page
 * functions and specialised for the interpreter; those with 16-bit addressing run through these
 * handlers. The i386 kernel's string routines (strcpy, strcmp and the like) loop over LODSB, STOSB
 * and SCASB; with the templates the default guest reached its prompt 1.07x as fast (median 1.08x,
 * every round faster; four rounds in turns) and ran the bench workload as fast as before (1.005x).
 */

import type { Instruction } from '@plex86/x86';
import { SegAccess, type Cpu } from '../cpu.js';
import { Flag, Seg } from '../registers.js';
import { alu, AluOp } from './alu.js';
import { checkIoPermission } from './io.js';
import { R_ES } from './operands.js';
import { on } from './table.js';

/** Iterations per slice of a repeated string instruction. */
const SLICE = 4096;

const enum Rep {
  NONE = 0,
  REP = 1,
  REPNE = 2,
}

function repKind(ins: Instruction): number {
  if ((ins.prefixes & 2) !== 0) return Rep.REP;
  if ((ins.prefixes & 4) !== 0) return Rep.REPNE;
  return Rep.NONE;
}

const enum StrOp {
  MOVS = 0,
  CMPS = 1,
  STOS = 2,
  LODS = 3,
  SCAS = 4,
  INS = 5,
  OUTS = 6,
}

/**
 * Physical address of linear `lin` when the page is plain RAM for this access (translating it,
 * with any page fault, if the TLB does not hold it), or -1 when it is not (ROM, MMIO, unmapped).
 */
function ramAddress(cpu: Cpu, lin: number, write: boolean): number {
  // Writes to pages with scanned code included: the bulk path reports them.
  const mask = write ? cpu.ownWriteMask : cpu.readMask;
  const want = write ? cpu.writeWant : cpu.readWant;
  let e = cpu.tlb[lin >>> 12];
  if ((e & mask) !== want) {
    cpu.translateOrFault(lin, write);
    e = cpu.tlb[lin >>> 12];
    if ((e & mask) !== want) return -1;
  }
  return (e & ~0xfff) | (lin & 0xfff);
}

/**
 * How many `bytes`-sized elements from offset `off` upward stay inside the segment's limit (and the
 * 64 KiB offset range for 16-bit addressing) and inside the page of linear `lin`, at most `max`.
 * 0 when the first element is not entirely inside (the element loop then raises what is due).
 */
function forwardRun(
  cpu: Cpu,
  seg: number,
  off: number,
  bytes: number,
  max: number,
  a32: boolean,
  need: number,
): number {
  if ((cpu.segAccess[seg] & need) === 0) return 0;
  const lin = (cpu.segBase[seg] + off) | 0;
  let n = ((0x1000 - (lin & 0xfff)) / bytes) | 0;
  if (n > max) n = max;
  const u = a32 ? off >>> 0 : off & 0xffff;
  if (!a32) {
    const left = ((0x10000 - u) / bytes) | 0;
    if (left < n) n = left;
  }
  if ((cpu.segAccess[seg] & SegAccess.FLAT) === 0) {
    if (u < cpu.segMin[seg] >>> 0) return 0;
    const room = Math.floor(((cpu.segMax[seg] >>> 0) - u + 1) / bytes);
    if (room < n) n = room;
  }
  return n < 0 ? 0 : n;
}

/**
 * The forward (DF = 0) repeated string operations on plain RAM, a page-bounded run at a time:
 * MOVS copies, STOS fills, byte SCAS/CMPS scan. Returns the elements done (0: not applicable, the
 * element loop takes over); `bulkStop` says a SCAS/CMPS met its condition on the last one.
 */
let bulkStop = false;
let bulkEnabled = true;

/** Turns the RAM fast path off (tests compare it with the element loop). */
export function setStringFastPath(enabled: boolean): void {
  bulkEnabled = enabled;
}

function bulk(
  cpu: Cpu,
  op: number,
  bytes: number,
  srcSeg: number,
  si: number,
  di: number,
  max: number,
  a32: boolean,
  rep: number,
): number {
  bulkStop = false;
  const usesSrc = op === StrOp.MOVS || op === StrOp.CMPS;
  let n = forwardRun(
    cpu,
    Seg.ES,
    di,
    bytes,
    max,
    a32,
    op === StrOp.MOVS || op === StrOp.STOS ? SegAccess.WRITE : SegAccess.READ,
  );
  if (usesSrc) {
    const m = forwardRun(cpu, srcSeg, si, bytes, n, a32, SegAccess.READ);
    if (m < n) n = m;
  }
  if (n < 2) return 0;
  const ram = cpu.ram;
  const len = n * bytes;
  const sp = usesSrc ? ramAddress(cpu, (cpu.segBase[srcSeg] + si) | 0, false) : 0;
  const write = op === StrOp.MOVS || op === StrOp.STOS;
  const dp = ramAddress(cpu, (cpu.segBase[Seg.ES] + di) | 0, write);
  if (sp < 0 || dp < 0) return 0;
  switch (op) {
    case StrOp.MOVS:
      // An overlap with the destination ahead of the source repeats bytes element by element.
      if (dp > sp && dp < sp + len) return 0;
      ram.copyWithin(dp, sp, sp + len);
      break;
    case StrOp.STOS: {
      const v = accumulator(cpu, bytes << 3);
      if (bytes === 1) ram.fill(v, dp, dp + len);
      else if (bytes === 2 && (dp & 1) === 0) cpu.ram16.fill(v, dp >>> 1, (dp + len) >>> 1);
      else if (bytes === 4 && (dp & 3) === 0) cpu.ram32.fill(v, dp >>> 2, (dp + len) >>> 2);
      else return 0;
      break;
    }
    case StrOp.SCAS: {
      if (bytes !== 1) return 0;
      const al = cpu.r8[0];
      const equalStops = rep === Rep.REPNE;
      let i = 0;
      while (i < n && (ram[dp + i] === al) !== equalStops) i++;
      const done = i < n ? i + 1 : n;
      alu(cpu, AluOp.CMP, 8, al, ram[dp + done - 1]);
      bulkStop = i < n;
      return done;
    }
    case StrOp.CMPS: {
      if (bytes !== 1) return 0;
      const equalStops = rep === Rep.REPNE;
      let i = 0;
      while (i < n && (ram[sp + i] === ram[dp + i]) !== equalStops) i++;
      const done = i < n ? i + 1 : n;
      alu(cpu, AluOp.CMP, 8, ram[sp + done - 1], ram[dp + done - 1]);
      bulkStop = i < n;
      return done;
    }
    default:
      return 0;
  }
  if (cpu.codePages[dp >>> 12] !== 0) cpu.mem.codeWritten(dp, len);
  return n;
}

function readSized(cpu: Cpu, seg: number, off: number, size: number): number {
  return size === 32 ? cpu.read32(seg, off) : size === 16 ? cpu.read16(seg, off) : cpu.read8(seg, off);
}

function writeSized(cpu: Cpu, seg: number, off: number, size: number, v: number): void {
  if (size === 32) cpu.write32(seg, off, v);
  else if (size === 16) cpu.write16(seg, off, v);
  else cpu.write8(seg, off, v);
}

function accumulator(cpu: Cpu, size: number): number {
  return size === 32 ? cpu.r32[0] : size === 16 ? cpu.r16[0] : cpu.r8[0];
}

function stringOp(op: number, size: number): (cpu: Cpu, ins: Instruction) => void {
  const bytes = size >>> 3;
  return (cpu, ins) => {
    const a32 = ins.addressSize === 32;
    const rep = repKind(ins);
    const srcSeg = ins.memSegment - R_ES;
    const step = (cpu.eflags & Flag.DF) !== 0 ? -bytes : bytes;
    const usesSi = op === StrOp.MOVS || op === StrOp.CMPS || op === StrOp.LODS || op === StrOp.OUTS;
    const usesDi = op !== StrOp.LODS && op !== StrOp.OUTS;
    if (op === StrOp.INS || op === StrOp.OUTS) checkIoPermission(cpu, cpu.r16[4], bytes);
    let count = rep === Rep.NONE ? 1 : a32 ? cpu.r32[1] >>> 0 : cpu.r16[2];
    if (count === 0) return;
    let iterations = 0;
    const bulkable = bulkEnabled && rep !== Rep.NONE && step > 0 && op <= StrOp.SCAS && op !== StrOp.LODS;
    for (;;) {
      const si = a32 ? cpu.r32[6] : cpu.r16[12];
      const di = a32 ? cpu.r32[7] : cpu.r16[14];
      if (bulkable && count > 1) {
        const done = bulk(cpu, op, bytes, srcSeg, si, di, Math.min(count, SLICE - iterations), a32, rep);
        if (done > 0) {
          const adv = done * bytes;
          if (usesSi) {
            if (a32) cpu.r32[6] = (si + adv) | 0;
            else cpu.r16[12] = (si + adv) & 0xffff;
          }
          if (a32) cpu.r32[7] = (di + adv) | 0;
          else cpu.r16[14] = (di + adv) & 0xffff;
          count -= done;
          if (a32) cpu.r32[1] = count;
          else cpu.r16[2] = count;
          if (count === 0 || bulkStop) return;
          iterations += done;
          if (iterations >= SLICE) {
            cpu.eip = cpu.insEip;
            cpu.requestExit();
            return;
          }
          continue;
        }
      }
      let stop = false;
      switch (op) {
        case StrOp.MOVS:
          writeSized(cpu, Seg.ES, di, size, readSized(cpu, srcSeg, si, size));
          break;
        case StrOp.CMPS: {
          const a = readSized(cpu, srcSeg, si, size);
          const b = readSized(cpu, Seg.ES, di, size);
          alu(cpu, AluOp.CMP, size, a, b);
          stop = rep === Rep.REP ? !cpu.getZf() : rep === Rep.REPNE ? cpu.getZf() : false;
          break;
        }
        case StrOp.STOS:
          writeSized(cpu, Seg.ES, di, size, accumulator(cpu, size));
          break;
        case StrOp.LODS: {
          const v = readSized(cpu, srcSeg, si, size);
          if (size === 32) cpu.r32[0] = v;
          else if (size === 16) cpu.r16[0] = v;
          else cpu.r8[0] = v;
          break;
        }
        case StrOp.SCAS: {
          const b = readSized(cpu, Seg.ES, di, size);
          alu(cpu, AluOp.CMP, size, accumulator(cpu, size), b);
          stop = rep === Rep.REP ? !cpu.getZf() : rep === Rep.REPNE ? cpu.getZf() : false;
          break;
        }
        case StrOp.INS: {
          const port = cpu.r16[4];
          // The destination is checked before the port is read, so a fault does not lose input.
          cpu.prepareWrite(Seg.ES, di, bytes);
          const v = size === 32 ? cpu.io.read32(port) : size === 16 ? cpu.io.read16(port) : cpu.io.read8(port);
          writeSized(cpu, Seg.ES, di, size, v);
          break;
        }
        default: {
          const port = cpu.r16[4];
          const v = readSized(cpu, srcSeg, si, size);
          if (size === 32) cpu.io.write32(port, v);
          else if (size === 16) cpu.io.write16(port, v);
          else cpu.io.write8(port, v);
          break;
        }
      }
      if (usesSi) {
        if (a32) cpu.r32[6] = (si + step) | 0;
        else cpu.r16[12] = (si + step) & 0xffff;
      }
      if (usesDi) {
        if (a32) cpu.r32[7] = (di + step) | 0;
        else cpu.r16[14] = (di + step) & 0xffff;
      }
      if (rep === Rep.NONE) return;
      count--;
      if (a32) cpu.r32[1] = count;
      else cpu.r16[2] = count;
      if (count === 0 || stop) return;
      if (++iterations >= SLICE) {
        // Come back for the rest after the run loop had a chance to take interrupts.
        cpu.eip = cpu.insEip;
        cpu.requestExit();
        return;
      }
    }
  };
}

const NAMES: [string, number, number][] = [
  ['Movsb_m8_m8', StrOp.MOVS, 8],
  ['Movsw_m16_m16', StrOp.MOVS, 16],
  ['Movsd_m32_m32', StrOp.MOVS, 32],
  ['Cmpsb_m8_m8', StrOp.CMPS, 8],
  ['Cmpsw_m16_m16', StrOp.CMPS, 16],
  ['Cmpsd_m32_m32', StrOp.CMPS, 32],
  ['Stosb_m8_AL', StrOp.STOS, 8],
  ['Stosw_m16_AX', StrOp.STOS, 16],
  ['Stosd_m32_EAX', StrOp.STOS, 32],
  ['Lodsb_AL_m8', StrOp.LODS, 8],
  ['Lodsw_AX_m16', StrOp.LODS, 16],
  ['Lodsd_EAX_m32', StrOp.LODS, 32],
  ['Scasb_AL_m8', StrOp.SCAS, 8],
  ['Scasw_AX_m16', StrOp.SCAS, 16],
  ['Scasd_EAX_m32', StrOp.SCAS, 32],
  ['Insb_m8_DX', StrOp.INS, 8],
  ['Insw_m16_DX', StrOp.INS, 16],
  ['Insd_m32_DX', StrOp.INS, 32],
  ['Outsb_DX_m8', StrOp.OUTS, 8],
  ['Outsw_DX_m16', StrOp.OUTS, 16],
  ['Outsd_DX_m32', StrOp.OUTS, 32],
];
for (const [name, op, size] of NAMES) on(name, stringOp(op, size));
