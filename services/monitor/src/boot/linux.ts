/**
 * Direct Linux boot per the Linux/x86 boot protocol (Documentation/arch/x86/boot.rst), 32-bit
 * entry: the loader fills the zero page (boot_params) with the kernel's setup header, an e820
 * memory map, the command line and the initrd, and enters the kernel in flat protected mode with
 * ESI pointing at boot_params.
 *
 * Two ways to start a bzImage:
 * - `host` (the default): the compressed payload is unpacked here, as Firecracker boots a vmlinux,
 *   and the kernel ELF is entered at startup_32 directly. Debian's kernel is xz-compressed; its
 *   in-guest decompressor costs billions of guest instructions.
 * - `guest`: the classic path; the protected-mode part is loaded at code32_start and the kernel's
 *   own decompressor unpacks and relocates it.
 */

import { gunzipSync } from 'node:zlib';
import { unxzAsync } from 'node-liblzma';
import type { Cpu } from '../cpu/cpu.js';
import type { PhysicalMemory } from '../memory/physical-memory.js';
import { isElf32, loadElf32 } from './elf32.js';
import { enterFlat32 } from './flat-entry.js';
import { BootImageError, u16, u32 } from './image-error.js';
import { pcMemoryMap } from './memory-map.js';
import { writeAcpiTables } from '../acpi/tables.js';

export class LinuxBootError extends BootImageError {
  override readonly name = 'LinuxBootError';
}

export type BootDecompress = 'host' | 'guest';

export interface LinuxBootOptions {
  cmdline: string;
  initrd?: Uint8Array;
  /** Where the compressed kernel is unpacked (default `host`). */
  decompress?: BootDecompress;
}

/** The setup header fields the loader reads (offsets from the start of the bzImage file). */
export interface SetupHeader {
  /** Boot protocol version, e.g. 0x020f for 2.15. */
  protocol: number;
  setupSects: number;
  loadflags: number;
  code32Start: number;
  initrdAddrMax: number;
  kernelAlignment: number;
  relocatable: boolean;
  cmdlineSize: number;
  payloadOffset: number;
  payloadLength: number;
  prefAddress: number;
  initSize: number;
}

const enum Hdr {
  SETUP_SECTS = 0x1f1,
  BOOT_FLAG = 0x1fe,
  JUMP = 0x200,
  MAGIC = 0x202,
  VERSION = 0x206,
  TYPE_OF_LOADER = 0x210,
  LOADFLAGS = 0x211,
  CODE32_START = 0x214,
  RAMDISK_IMAGE = 0x218,
  RAMDISK_SIZE = 0x21c,
  HEAP_END_PTR = 0x224,
  CMD_LINE_PTR = 0x228,
  INITRD_ADDR_MAX = 0x22c,
  KERNEL_ALIGNMENT = 0x230,
  RELOCATABLE_KERNEL = 0x234,
  CMDLINE_SIZE = 0x238,
  PAYLOAD_OFFSET = 0x248,
  PAYLOAD_LENGTH = 0x24c,
  PREF_ADDRESS = 0x258,
  INIT_SIZE = 0x260,
  END = 0x268,
}

/** boot_params fields outside the setup header. */
const enum Zp {
  ALT_MEM_K = 0x1e0,
  E820_ENTRIES = 0x1e8,
  E820_TABLE = 0x2d0,
  SIZE = 0x1000,
}

const HDRS_MAGIC = 0x53726448;
const LOADED_HIGH = 0x01;
const CAN_USE_HEAP = 0x80;
/** "Undefined" boot loader id: plex86 has no assigned one. */
const LOADER_UNDEFINED = 0xff;
const E820_MAX_ENTRIES = 128;

/** Where the loader puts its structures in conventional memory (the kernel copies them first thing). */
const GDT_ADDR = 0x6000;
const BOOT_PARAMS_ADDR = 0x7000;
const STACK_TOP = 0x7000;
const CMDLINE_ADDR = 0x20000;
/** A bzImage's protected-mode part is loaded here (code32_start). */
const PROTECTED_MODE_LOAD = 0x100000;
/** __BOOT_CS; __BOOT_DS follows it. */
const BOOT_CS = 0x10;

/** True for a file with the Linux/x86 boot sector signature and the "HdrS" setup header. */
export function isBzImage(image: Uint8Array): boolean {
  return image.length >= Hdr.END && u16(image, Hdr.BOOT_FLAG) === 0xaa55 && u32(image, Hdr.MAGIC) === HDRS_MAGIC;
}

