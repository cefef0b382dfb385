/**
 * Multiboot (version 0.6.96) loader: finds the header, loads an ELF32 image by its program headers
 * (or a flat image through the header's address fields), writes the information structure with a
 * memory map and command line, and puts the CPU in the state the specification requires
 * (32-bit protected mode, flat segments, paging off, EAX = 0x2BADB002, EBX = the structure).
 */

import type { Cpu } from '../cpu/cpu.js';
import type { PhysicalMemory } from '../memory/physical-memory.js';
import { isElf32, loadElf32 } from './elf32.js';
import { enterFlat32 } from './flat-entry.js';
import { BootImageError, u32 } from './image-error.js';
import { EBDA_START, pcMemoryMap } from './memory-map.js';

export const MULTIBOOT_HEADER_MAGIC = 0x1badb002;
export const MULTIBOOT_BOOTLOADER_MAGIC = 0x2badb002;

/** Where the loader puts its own structures (below the EBDA, above the real-mode IVT and BDA). */
const GDT_ADDR = 0x7000;
const STACK_TOP = 0x7c00;
const INFO_ADDR = 0x8000;
const MMAP_ADDR = 0x8100;
const STRINGS_ADDR = 0x8400;
const STRINGS_END = 0x9000;

export class MultibootError extends BootImageError {
  override readonly name = 'MultibootError';
}

export interface MultibootImage {
  /** Entry point (physical). */
  entry: number;
  /** Lowest and highest loaded physical addresses (end exclusive), bss included. */
  loadStart: number;
  loadEnd: number;
}

/** Offset of the Multiboot header in the first 8 KiB, or -1. */
export function findMultibootHeader(image: Uint8Array): number {
  const end = Math.min(image.length, 8192) - 12;
  for (let off = 0; off <= end; off += 4) {
    if (u32(image, off) !== MULTIBOOT_HEADER_MAGIC) continue;
    const flags = u32(image, off + 4);
    const checksum = u32(image, off + 8);
    if ((MULTIBOOT_HEADER_MAGIC + flags + checksum) >>> 0 === 0) return off;
  }
  return -1;
}

/** Loads a Multiboot kernel into memory. Throws MultibootError with a clear message for bad images. */
export function loadMultiboot(mem: PhysicalMemory, image: Uint8Array): MultibootImage {
  const hdr = findMultibootHeader(image);
  if (hdr < 0)
    throw new MultibootError('no Multiboot header (magic 0x1BADB002 with a valid checksum) in the first 8 KiB');
  const flags = u32(image, hdr + 4);
  const unsupported = flags & 0xffff & ~0x3;
  if (unsupported !== 0) {
    throw new MultibootError(
      `the kernel requires Multiboot features this loader lacks (flags 0x${flags.toString(16)})`,
    );
  }
  const isElf = isElf32(image);
  if ((flags & 0x10000) !== 0 && !isElf) return loadFlat(mem, image, hdr);
  if (!isElf) throw new MultibootError('the kernel is neither an ELF file nor has Multiboot address fields (flag 16)');
  try {
    return loadElf32(mem, image, (start, end, what) => checkRange(mem, start, end, what));
  } catch (e) {
    if (e instanceof BootImageError && !(e instanceof MultibootError)) throw new MultibootError(e.message);
    throw e;
  }
}

function checkRange(mem: PhysicalMemory, start: number, end: number, what: string): void {
  if (start < 0x100000 && end > GDT_ADDR && start < STRINGS_END) {
    throw new MultibootError(`${what} at 0x${start.toString(16)} overlaps the loader area 0x7000-0x9000`);
  }
  if (end > mem.ramSize) {
    throw new MultibootError(
      `${what} ends at 0x${end.toString(16)}, beyond the ${mem.ramSize / 1048576} MiB of RAM (use --memory)`,
    );
  }
}

function loadFlat(mem: PhysicalMemory, image: Uint8Array, hdr: number): MultibootImage {
  const headerAddr = u32(image, hdr + 12);
  const loadAddr = u32(image, hdr + 16);
  const loadEndAddr = u32(image, hdr + 20);
  const bssEndAddr = u32(image, hdr + 24);
  const entry = u32(image, hdr + 28);
  if (loadAddr > headerAddr) throw new MultibootError('Multiboot load_addr is above header_addr');
  const fileStart = hdr - (headerAddr - loadAddr);
  if (fileStart < 0) throw new MultibootError('Multiboot header_addr/load_addr do not match the file');
  const length = loadEndAddr === 0 ? image.length - fileStart : loadEndAddr - loadAddr;
  if (length < 0 || fileStart + length > image.length)
    throw new MultibootError('Multiboot load_end_addr is past the end of the file');
  const end = Math.max(loadAddr + length, bssEndAddr);
  checkRange(mem, loadAddr, end, 'the kernel image');
  mem.writeBytes(loadAddr, image.subarray(fileStart, fileStart + length));
  if (bssEndAddr > loadAddr + length) mem.fill(loadAddr + length, bssEndAddr - loadAddr - length, 0);
  return { entry, loadStart: loadAddr, loadEnd: end };
}

function writeString(mem: PhysicalMemory, at: number, text: string): number {
  const bytes = new TextEncoder().encode(text);
  if (at + bytes.length + 1 > STRINGS_END) throw new MultibootError('the kernel command line is too long');
  mem.writeBytes(at, bytes);
  mem.write8(at + bytes.length, 0);
  return at + bytes.length + 1;
}

/** Writes the Multiboot information structure; returns its address. */
export function writeMultibootInfo(mem: PhysicalMemory, cmdline: string): number {
  const ram = mem.ramSize;
  let at = MMAP_ADDR;
  for (const { base, length, type } of pcMemoryMap(ram)) {
    mem.write32(at, 20);
    mem.write32(at + 4, base);
    mem.write32(at + 8, 0);
    mem.write32(at + 12, length);
    mem.write32(at + 16, 0);
    mem.write32(at + 20, type);
    at += 24;
  }
  const cmdlineAddr = STRINGS_ADDR;
  const nameAddr = writeString(mem, cmdlineAddr, cmdline);
  writeString(mem, nameAddr, 'plex86');
  for (let i = 0; i < 88; i += 4) mem.write32(INFO_ADDR + i, 0);
  // Memory fields, command line, memory map and boot loader name are valid.
  mem.write32(INFO_ADDR, (1 << 0) | (1 << 2) | (1 << 6) | (1 << 9));
  mem.write32(INFO_ADDR + 4, EBDA_START >>> 10);
  mem.write32(INFO_ADDR + 8, (ram - 0x100000) >>> 10);
  mem.write32(INFO_ADDR + 16, cmdlineAddr);
  mem.write32(INFO_ADDR + 44, at - MMAP_ADDR);
  mem.write32(INFO_ADDR + 48, MMAP_ADDR);
  mem.write32(INFO_ADDR + 64, nameAddr);
  return INFO_ADDR;
}

/** Puts the CPU in the Multiboot machine state, with a flat GDT (code 0x08, data 0x10) at 0x7000. */
export function enterMultiboot(cpu: Cpu, mem: PhysicalMemory, entry: number, info: number): void {
  enterFlat32(cpu, mem, {
    gdtAddr: GDT_ADDR,
    codeSelector: 0x08,
    entry,
    registers: { eax: MULTIBOOT_BOOTLOADER_MAGIC | 0, ebx: info, esp: STACK_TOP },
  });
}
