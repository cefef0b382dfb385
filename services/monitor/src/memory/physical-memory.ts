/**
 * Guest physical memory: RAM in one ArrayBuffer, a BIOS ROM, and a page-kind map that says what
 * lives at each 4 KiB physical page. Every access is bounds-checked; a read where nothing is mapped
 * returns all ones and a write there is dropped, as on a PC bus.
 */

import type { StateReader, StateWriter } from '../snapshot/state.js';
import { ADDRESS_PAGES, createMachineMemory, MACHINE_LAYOUT } from './machine-memory.js';

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
export const PAGE_MASK = PAGE_SIZE - 1;

/** What a physical page is backed by. Values at or below ROM are backed by the RAM array. */
export const enum PageKind {
  /** Plain RAM: read and write directly in `ram`. */
  RAM = 0,
  /** ROM shadowed in the RAM array: reads from `ram`, writes are dropped. */
  ROM = 1,
  /** Nothing there: reads return all ones, writes are dropped. */
  UNMAPPED = 2,
  /** ROM outside the RAM array (the BIOS mirror below 4 GiB): reads from `rom`. */
  HIGH_ROM = 3,
  /** A device region: accesses go to its handler. */
  MMIO = 4,
}

/** A memory-mapped device region. Offsets are relative to the region start. */
export interface MmioHandler {
  read8(offset: number): number;
  write8(offset: number, value: number): void;
}

/** Called when the guest writes to a physical page that holds scanned code. */
export type CodeWriteListener = (physAddr: number, length: number) => void;

const PHYS_PAGES = ADDRESS_PAGES;

/** Stands in for unused MMIO slots so the handler array holds one shape. */
const NO_DEVICE: MmioHandler = { read8: () => 0xff, write8: () => undefined };
const A20_BIT = 1 << 20;
/** The BIOS window ends at the top of the first megabyte. */
const BIOS_END = 0x100000;

/**
 * The class of RAM's byte view. A Node process changes the prototype of some Uint8Arrays (its
 * Buffers), which leaves V8's map of plain Uint8Arrays unstable; generated code that holds RAM's
 * byte view as a constant then checks the view's map at every byte access. A view of its own class
 * has a map nothing else changes.
 */
class RamBytes extends Uint8Array {}

export interface PhysicalMemoryOptions {
  /** RAM size in bytes: a multiple of 4 KiB, at least 1 MiB, below 2 GiB. */
  ramSize: number;
}

export class PhysicalMemory {
  readonly ramSize: number;
  readonly ram: Uint8Array;
  readonly ram16: Uint16Array;
  readonly ram32: Int32Array;
  /** PageKind of every physical page of the 4 GiB space. */
  readonly pageKind: Uint8Array;
  /**
   * Non-zero for pages that hold scanned code; writes to them are reported. A block source may keep
   * its own marks in it, e.g. the SBE cache's per-page chunk masks for the RAM pages.
   */
  readonly codePages: Uint32Array;
  /** The WebAssembly memory that holds RAM, the code map and the CPU's state (machine-memory.ts). */
  readonly machineMemory: WebAssembly.Memory;
  /** 0xFFFFFFFF with A20 enabled, bit 20 cleared otherwise. */
  a20Mask = -1;
  /** Writes dropped because nothing (or a ROM) is mapped there. */
  droppedWrites = 0;
  private rom: Uint8Array = new Uint8Array(0);
  private romBase = 0;
  private readonly mmioHandlers: MmioHandler[] = new Array<MmioHandler>(256).fill(NO_DEVICE);
  private readonly mmioIndex: Uint8Array;
  private readonly mmioBase: Int32Array;
  private mmioCount = 0;
  private codeWriteListener: CodeWriteListener | undefined;
  /** Called when the page map or A20 changes, so translation caches can flush. */
  onLayoutChange: (() => void) | undefined;
  /**
   * Called when a page of memory gets scanned code (its `codePages` entry turns non-zero), by
   * markCode or by the code cache that keeps its map in `codePages`: translations that write the
   * page directly must stop doing so.
   */
  onCodePage: ((page: number) => void) | undefined;

