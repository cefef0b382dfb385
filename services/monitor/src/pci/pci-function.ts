/**
 * One PCI function's type 0 configuration header (PCI Local Bus 3.0 §6.1): 256 bytes of registers,
 * a per-bit write mask, and I/O BARs whose size the guest probes by writing all ones. The bus that
 * holds the function decodes the BARs and routes its INTx pin.
 */

import type { StateReader, StateWriter } from '../snapshot/state.js';

export const PCI_VENDOR_ID = 0x00;
export const PCI_DEVICE_ID = 0x02;
export const PCI_COMMAND = 0x04;
export const PCI_STATUS = 0x06;
export const PCI_REVISION_ID = 0x08;
export const PCI_CLASS_PROG = 0x09;
export const PCI_CLASS_DEVICE = 0x0a;
export const PCI_CACHE_LINE_SIZE = 0x0c;
export const PCI_LATENCY_TIMER = 0x0d;
export const PCI_HEADER_TYPE = 0x0e;
export const PCI_BAR0 = 0x10;
export const PCI_SUBSYSTEM_VENDOR_ID = 0x2c;
export const PCI_SUBSYSTEM_ID = 0x2e;
export const PCI_INTERRUPT_LINE = 0x3c;
export const PCI_INTERRUPT_PIN = 0x3d;

export const PCI_COMMAND_IO = 0x0001;
export const PCI_COMMAND_MEMORY = 0x0002;
export const PCI_COMMAND_MASTER = 0x0004;
export const PCI_COMMAND_INTX_DISABLE = 0x0400;
/** Status bit 3: the function's INTx is asserted (before the command register's disable bit). */
export const PCI_STATUS_INTERRUPT = 0x0008;

export const PCI_BAR_COUNT = 6;
const BAR_IO_SPACE = 1;

/** The I/O registers behind one BAR, with offsets relative to the BAR's base. */
export interface PciIoRegion {
  read(offset: number, size: 1 | 2 | 4): number;
  write(offset: number, size: 1 | 2 | 4, value: number): void;
}

export interface PciFunctionIds {
  vendorId: number;
  deviceId: number;
  /** Base class, subclass and programming interface: 0xCCSSPP. */
  classCode: number;
  revision?: number;
  subsystemVendorId?: number;
  subsystemId?: number;
  /** 1..4 for INTA#..INTD#, 0 (default) for none. */
  interruptPin?: number;
  /** Header type bit 7: the device has more functions. */
  multiFunction?: boolean;
}

/** Called by the function when a BAR or the command register changes how it decodes. */
export type DecodeListener = () => void;

export class PciFunction {
  readonly config = new Uint8Array(256);
  /** Writable bits of every config byte; BARs are handled apart. */
  protected readonly writeMask = new Uint8Array(256);
  /** Size of each BAR in bytes, 0 when not implemented. */
  readonly barSize = new Uint32Array(PCI_BAR_COUNT);
  readonly barRegion: (PciIoRegion | undefined)[] = new Array<PciIoRegion | undefined>(PCI_BAR_COUNT).fill(undefined);
  /** Set by the bus: the function reprogrammed a BAR or its command register. */
  onDecodeChange: DecodeListener | undefined;
  /** Set by the bus: the function's INTx level changed. */
  onIntxChange: (() => void) | undefined;
  private intx = false;

  constructor(
    readonly name: string,
    ids: PciFunctionIds,
  ) {
    this.set16(PCI_VENDOR_ID, ids.vendorId);
    this.set16(PCI_DEVICE_ID, ids.deviceId);
    this.config[PCI_REVISION_ID] = ids.revision ?? 0;
    this.config[PCI_CLASS_PROG] = ids.classCode & 0xff;
    this.set16(PCI_CLASS_DEVICE, ids.classCode >>> 8);
    this.config[PCI_HEADER_TYPE] = ids.multiFunction ? 0x80 : 0;
    this.set16(PCI_SUBSYSTEM_VENDOR_ID, ids.subsystemVendorId ?? 0);
    this.set16(PCI_SUBSYSTEM_ID, ids.subsystemId ?? 0);
    this.config[PCI_INTERRUPT_PIN] = ids.interruptPin ?? 0;
    this.writeMask[PCI_COMMAND] = PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
    this.writeMask[PCI_COMMAND + 1] = PCI_COMMAND_INTX_DISABLE >>> 8;
    this.writeMask[PCI_CACHE_LINE_SIZE] = 0xff;
    this.writeMask[PCI_LATENCY_TIMER] = 0xff;
    this.writeMask[PCI_INTERRUPT_LINE] = 0xff;
  }

  /** Adds an I/O BAR of `size` bytes (a power of two, 4 to 256). */
  addIoBar(index: number, size: number, region: PciIoRegion): void {
    if (index < 0 || index >= PCI_BAR_COUNT || this.barSize[index] !== 0) throw new RangeError(`bad BAR ${index}`);
    if (size < 4 || size > 256 || (size & (size - 1)) !== 0) {
      throw new RangeError(`I/O BAR size must be a power of two from 4 to 256, got ${size}`);
    }
    this.barSize[index] = size;
    this.barRegion[index] = region;
    this.set32(PCI_BAR0 + 4 * index, BAR_IO_SPACE);
  }