export function readSetupHeader(image: Uint8Array): SetupHeader {
  if (!isBzImage(image)) throw new LinuxBootError('not a Linux bzImage (no 0xAA55 boot flag and "HdrS" setup header)');
  const protocol = u16(image, Hdr.VERSION);
  if (protocol < 0x020a) {
    throw new LinuxBootError(
      `the kernel speaks boot protocol ${protocolText(protocol)}; plex86 needs 2.10 or later (Linux 2.6.31+)`,
    );
  }
  const setupSects = image[Hdr.SETUP_SECTS] === 0 ? 4 : image[Hdr.SETUP_SECTS];
  const header: SetupHeader = {
    protocol,
    setupSects,
    loadflags: image[Hdr.LOADFLAGS],
    code32Start: u32(image, Hdr.CODE32_START),
    initrdAddrMax: u32(image, Hdr.INITRD_ADDR_MAX),
    kernelAlignment: u32(image, Hdr.KERNEL_ALIGNMENT),
    relocatable: image[Hdr.RELOCATABLE_KERNEL] !== 0,
    cmdlineSize: u32(image, Hdr.CMDLINE_SIZE),
    payloadOffset: u32(image, Hdr.PAYLOAD_OFFSET),
    payloadLength: u32(image, Hdr.PAYLOAD_LENGTH),
    prefAddress: u32(image, Hdr.PREF_ADDRESS),
    initSize: u32(image, Hdr.INIT_SIZE),
  };
  if ((header.loadflags & LOADED_HIGH) === 0) {
    throw new LinuxBootError('the kernel is a zImage (loaded low); only bzImage kernels can be booted');
  }
  if ((setupSects + 1) * 512 >= image.length)
    throw new LinuxBootError('the bzImage is truncated inside its setup code');
  return header;
}

function protocolText(v: number): string {
  return `${v >>> 8}.${(v & 0xff).toString().padStart(2, '0')}`;
}

/** The compressed kernel inside a bzImage. */
export function kernelPayload(image: Uint8Array, header: SetupHeader): Uint8Array {
  const start = (header.setupSects + 1) * 512 + header.payloadOffset;
  if (header.payloadLength === 0 || start + header.payloadLength > image.length) {
    throw new LinuxBootError('the bzImage payload lies outside the file (truncated or damaged image)');
  }
  return image.subarray(start, start + header.payloadLength);
}