  constructor(options: PhysicalMemoryOptions) {
    const size = options.ramSize;
    if (!Number.isInteger(size) || size < BIOS_END || size > 0x7ffff000 || size % PAGE_SIZE !== 0) {
      throw new RangeError(`RAM size must be a multiple of 4 KiB between 1 MiB and 2 GiB, got ${size}`);
    }
    this.ramSize = size;
    this.machineMemory = createMachineMemory(size);
    const buffer = this.machineMemory.buffer;
    this.ram = new RamBytes(buffer, MACHINE_LAYOUT.ram, size);
    this.ram16 = new Uint16Array(buffer, MACHINE_LAYOUT.ram, size >>> 1);
    this.ram32 = new Int32Array(buffer, MACHINE_LAYOUT.ram, size >>> 2);
    this.pageKind = new Uint8Array(PHYS_PAGES).fill(PageKind.UNMAPPED);
    this.pageKind.fill(PageKind.RAM, 0, size >>> PAGE_SHIFT);
    this.codePages = new Uint32Array(buffer, MACHINE_LAYOUT.codePages, PHYS_PAGES);
    this.mmioIndex = new Uint8Array(PHYS_PAGES);
    this.mmioBase = new Int32Array(256);
  }

  get a20Enabled(): boolean {
    return this.a20Mask === -1;
  }

  /** The A20 gate (RAM contents go into the snapshot's RAM section). */
  saveSnapshotState(w: StateWriter): void {
    w.flag('a20', this.a20Enabled);
    w.bytes('rom', this.rom);
  }

  /** Before the RAM contents: a BIOS image is mapped again (its low copy in RAM is then overwritten). */
  loadSnapshotState(r: StateReader): void {
    this.setA20(r.flag('a20'));
    const rom = r.bytes('rom', 0x1000000);
    if (rom.length > 0) this.loadBios(rom);
  }

  setA20(enabled: boolean): void {
    const mask = enabled ? -1 : ~A20_BIT;
    if (mask !== this.a20Mask) {
      this.a20Mask = mask;
      this.onLayoutChange?.();
    }
  }

  /**
   * Maps a BIOS image the PC way: its last 128 KiB (or all of a smaller image) end at 0xFFFFF,
   * read-only, and the whole image is mirrored to end at 4 GiB.
   */
  loadBios(image: Uint8Array): void {
    const len = image.length;
    if (len === 0 || len % PAGE_SIZE !== 0 || len > 0x1000000) {
      throw new RangeError(`a BIOS image must be a non-empty multiple of 4 KiB up to 16 MiB, got ${len} bytes`);
    }
    this.rom = image.slice();
    this.romBase = 0x100000000 - len;
    const lowLen = Math.min(len, 0x20000);
    const lowStart = BIOS_END - lowLen;
    this.ram.set(image.subarray(len - lowLen), lowStart);
    this.pageKind.fill(PageKind.ROM, lowStart >>> PAGE_SHIFT, BIOS_END >>> PAGE_SHIFT);
    this.pageKind.fill(PageKind.HIGH_ROM, this.romBase / PAGE_SIZE, PHYS_PAGES);
    this.onLayoutChange?.();
  }

  /** Maps a device at a page-aligned physical range. */
  mapMmio(base: number, length: number, handler: MmioHandler): void {
    if (base % PAGE_SIZE !== 0 || length <= 0 || length % PAGE_SIZE !== 0 || base + length > 0x100000000) {
      throw new RangeError(`MMIO region ${base.toString(16)}+${length.toString(16)} is not page-aligned`);
    }
    if (this.mmioCount >= 255) throw new RangeError('too many MMIO regions');
    const first = base / PAGE_SIZE;
    const last = first + length / PAGE_SIZE;
    for (let p = first; p < last; p++) {
      if (this.pageKind[p] === PageKind.MMIO) throw new RangeError(`MMIO region overlaps another at page ${p}`);
    }
    const index = ++this.mmioCount;
    this.mmioHandlers[index] = handler;
    this.mmioBase[index] = base | 0;
    this.pageKind.fill(PageKind.MMIO, first, last);
    this.mmioIndex.fill(index, first, last);
    this.onLayoutChange?.();
  }

  setCodeWriteListener(listener: CodeWriteListener | undefined): void {
    this.codeWriteListener = listener;
  }

  /** Marks a physical page as holding scanned code (writes to it are then reported). */
  markCode(page: number): void {
    if (this.codePages[page] !== 0) return;
    this.codePages[page] = 1;
    this.onCodePage?.(page);
  }

  /** Stops reporting writes to a page (its scanned code was dropped). */
  unmarkCode(page: number): void {
    this.codePages[page] = 0;
  }

  /** Reports a write that hits a code page; callers check `codePages` first so this stays off the fast path. */
  codeWritten(phys: number, length: number): void {
    this.codeWriteListener?.(phys, length);
  }

  read8(addr: number): number {
    const p = (addr & this.a20Mask) >>> 0;
    const kind = this.pageKind[p >>> PAGE_SHIFT];
    if (kind <= PageKind.ROM) return this.ram[p];
    return this.readSlow8(p, kind);
  }

