/**
 * Multiboot (version 0.6.96) loader: finds the header, loads an ELF32 image by its program headers
 * (or a flat image through the header's address fields), loads boot modules page-aligned after
 * it, writes the information structure with a memory map, command line, modules and the text
 * screen, and puts the CPU in the state the specification requires (32-bit protected mode, flat
 * segments, paging off, EAX = 0x2BADB002, EBX = the structure).
 */

import type { Cpu } from '../cpu/cpu.js';
import type { PhysicalMemory } from '../memory/physical-memory.js';
import { isElf32, loadElf32 } from './elf32.js';
import { enterFlat32 } from './flat-entry.js';
import { BootImageError, u32 } from './image-error.js';
import { EBDA_START, pcMemoryMap } from './memory-map.js';
import { TEXT_SCREEN } from '../machine/devices/text-screen.js';

export const MULTIBOOT_HEADER_MAGIC = 0x1badb002;
export const MULTIBOOT_BOOTLOADER_MAGIC = 0x2badb002;

/** Where the loader puts its own structures (below the EBDA, above the real-mode IVT and BDA). */
const GDT_ADDR = 0x7000;
const STACK_TOP = 0x7c00;
const INFO_ADDR = 0x8000;
const INFO_SIZE = 116;
const MMAP_ADDR = 0x8100;
const MODS_ADDR = 0x8200;
const MODS_MAX = 16;
const STRINGS_ADDR = 0x8400;
const STRINGS_END = 0x9000;

/** Header flags: modules page-aligned, memory information, video mode information. */
const HEADER_PAGE_ALIGN = 1 << 0;
const HEADER_MEMORY_INFO = 1 << 1;
const HEADER_VIDEO_MODE = 1 << 2;
const HEADER_ADDRESS_FIELDS = 1 << 16;

/** Information flags for the fields this loader fills in. */
const INFO_MEMORY = 1 << 0;
const INFO_CMDLINE = 1 << 2;
const INFO_MODS = 1 << 3;
const INFO_MMAP = 1 << 6;
const INFO_LOADER_NAME = 1 << 9;
const INFO_FRAMEBUFFER = 1 << 12;

const FRAMEBUFFER_TYPE_EGA_TEXT = 2;

export class MultibootError extends BootImageError {
  override readonly name = 'MultibootError';
}

export interface MultibootImage {
  /** Entry point (physical). */
  entry: number;
  /** Lowest and highest loaded physical addresses (end exclusive), bss included. */
  loadStart: number;
  loadEnd: number;
  /** Header flags (the kernel's requirements). */
  flags: number;
}

/** A boot module: its bytes and the string the kernel gets with it (by convention its path and arguments). */
export interface MultibootModule {
  data: Uint8Array;
  cmdline: string;
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
  const unsupported = flags & 0xffff & ~(HEADER_PAGE_ALIGN | HEADER_MEMORY_INFO | HEADER_VIDEO_MODE);
  if (unsupported !== 0) {
    throw new MultibootError(
      `the kernel requires Multiboot features this loader lacks (flags 0x${flags.toString(16)})`,
    );
  }
  const isElf = isElf32(image);
  if ((flags & HEADER_ADDRESS_FIELDS) !== 0 && !isElf) return { ...loadFlat(mem, image, hdr), flags };
  if (!isElf) throw new MultibootError('the kernel is neither an ELF file nor has Multiboot address fields (flag 16)');
  try {
    return { ...loadElf32(mem, image, (start, end, what) => checkRange(mem, start, end, what)), flags };
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

function loadFlat(mem: PhysicalMemory, image: Uint8Array, hdr: number): Omit<MultibootImage, 'flags'> {
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
  if (at + bytes.length + 1 > STRINGS_END)
    throw new MultibootError(`the command lines are too long (${STRINGS_END - STRINGS_ADDR} bytes in all)`);
  mem.writeBytes(at, bytes);
  mem.write8(at + bytes.length, 0);
  return at + bytes.length + 1;
}

/** Writes the Multiboot information structure for a loaded kernel and its modules; returns its address. */
export function writeMultibootInfo(
  mem: PhysicalMemory,
  kernel: MultibootImage,
  cmdline: string,
  modules: readonly MultibootModule[] = [],
): number {
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
  const mmapLength = at - MMAP_ADDR;
  const cmdlineAddr = STRINGS_ADDR;
  let strings = writeString(mem, cmdlineAddr, cmdline);
  const nameAddr = strings;
  strings = writeString(mem, nameAddr, 'plex86');
  strings = loadModules(mem, kernel.loadEnd, modules, strings);

  for (let i = 0; i < INFO_SIZE; i += 4) mem.write32(INFO_ADDR + i, 0);
  let flags = INFO_MEMORY | INFO_CMDLINE | INFO_MMAP | INFO_LOADER_NAME;
  mem.write32(INFO_ADDR + 4, EBDA_START >>> 10);
  mem.write32(INFO_ADDR + 8, (ram - 0x100000) >>> 10);
  mem.write32(INFO_ADDR + 16, cmdlineAddr);
  if (modules.length > 0) {
    flags |= INFO_MODS;
    mem.write32(INFO_ADDR + 20, modules.length);
    mem.write32(INFO_ADDR + 24, MODS_ADDR);
  }
  mem.write32(INFO_ADDR + 44, mmapLength);
  mem.write32(INFO_ADDR + 48, MMAP_ADDR);
  mem.write32(INFO_ADDR + 64, nameAddr);
  if ((kernel.flags & HEADER_VIDEO_MODE) !== 0) {
    // The header's mode is a preference; what the kernel gets is the display there is, as a
    // loader on a text console reports it: EGA text, two bytes a cell.
    flags |= INFO_FRAMEBUFFER;
    mem.write32(INFO_ADDR + 88, TEXT_SCREEN.address);
    mem.write32(INFO_ADDR + 96, TEXT_SCREEN.columns * 2);
    mem.write32(INFO_ADDR + 100, TEXT_SCREEN.columns);
    mem.write32(INFO_ADDR + 104, TEXT_SCREEN.rows);
    mem.write8(INFO_ADDR + 108, 16);
    mem.write8(INFO_ADDR + 109, FRAMEBUFFER_TYPE_EGA_TEXT);
  }
  mem.write32(INFO_ADDR, flags);
  return INFO_ADDR;
}

/** Places modules page-aligned after the kernel and fills in the module list; returns the next free string byte. */
function loadModules(
  mem: PhysicalMemory,
  kernelEnd: number,
  modules: readonly MultibootModule[],
  strings: number,
): number {
  if (modules.length > MODS_MAX) throw new MultibootError(`at most ${MODS_MAX} boot modules, got ${modules.length}`);
  let next = pageAlign(kernelEnd);
  modules.forEach((module, i) => {
    const start = next;
    const end = start + module.data.length;
    if (end > mem.ramSize) {
      throw new MultibootError(
        `boot module ${i + 1} (${module.cmdline}) ends at 0x${end.toString(16)}, beyond the ${mem.ramSize / 1048576} MiB of RAM (use --memory)`,
      );
    }
    mem.writeBytes(start, module.data);
    const entry = MODS_ADDR + i * 16;
    mem.write32(entry, start);
    mem.write32(entry + 4, end);
    mem.write32(entry + 8, strings);
    mem.write32(entry + 12, 0);
    strings = writeString(mem, strings, module.cmdline);
    next = pageAlign(end);
  });
  return strings;
}

function pageAlign(address: number): number {
  return Math.ceil(address / 4096) * 4096;
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
