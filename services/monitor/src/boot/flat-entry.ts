/**
 * The machine state both 32-bit boot protocols (Multiboot, Linux) enter a kernel in: protected
 * mode, paging off, interrupts off, CPL 0, flat 4 GiB code and data segments from a small GDT the
 * loader writes, so the kernel may reload segment registers before it installs its own GDT.
 */

import { Attr, type Cpu } from '../cpu/cpu.js';
import { Cr0, Flag, Seg } from '../cpu/registers.js';
import type { PhysicalMemory } from '../memory/physical-memory.js';

export interface FlatEntry {
  /** Physical address of the GDT the loader writes (8-byte aligned, 8 x (codeSelector/8 + 2) bytes). */
  gdtAddr: number;
  /** Selector of the flat code segment; the flat data segment follows it (codeSelector + 8). */
  codeSelector: number;
  entry: number;
  /** General registers in the order EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI; missing ones are zero. */
  registers: Partial<Record<'eax' | 'ebx' | 'esp' | 'esi', number>>;
}

const FLAT_CODE = [0x0000ffff, 0x00cf9b00];
const FLAT_DATA = [0x0000ffff, 0x00cf9300];

export function enterFlat32(cpu: Cpu, mem: PhysicalMemory, state: FlatEntry): void {
  const { gdtAddr, codeSelector } = state;
  const dataSelector = codeSelector + 8;
  mem.fill(gdtAddr, codeSelector, 0);
  mem.write32(gdtAddr + codeSelector, FLAT_CODE[0]);
  mem.write32(gdtAddr + codeSelector + 4, FLAT_CODE[1]);
  mem.write32(gdtAddr + dataSelector, FLAT_DATA[0]);
  mem.write32(gdtAddr + dataSelector + 4, FLAT_DATA[1]);
  mem.setA20(true);
  cpu.setGdt(gdtAddr, dataSelector + 7);
  cpu.setIdt(0, 0x3ff);
  cpu.setCr0((cpu.cr0 | Cr0.PE) & ~(Cr0.PG | Cr0.CD | Cr0.NW));
  cpu.eflags = Flag.FIXED1;
  cpu.setCpl(0);
  const data = Attr.P | Attr.S | Attr.RW | Attr.ACCESSED | Attr.DB | Attr.G;
  cpu.loadSegmentCache(
    Seg.CS,
    codeSelector,
    0,
    -1,
    Attr.P | Attr.S | Attr.CODE | Attr.RW | Attr.ACCESSED | Attr.DB | Attr.G,
  );
  for (const s of [Seg.ES, Seg.SS, Seg.DS, Seg.FS, Seg.GS]) cpu.loadSegmentCache(s, dataSelector, 0, -1, data);
  cpu.r32.fill(0);
  const r = state.registers;
  cpu.r32[0] = r.eax ?? 0;
  cpu.r32[3] = r.ebx ?? 0;
  cpu.r32[4] = r.esp ?? 0;
  cpu.r32[6] = r.esi ?? 0;
  cpu.eip = state.entry | 0;
}
