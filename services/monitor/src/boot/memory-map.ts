/**
 * The PC's physical memory map as the loaders report it (Multiboot mmap, Linux e820): conventional
 * memory below the EBDA, the EBDA, the BIOS area (where PCI's interrupt routing table lives), and
 * RAM from 1 MiB up.
 */

export const enum MemoryType {
  USABLE = 1,
  RESERVED = 2,
}

export interface MemoryRegion {
  base: number;
  length: number;
  type: MemoryType;
}

/** Start of the extended BIOS data area; conventional memory ends here. */
export const EBDA_START = 0x9fc00;

export function pcMemoryMap(ramSize: number): MemoryRegion[] {
  return [
    { base: 0, length: EBDA_START, type: MemoryType.USABLE },
    { base: EBDA_START, length: 0xa0000 - EBDA_START, type: MemoryType.RESERVED },
    { base: 0xf0000, length: 0x10000, type: MemoryType.RESERVED },
    { base: 0x100000, length: ramSize - 0x100000, type: MemoryType.USABLE },
  ];
}