const COMPRESSIONS: [string, number[]][] = [
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['gzip', [0x1f, 0x8b]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
  ['lz4', [0x02, 0x21, 0x4c, 0x18]],
  ['lzo', [0x89, 0x4c, 0x5a, 0x4f]],
  ['bzip2', [0x42, 0x5a, 0x68]],
  ['lzma', [0x5d, 0x00, 0x00]],
];

export function payloadCompression(payload: Uint8Array): string {
  for (const [name, magic] of COMPRESSIONS) {
    if (magic.every((b, i) => payload[i] === b)) return name;
  }
  return isElf32(payload) ? 'none' : 'unknown';
}

/** Unpacks the kernel ELF (vmlinux) from a bzImage's payload. */
export async function unpackKernel(
  image: Uint8Array,
  header: SetupHeader = readSetupHeader(image),
): Promise<Uint8Array> {
  const payload = kernelPayload(image, header);
  const format = payloadCompression(payload);
  let vmlinux: Uint8Array;
  try {
    if (format === 'xz')
      vmlinux = new Uint8Array(await unxzAsync(Buffer.from(payload.buffer, payload.byteOffset, payload.length)));
    else if (format === 'gzip') vmlinux = new Uint8Array(gunzipSync(payload));
    else if (format === 'none') vmlinux = payload;
    else if (format === 'unknown') {
      throw new LinuxBootError(
        'the kernel payload is in no compression format plex86 knows (damaged image?); try --boot-decompress guest',
      );
    } else {
      throw new LinuxBootError(
        `the kernel payload is ${format}-compressed; plex86 unpacks xz and gzip on the host (use --boot-decompress guest)`,
      );
    }
  } catch (e) {
    if (e instanceof LinuxBootError) throw e;
    throw new LinuxBootError(`the ${format} kernel payload does not unpack: ${(e as Error).message}`);
  }
  if (!isElf32(vmlinux)) throw new LinuxBootError(`the unpacked ${format} payload is not an ELF kernel`);
  return vmlinux;
}

export interface LoadedLinux {
  entry: number;
  /** Kernel image range in physical memory (end exclusive), bss or init_size included. */
  kernelStart: number;
  kernelEnd: number;
  initrdAddr: number;
  decompress: BootDecompress;
}

/**
 * Loads a bzImage (and initrd) into memory and puts the CPU at the kernel's 32-bit entry.
 * `vmlinux`, when given, is the kernel already unpacked by unpackKernel (the host path).
 */
export function loadLinux(
  cpu: Cpu,
  mem: PhysicalMemory,
  image: Uint8Array,
  options: LinuxBootOptions,
  vmlinux?: Uint8Array,
): LoadedLinux {
  const header = readSetupHeader(image);
  const decompress = options.decompress ?? 'host';
  if (decompress === 'host' && vmlinux === undefined)
    throw new LinuxBootError('the host path needs the unpacked kernel');
  const ram = mem.ramSize;
  const cmdline = new TextEncoder().encode(options.cmdline);
  if (cmdline.length > header.cmdlineSize) {
    throw new LinuxBootError(
      `the kernel command line is ${cmdline.length} bytes; this kernel takes at most ${header.cmdlineSize}`,
    );
  }

  // The kernel runs from its preferred address; it needs init_size bytes there either way.
  const kernelStart = header.prefAddress;
  const kernelEnd = kernelStart + header.initSize;
  if (kernelEnd > ram) {
    throw new LinuxBootError(
      `the kernel needs RAM up to ${mib(kernelEnd)} MiB (it runs at 0x${kernelStart.toString(16)} and takes ` +
        `${mib(header.initSize)} MiB); give at least --memory ${Math.ceil(kernelEnd / 1048576) + 16}M`,
    );
  }
  const inKernelArea = (start: number, end: number, what: string) => {
    if (start < kernelStart || end > kernelEnd) {
      throw new LinuxBootError(
        `${what} at 0x${start.toString(16)}-0x${end.toString(16)} lies outside the kernel's area ` +
          `0x${kernelStart.toString(16)}-0x${kernelEnd.toString(16)}`,
      );
    }
  };

  let entry: number;
  if (decompress === 'host' && vmlinux !== undefined) {
    const elf = loadElf32(mem, vmlinux, inKernelArea);
    entry = elf.entry;
    if (entry < elf.loadStart || entry >= elf.loadEnd) {
      throw new LinuxBootError(`the kernel's entry point 0x${entry.toString(16)} is outside its loaded segments`);
    }
  } else {
    const protectedMode = image.subarray((header.setupSects + 1) * 512);
    // A compressed kernel's decompressor must sit below the address it unpacks to; a kernel
    // without a payload (e.g. memtest86+) runs where it is loaded, inside its init_size.
    const loadEnd = PROTECTED_MODE_LOAD + protectedMode.length;
    if (kernelStart > PROTECTED_MODE_LOAD ? loadEnd > kernelStart : loadEnd > kernelEnd) {
      throw new LinuxBootError('the bzImage is too large to load below its own run address');
    }
    mem.writeBytes(PROTECTED_MODE_LOAD, protectedMode);
    entry = header.code32Start;
  }

  let initrdAddr = 0;
  const initrd = options.initrd;
  if (initrd !== undefined && initrd.length > 0) {
    const top = Math.min(ram, header.initrdAddrMax + 1);
    initrdAddr = Math.floor((top - initrd.length) / 4096) * 4096;
    if (initrdAddr < kernelEnd) {
      throw new LinuxBootError(
        `the initrd (${mib(initrd.length)} MiB) does not fit between the kernel and the end of RAM; give more --memory`,
      );
    }
    mem.writeBytes(initrdAddr, initrd);
  }

  writeBootParams(mem, image, header, {
    cmdlineAddr: CMDLINE_ADDR,
    initrdAddr,
    initrdSize: initrd?.length ?? 0,
  });
  mem.writeBytes(CMDLINE_ADDR, cmdline);
  mem.write8(CMDLINE_ADDR + cmdline.length, 0);
  // Firmware's part: the ACPI tables that let the kernel power the machine off and reset it.
  writeAcpiTables(mem);

  enterFlat32(cpu, mem, {
    gdtAddr: GDT_ADDR,
    codeSelector: BOOT_CS,
    entry,
    registers: { esi: BOOT_PARAMS_ADDR, esp: STACK_TOP },
  });
  return { entry, kernelStart, kernelEnd, initrdAddr, decompress };
}

function writeBootParams(
  mem: PhysicalMemory,
  image: Uint8Array,
  header: SetupHeader,
  placed: { cmdlineAddr: number; initrdAddr: number; initrdSize: number },
): void {
  const zp = new Uint8Array(Zp.SIZE);
  const view = new DataView(zp.buffer);
  // The setup header runs from 0x1F1 to the end its jump instruction's offset gives.
  const headerEnd = Math.min(Hdr.JUMP + 2 + image[Hdr.JUMP + 1], 0x290);
  zp.set(image.subarray(Hdr.SETUP_SECTS, headerEnd), Hdr.SETUP_SECTS);
  zp[Hdr.TYPE_OF_LOADER] = LOADER_UNDEFINED;
  zp[Hdr.LOADFLAGS] = header.loadflags | CAN_USE_HEAP;
  view.setUint16(Hdr.HEAP_END_PTR, 0xfe00, true);
  view.setUint32(Hdr.CMD_LINE_PTR, placed.cmdlineAddr, true);
  view.setUint32(Hdr.RAMDISK_IMAGE, placed.initrdAddr, true);
  view.setUint32(Hdr.RAMDISK_SIZE, placed.initrdSize, true);
  view.setUint32(Hdr.CODE32_START, header.code32Start, true);

  const map = pcMemoryMap(mem.ramSize);
  if (map.length > E820_MAX_ENTRIES) throw new LinuxBootError('too many memory regions for the e820 table');
  zp[Zp.E820_ENTRIES] = map.length;
  map.forEach((region, i) => {
    const at = Zp.E820_TABLE + i * 20;
    view.setUint32(at, region.base, true);
    view.setUint32(at + 8, region.length, true);
    view.setUint32(at + 16, region.type, true);
  });
  view.setUint32(Zp.ALT_MEM_K, (mem.ramSize - 0x100000) >>> 10, true);
  mem.writeBytes(BOOT_PARAMS_ADDR, zp);
}

function mib(bytes: number): string {
  return (bytes / 1048576).toFixed(1).replace(/\.0$/, '');
}
