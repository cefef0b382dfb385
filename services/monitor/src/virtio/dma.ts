/**
 * Device access to guest RAM for the virtio front-ends. Callers bounds-check addresses against RAM
 * first (every address here is below ramSize); writes go page by page so ROM pages stay untouched
 * and pages holding scanned code are reported to the SBE cache.
 */

import { PAGE_SHIFT, PAGE_SIZE, PageKind, type PhysicalMemory } from '../memory/physical-memory.js';

/** Whether [addr, addr + length) lies inside guest RAM (addr may be any non-negative number). */
export function inRam(mem: PhysicalMemory, addr: number, length: number): boolean {
  return addr >= 0 && length >= 0 && addr + length <= mem.ramSize;
}

/** Copies `length` bytes of guest RAM at `addr` into `dst` at `dstOffset`; non-RAM pages read as all ones. */
export function dmaRead(mem: PhysicalMemory, addr: number, dst: Uint8Array, dstOffset: number, length: number): void {
  let done = 0;
  while (done < length) {
    const a = addr + done;
    const n = Math.min(length - done, PAGE_SIZE - (a & (PAGE_SIZE - 1)));
    if (mem.pageKind[a >>> PAGE_SHIFT] <= PageKind.ROM) dst.set(mem.ram.subarray(a, a + n), dstOffset + done);
    else dst.fill(0xff, dstOffset + done, dstOffset + done + n);
    done += n;
  }
}

/** Copies `length` bytes of `src` from `srcOffset` into guest RAM at `addr`. */
export function dmaWrite(mem: PhysicalMemory, addr: number, src: Uint8Array, srcOffset: number, length: number): void {
  let done = 0;
  while (done < length) {
    const a = addr + done;
    const page = a >>> PAGE_SHIFT;
    const n = Math.min(length - done, PAGE_SIZE - (a & (PAGE_SIZE - 1)));
    if (mem.pageKind[page] === PageKind.RAM) {
      mem.ram.set(src.subarray(srcOffset + done, srcOffset + done + n), a);
      if (mem.codePages[page] !== 0) mem.codeWritten(a, n);
    } else {
      mem.droppedWrites++;
    }
    done += n;
  }
}

/** Writes one byte of guest RAM (a status byte). */
export function dmaWrite8(mem: PhysicalMemory, addr: number, value: number): void {
  const page = addr >>> PAGE_SHIFT;
  if (mem.pageKind[page] !== PageKind.RAM) {
    mem.droppedWrites++;
    return;
  }
  mem.ram[addr] = value;
  if (mem.codePages[page] !== 0) mem.codeWritten(addr, 1);
}

/**
 * Little-endian ring and descriptor access at any alignment, on physical addresses (no A20 wrap,
 * as for bus masters). Addresses must be inside RAM; writes skip ROM and report code pages.
 */
export class RamView {
  private readonly view: DataView;

  constructor(private readonly mem: PhysicalMemory) {
    this.view = new DataView(mem.ram.buffer, mem.ram.byteOffset, mem.ram.byteLength);
  }

  read16(addr: number): number {
    return this.view.getUint16(addr, true);
  }

  read32(addr: number): number {
    return this.view.getUint32(addr, true);
  }

  write16(addr: number, value: number): void {
    if (this.writable(addr, 2)) this.view.setUint16(addr, value, true);
  }

  write32(addr: number, value: number): void {
    if (this.writable(addr, 4)) this.view.setUint32(addr, value, true);
  }

  private writable(addr: number, length: number): boolean {
    const mem = this.mem;
    const page = addr >>> PAGE_SHIFT;
    const last = (addr + length - 1) >>> PAGE_SHIFT;
    if (mem.pageKind[page] !== PageKind.RAM || mem.pageKind[last] !== PageKind.RAM) {
      mem.droppedWrites++;
      return false;
    }
    if (mem.codePages[page] !== 0 || mem.codePages[last] !== 0) mem.codeWritten(addr, length);
    return true;
  }
}
