/** The CPU's register file in the DebugService shape, and writing it back. */

import { Attr, type Cpu } from '../cpu/cpu.js';
import { CPU_FAULT, Vector, VECTOR_NAMES } from '../cpu/fault.js';
import { Seg } from '../cpu/registers.js';
import { loadFromDescriptor, loadSegment, readDescriptor } from '../cpu/segments.js';
import type { WireCpuRegisters, WireSegmentRegister } from './wire.js';
import { cpuFpu, readX87, writeX87 } from './x87.js';

/** Bit 16 of the access-rights layout: the register holds a null selector in protected mode. */
const UNUSABLE = 0x10000;
/** The access-rights bits the descriptor cache keeps (type, S, DPL, P, AVL, D/B, G). */
const ATTR_BITS = 0xf0ff;

function segment(cpu: Cpu, seg: number): WireSegmentRegister {
  const attr = cpu.segAttr[seg];
  const unusable = attr === 0 && !cpu.realAddressing;
  return {
    selector: cpu.segSel[seg],
    base: cpu.segBase[seg] >>> 0,
    limit: cpu.segLimit[seg] >>> 0,
    attributes: (attr & ATTR_BITS) | (unusable ? UNUSABLE : 0),
  };
}

/** The register file; the x87 part comes from `fpu` (by default the CPU's own, when it has one). */
export function readCpuRegisters(cpu: Cpu, fpu = cpuFpu(cpu)): WireCpuRegisters {
  const r = cpu.r32;
  return {
    eax: r[0] >>> 0,
    ecx: r[1] >>> 0,
    edx: r[2] >>> 0,
    ebx: r[3] >>> 0,
    esp: r[4] >>> 0,
    ebp: r[5] >>> 0,
    esi: r[6] >>> 0,
    edi: r[7] >>> 0,
    eip: cpu.eip >>> 0,
    eflags: cpu.eflags >>> 0,
    cs: segment(cpu, Seg.CS),
    ss: segment(cpu, Seg.SS),
    ds: segment(cpu, Seg.DS),
    es: segment(cpu, Seg.ES),
    fs: segment(cpu, Seg.FS),
    gs: segment(cpu, Seg.GS),
    ldtr: segment(cpu, Seg.LDTR),
    tr: segment(cpu, Seg.TR),
    gdtr: { base: cpu.gdtBase >>> 0, limit: cpu.gdtLimit },
    idtr: { base: cpu.idtBase >>> 0, limit: cpu.idtLimit },
    cr0: cpu.cr0 >>> 0,
    cr2: cpu.cr2 >>> 0,
    cr3: cpu.cr3 >>> 0,
    cr4: cpu.cr4 >>> 0,
    dr0: cpu.dr[0] >>> 0,
    dr1: cpu.dr[1] >>> 0,
    dr2: cpu.dr[2] >>> 0,
    dr3: cpu.dr[3] >>> 0,
    dr6: cpu.dr[6] >>> 0,
    dr7: cpu.dr[7] >>> 0,
    x87: fpu === undefined ? undefined : readX87(fpu),
    sse: undefined,
  };
}

/** A register file the CPU cannot take; nothing has been changed when it is thrown. */
export class RegisterWriteError extends Error {
  override readonly name = 'RegisterWriteError';
}

const DATA_SEGMENTS: readonly [keyof WireCpuRegisters & ('ss' | 'ds' | 'es' | 'fs' | 'gs'), number][] = [
  ['ss', Seg.SS],
  ['ds', Seg.DS],
  ['es', Seg.ES],
  ['fs', Seg.FS],
  ['gs', Seg.GS],
];

function faultText(cpu: Cpu): string {
  return `${VECTOR_NAMES[cpu.faultVector] ?? `vector ${cpu.faultVector}`}(${cpu.faultCode.toString(16)})`;
}

/**
 * Writes a whole register file. A segment register whose selector changed is loaded as MOV would load
 * it (with its checks); CS can change only in real and virtual-8086 mode. Selectors are checked before
 * anything is written, so a refused file changes nothing.
 */
export function writeCpuRegisters(cpu: Cpu, regs: WireCpuRegisters, fpu = cpuFpu(cpu)): void {
  const csSel = regs.cs?.selector;
  if (csSel !== undefined && csSel !== cpu.segSel[Seg.CS] && !cpu.realAddressing) {
    // A far jump is the only way to load CS in protected mode; the debugger does not fake one.
    throw new RegisterWriteError('CS can be changed only in real or virtual-8086 mode');
  }
  if (!cpu.realAddressing) {
    for (const [name, seg] of DATA_SEGMENTS) {
      const sel = regs[name]?.selector;
      if (sel === undefined || sel === cpu.segSel[seg] || (sel & 0xfffc) === 0) continue;
      try {
        readDescriptor(cpu, sel, Vector.GP);
      } catch (e) {
        if (e !== CPU_FAULT) throw e;
        throw new RegisterWriteError(`cannot load ${name} with selector ${sel.toString(16)}: ${faultText(cpu)}`);
      }
      const attr = (cpu.descHi >>> 8) & 0xff;
      if ((attr & Attr.P) === 0 || (attr & Attr.S) === 0) {
        throw new RegisterWriteError(`selector ${sel.toString(16)} for ${name} is not a present segment`);
      }
    }
  }
  const r = cpu.r32;
  r[0] = regs.eax;
  r[1] = regs.ecx;
  r[2] = regs.edx;
  r[3] = regs.ebx;
  r[4] = regs.esp;
  r[5] = regs.ebp;
  r[6] = regs.esi;
  r[7] = regs.edi;
  cpu.eip = regs.eip | 0;
  cpu.eflags = regs.eflags;
  if (csSel !== undefined && csSel !== cpu.segSel[Seg.CS]) cpu.loadRealSegment(Seg.CS, csSel & 0xffff);
  for (const [name, seg] of DATA_SEGMENTS) {
    const sel = regs[name]?.selector;
    if (sel === undefined || sel === cpu.segSel[seg]) continue;
    try {
      if (cpu.realAddressing || (sel & 0xfffc) === 0) loadSegment(cpu, seg, sel);
      else {
        // Checked above; load the cache without the privilege rules a MOV at this CPL would apply.
        readDescriptor(cpu, sel, Vector.GP);
        loadFromDescriptor(cpu, seg, sel);
      }
    } catch (e) {
      if (e !== CPU_FAULT) throw e;
      throw new RegisterWriteError(`cannot load ${name} with selector ${sel.toString(16)}: ${faultText(cpu)}`);
    }
  }
  if (regs.gdtr !== undefined) cpu.setGdt(regs.gdtr.base | 0, regs.gdtr.limit);
  if (regs.idtr !== undefined) cpu.setIdt(regs.idtr.base | 0, regs.idtr.limit);
  if ((regs.cr0 | 0) !== cpu.cr0) cpu.setCr0(regs.cr0 | 0);
  if ((regs.cr4 | 0) !== cpu.cr4) cpu.setCr4(regs.cr4 | 0);
  if ((regs.cr3 | 0) !== cpu.cr3) cpu.setCr3(regs.cr3 | 0);
  cpu.cr2 = regs.cr2 | 0;
  const dr = cpu.dr;
  dr[0] = regs.dr0;
  dr[1] = regs.dr1;
  dr[2] = regs.dr2;
  dr[3] = regs.dr3;
  dr[6] = regs.dr6;
  dr[7] = regs.dr7;
  if (fpu !== undefined && regs.x87 !== undefined) writeX87(fpu, regs.x87);
}