  read16(addr: number): number {
    const p = (addr & this.a20Mask) >>> 0;
    if ((p & 1) === 0 && this.pageKind[p >>> PAGE_SHIFT] <= PageKind.ROM) return this.ram16[p >>> 1];
    return this.read8(p) | (this.read8(p + 1) << 8);
  }

  read32(addr: number): number {
    const p = (addr & this.a20Mask) >>> 0;
    if ((p & 3) === 0 && this.pageKind[p >>> PAGE_SHIFT] <= PageKind.ROM) return this.ram32[p >>> 2];
    return this.read16(p) | (this.read16(p + 2) << 16);
  }

  write8(addr: number, value: number): void {
    const p = (addr & this.a20Mask) >>> 0;
    const page = p >>> PAGE_SHIFT;
    const kind = this.pageKind[page];
    if (kind === PageKind.RAM) {
      this.ram[p] = value;
      if (this.codePages[page] !== 0) this.codeWritten(p, 1);
      return;
    }
    this.writeSlow8(p, kind, value);
  }

  write16(addr: number, value: number): void {
    const p = (addr & this.a20Mask) >>> 0;
    const page = p >>> PAGE_SHIFT;
    if ((p & 1) === 0 && this.pageKind[page] === PageKind.RAM) {
      this.ram16[p >>> 1] = value;
      if (this.codePages[page] !== 0) this.codeWritten(p, 2);
      return;
    }
    this.write8(p, value);
    this.write8(p + 1, value >>> 8);
  }

  write32(addr: number, value: number): void {
    const p = (addr & this.a20Mask) >>> 0;
    const page = p >>> PAGE_SHIFT;
    if ((p & 3) === 0 && this.pageKind[page] === PageKind.RAM) {
      this.ram32[p >>> 2] = value;
      if (this.codePages[page] !== 0) this.codeWritten(p, 4);
      return;
    }
    this.write16(p, value);
    this.write16(p + 2, value >>> 16);
  }

  /**
   * Copies bytes into guest memory (loaders, device DMA) a page at a time; respects ROM, MMIO and
   * unmapped pages and reports writes to pages holding scanned code.
   */
  writeBytes(addr: number, bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.length) {
      const p = ((addr + done) & this.a20Mask) >>> 0;
      const page = p >>> PAGE_SHIFT;
      const n = Math.min(bytes.length - done, PAGE_SIZE - (p & PAGE_MASK));
      if (this.pageKind[page] === PageKind.RAM) {
        this.ram.set(bytes.subarray(done, done + n), p);
        if (this.codePages[page] !== 0) this.codeWritten(p, n);
      } else {
        for (let i = 0; i < n; i++) this.write8(p + i, bytes[done + i]);
      }
      done += n;
    }
  }

  /** Sets `length` bytes from `addr` to `value` (bss, zeroed structures), with writeBytes' rules. */
  fill(addr: number, length: number, value: number): void {
    let done = 0;
    while (done < length) {
      const p = ((addr + done) & this.a20Mask) >>> 0;
      const page = p >>> PAGE_SHIFT;
      const n = Math.min(length - done, PAGE_SIZE - (p & PAGE_MASK));
      if (this.pageKind[page] === PageKind.RAM) {
        this.ram.fill(value, p, p + n);
        if (this.codePages[page] !== 0) this.codeWritten(p, n);
      } else {
        for (let i = 0; i < n; i++) this.write8(p + i, value);
      }
      done += n;
    }
  }

  /** Copies bytes out of guest memory, a page at a time. */
  readBytes(addr: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const p = ((addr + done) & this.a20Mask) >>> 0;
      const n = Math.min(length - done, PAGE_SIZE - (p & PAGE_MASK));
      if (this.pageKind[p >>> PAGE_SHIFT] <= PageKind.ROM) out.set(this.ram.subarray(p, p + n), done);
      else for (let i = 0; i < n; i++) out[done + i] = this.read8(p + i);
      done += n;
    }
    return out;
  }

  private readSlow8(p: number, kind: number): number {
    if (kind === PageKind.HIGH_ROM) return this.rom[p - this.romBase];
    if (kind === PageKind.MMIO) {
      const index = this.mmioIndex[p >>> PAGE_SHIFT];
      return this.mmioHandlers[index].read8(p - (this.mmioBase[index] >>> 0)) & 0xff;
    }
    return 0xff;
  }

  private writeSlow8(p: number, kind: number, value: number): void {
    if (kind === PageKind.MMIO) {
      const index = this.mmioIndex[p >>> PAGE_SHIFT];
      this.mmioHandlers[index].write8(p - (this.mmioBase[index] >>> 0), value & 0xff);
      return;
    }
    this.droppedWrites++;
  }
}
