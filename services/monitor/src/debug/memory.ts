/**
 * Guest memory as a debugger sees it: linear addresses translated through the current page tables
 * without setting accessed/dirty bits, filling the TLB or raising a fault, and only memory that reads
 * without side effects (RAM and ROM, never device registers).
 */

import type { Cpu } from '../cpu/cpu.js';
import { Cr0, Cr4 } from '../cpu/registers.js';
import { PageKind, PAGE_SHIFT, type PhysicalMemory } from '../memory/physical-memory.js';

const PTE_PRESENT = 0x1;
const PDE_LARGE = 0x80;

/** The physical address of a linear one, or -1 when it is not mapped. */
export function debugTranslate(cpu: Cpu, lin: number): number {
  lin >>>= 0;
  if ((cpu.cr0 & Cr0.PG) === 0 || (cpu.cr0 & Cr0.PE) === 0) return lin;
  const mem = cpu.mem;
  const pdeAddr = ((cpu.cr3 & ~0xfff) | ((lin >>> 22) << 2)) >>> 0;
  if (!isPlainMemory(mem, pdeAddr)) return -1;
  const pde = mem.read32(pdeAddr);
  if ((pde & PTE_PRESENT) === 0) return -1;
  if ((pde & PDE_LARGE) !== 0 && (cpu.cr4 & Cr4.PSE) !== 0) return ((pde & 0xffc00000) | (lin & 0x3fffff)) >>> 0;
  const pteAddr = ((pde & ~0xfff) | (((lin >>> 12) & 0x3ff) << 2)) >>> 0;
  if (!isPlainMemory(mem, pteAddr)) return -1;
  const pte = mem.read32(pteAddr);
  if ((pte & PTE_PRESENT) === 0) return -1;
  return ((pte & ~0xfff) | (lin & 0xfff)) >>> 0;
}

/** RAM or ROM: reading it has no side effects. */
function isPlainMemory(mem: PhysicalMemory, phys: number): boolean {
  const kind = mem.pageKind[((phys & mem.a20Mask) >>> 0) >>> PAGE_SHIFT];
  return kind === PageKind.RAM || kind === PageKind.ROM || kind === PageKind.HIGH_ROM;
}

/** Up to `length` bytes from `address`; stops at the first byte that is not readable. */
export function readDebugMemory(cpu: Cpu, address: number, length: number, linear: boolean): Uint8Array {
  const out = new Uint8Array(length);
  const mem = cpu.mem;
  let phys = -1;
  for (let i = 0; i < length; i++) {
    const a = address + i;
    if (a > 0xffffffff) return out.subarray(0, i);
    if (i === 0 || (a & 0xfff) === 0) {
      phys = linear ? debugTranslate(cpu, a) : a;
      if (phys < 0 || !isPlainMemory(mem, phys)) return out.subarray(0, i);
    } else {
      phys++;
    }
    out[i] = mem.read8(phys);
  }
  return out;
}

/**
 * Writes bytes at `address`; stops at the first byte that is not writable RAM and returns how many
 * were written. Writes go through the physical memory, so cached code in the pages is invalidated.
 */
export function writeDebugMemory(cpu: Cpu, address: number, data: Uint8Array, linear: boolean): number {
  const mem = cpu.mem;
  let phys = -1;
  for (let i = 0; i < data.length; i++) {
    const a = address + i;
    if (a > 0xffffffff) return i;
    if (i === 0 || (a & 0xfff) === 0) {
      phys = linear ? debugTranslate(cpu, a) : a;
      if (phys < 0 || mem.pageKind[((phys & mem.a20Mask) >>> 0) >>> PAGE_SHIFT] !== PageKind.RAM) return i;
    } else {
      phys++;
    }
    mem.write8(phys, data[i]);
  }
  return data.length;
}