  /** Base port of an I/O BAR as programmed (decoding also needs the command register's I/O bit). */
  ioBarBase(index: number): number {
    return this.get32(PCI_BAR0 + 4 * index) & 0xfffc & ~(this.barSize[index] - 1);
  }

  /** Firmware-style programming of a BAR base (the guest may move it later). */
  setIoBarBase(index: number, base: number): void {
    this.set32(PCI_BAR0 + 4 * index, (base & 0xfffc & ~(this.barSize[index] - 1)) | BAR_IO_SPACE);
    this.onDecodeChange?.();
  }

  get command(): number {
    return this.get16(PCI_COMMAND);
  }

  /** Whether the function decodes its I/O BARs. */
  get ioEnabled(): boolean {
    return (this.config[PCI_COMMAND] & PCI_COMMAND_IO) !== 0;
  }

  get interruptPin(): number {
    return this.config[PCI_INTERRUPT_PIN];
  }

  /** INTx as the bus sees it: asserted and not disabled by the command register. */
  get intxAsserted(): boolean {
    return this.intx && (this.config[PCI_COMMAND + 1] & (PCI_COMMAND_INTX_DISABLE >>> 8)) === 0;
  }

  /** Configuration space and the INTx level, as fields `prefix + name`. */
  saveSnapshotState(w: StateWriter, prefix: string): void {
    w.bytes(`${prefix}config`, this.config);
    w.flag(`${prefix}intx`, this.intx);
  }

  /** Loads saveSnapshotState's fields; the bus then rebuilds its port map and IRQ routing from them. */
  loadSnapshotState(r: StateReader, prefix: string): void {
    r.into(`${prefix}config`, this.config);
    this.intx = r.flag(`${prefix}intx`);
  }

  /** Drives the function's INTx pin (level-triggered, shared). */
  setIntx(level: boolean): void {
    if (level === this.intx) return;
    this.intx = level;
    this.config[PCI_STATUS] = level
      ? this.config[PCI_STATUS] | PCI_STATUS_INTERRUPT
      : this.config[PCI_STATUS] & ~PCI_STATUS_INTERRUPT;
    this.onIntxChange?.();
  }

  /** A configuration read of `size` bytes at `offset` (naturally aligned by the caller). */
  readConfig(offset: number, size: 1 | 2 | 4): number {
    const c = this.config;
    if (size === 1) return c[offset];
    if (size === 2) return c[offset] | (c[offset + 1] << 8);
    return (c[offset] | (c[offset + 1] << 8) | (c[offset + 2] << 16) | (c[offset + 3] << 24)) >>> 0;
  }

  /** A configuration write; read-only bits keep their value, BARs keep their size alignment. */
  writeConfig(offset: number, size: 1 | 2 | 4, value: number): void {
    const oldCommand = this.get16(PCI_COMMAND);
    let barTouched = false;
    for (let i = 0; i < size; i++) {
      const at = offset + i;
      const byte = (value >>> (8 * i)) & 0xff;
      if (at >= PCI_BAR0 && at < PCI_BAR0 + 4 * PCI_BAR_COUNT) {
        barTouched = this.writeBarByte(at, byte) || barTouched;
        continue;
      }
      const mask = this.writeMask[at];
      if (mask !== 0) this.config[at] = (this.config[at] & ~mask) | (byte & mask);
    }
    const newCommand = this.get16(PCI_COMMAND);
    if (barTouched || (oldCommand & PCI_COMMAND_IO) !== (newCommand & PCI_COMMAND_IO)) this.onDecodeChange?.();
    if ((oldCommand ^ newCommand) & PCI_COMMAND_INTX_DISABLE) this.onIntxChange?.();
  }

  /** Makes config bytes [from, to) writable storage (chipset-specific registers). */
  protected makeWritable(from: number, to: number): void {
    this.writeMask.fill(0xff, from, to);
  }

  protected get16(offset: number): number {
    return this.config[offset] | (this.config[offset + 1] << 8);
  }

  protected get32(offset: number): number {
    return this.readConfig(offset, 4);
  }

  protected set16(offset: number, value: number): void {
    this.config[offset] = value & 0xff;
    this.config[offset + 1] = (value >>> 8) & 0xff;
  }

  protected set32(offset: number, value: number): void {
    for (let i = 0; i < 4; i++) this.config[offset + i] = (value >>> (8 * i)) & 0xff;
  }

  /** Writes one byte of a BAR; returns whether the BAR's value changed. */
  private writeBarByte(at: number, byte: number): boolean {
    const bar = (at - PCI_BAR0) >>> 2;
    const size = this.barSize[bar];
    if (size === 0) return false;
    // I/O BARs: bit 0 reads 1, bit 1 is reserved, the bits below the size read 0, and only 16 address bits decode.
    const mask32 = 0xfffc & ~(size - 1);
    const shift = 8 * ((at - PCI_BAR0) & 3);
    let mask = (mask32 >>> shift) & 0xff;
    if (shift === 0) mask &= 0xfc;
    const old = this.config[at];
    const next = (old & ~mask) | (byte & mask) | (shift === 0 ? BAR_IO_SPACE : 0);
    this.config[at] = next;
    return next !== old;
  }
}
