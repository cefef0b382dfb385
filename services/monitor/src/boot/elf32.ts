/**
 * Loads an ELF32 i386 executable into guest physical memory by its program headers (PT_LOAD at
 * p_paddr, bss zeroed). Shared by the Multiboot loader and the Linux loader (which loads the
 * vmlinux it unpacked from a bzImage).
 */

import type { PhysicalMemory } from '../memory/physical-memory.js';
import { BootImageError, u16, u32 } from './image-error.js';

export interface LoadedElf {
  /** e_entry as the file gives it. */
  entry: number;
  /** Lowest and highest loaded physical addresses (end exclusive), bss included. */
  loadStart: number;
  loadEnd: number;
}

export const ELF_MAGIC = 0x464c457f;

export function isElf32(image: Uint8Array): boolean {
  return image.length >= 52 && u32(image, 0) === ELF_MAGIC;
}

/**
 * `checkRange(start, end, what)` vets every segment before it is written (throwing to refuse it);
 * nothing is written for a malformed file's later segments once a check fails.
 */
export function loadElf32(
  mem: PhysicalMemory,
  image: Uint8Array,
  checkRange: (start: number, end: number, what: string) => void,
): LoadedElf {
  if (!isElf32(image)) throw new BootImageError('not an ELF file');
  if (image[4] !== 1 || image[5] !== 1) throw new BootImageError('only 32-bit little-endian ELF kernels can be booted');
  if (u16(image, 18) !== 3) throw new BootImageError('the ELF kernel is not for i386 (e_machine 3)');
  const phoff = u32(image, 28);
  const phentsize = u16(image, 42);
  const phnum = u16(image, 44);
  if (phoff + phnum * phentsize > image.length || phentsize < 32)
    throw new BootImageError('truncated ELF program headers');
  const segments: { offset: number; paddr: number; filesz: number; memsz: number }[] = [];
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (u32(image, ph) !== 1) continue; // PT_LOAD
    const offset = u32(image, ph + 4);
    const paddr = u32(image, ph + 12);
    const filesz = u32(image, ph + 16);
    const memsz = u32(image, ph + 20);
    if (offset + filesz > image.length) throw new BootImageError(`ELF segment ${i} lies past the end of the file`);
    if (memsz < filesz) throw new BootImageError(`ELF segment ${i} has memsz below filesz`);
    if (paddr + memsz > 0x100000000) throw new BootImageError(`ELF segment ${i} wraps past 4 GiB`);
    checkRange(paddr, paddr + memsz, `ELF segment ${i}`);
    segments.push({ offset, paddr, filesz, memsz });
  }
  if (segments.length === 0) throw new BootImageError('the ELF kernel has no loadable segment');
  let loadStart = Infinity;
  let loadEnd = 0;
  for (const s of segments) {
    mem.writeBytes(s.paddr, image.subarray(s.offset, s.offset + s.filesz));
    mem.fill(s.paddr + s.filesz, s.memsz - s.filesz, 0);
    loadStart = Math.min(loadStart, s.paddr);
    loadEnd = Math.max(loadEnd, s.paddr + s.memsz);
  }
  return { entry: u32(image, 24), loadStart, loadEnd };
}
