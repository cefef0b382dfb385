/**
 * PCI bus 0 behind configuration mechanism #1 (PCI 3.0 §3.2.2.3.2): a dword address register at
 * 0xCF8 and a data window at 0xCFC-0xCFF. It decodes the functions' I/O BARs (claiming ports from
 * the port space as BARs move there) and routes INTx pins to ISA IRQs through the PIIX3's PIRQ
 * registers, counting asserted pins per IRQ so shared level-triggered lines stay correct.
 */

import type { PortSpace } from '../io/port-space.js';
import type { StateReader, StateWriter } from '../snapshot/state.js';
import { I440fxHostBridge, Piix3IsaBridge, PIRQ_DISABLED } from './chipset.js';
import { PCI_BAR_COUNT, PCI_INTERRUPT_LINE, type PciFunction, type PciIoRegion } from './pci-function.js';

export const PCI_CONFIG_ADDRESS = 0xcf8;
export const PCI_CONFIG_DATA = 0xcfc;
export const PCI_SLOT_COUNT = 32;
/** Slots of the chipset functions. */
export const HOST_BRIDGE_SLOT = 0;
export const ISA_BRIDGE_SLOT = 1;
/** Where firmware-style BAR assignment starts (above the ISA range and PCIBIOS_MIN_IO). */
export const PCI_IO_WINDOW_BASE = 0xc000;
const PCI_IO_WINDOW_END = 0x10000;
const ENABLE_BIT = 0x80000000;

/** Drives an ISA IRQ line (0..15) of the interrupt controller; level semantics. */
export type SetIrq = (line: number, level: boolean) => void;

/** The PIRQ link (0..3 for PIRQA..D) an INTx pin (1..4) of a slot is wired to: the usual rotation. */
export function pirqLink(slot: number, pin: number): number {
  return (slot + pin - 1) & 3;
}

class BarWindow {
  /** -1 while the BAR does not decode. */
  base = -1;
  constructor(
    readonly fn: PciFunction,
    readonly bar: number,
    readonly region: PciIoRegion,
    readonly size: number,
  ) {}
}

export interface PciBusOptions {
  /** IRQs the PIRQA..D links start routed to, as firmware would leave them. Default 10, 11, 10, 11. */
  pirqIrqs?: readonly number[];
}

export class PciBus {
  readonly hostBridge = new I440fxHostBridge();
  readonly isaBridge: Piix3IsaBridge;
  /** Configuration accesses to absent functions or with the enable bit clear. */
  masterAborts = 0;
  /** BAR placements that could not decode because another device owns the ports, and the last one. */
  decodeConflicts = 0;
  lastDecodeConflict = '';
  private readonly slots: (PciFunction | undefined)[] = new Array<PciFunction | undefined>(PCI_SLOT_COUNT).fill(
    undefined,
  );
  private address = 0;
  /** Port -> index + 1 of the BAR window decoding it, 0 for none. */
  private readonly portMap = new Uint8Array(0x10000);
  private readonly windows: BarWindow[] = [];
  /** Ports this bus claimed from the port space (they stay claimed; unmapped ones read all ones). */
  private readonly claimed = new Uint8Array(0x10000);
  /** Asserted INTx pins per IRQ line. */
  private readonly irqCount = new Uint8Array(16);
  /** The IRQ each slot's INTx currently drives, -1 for none. */
  private readonly routedIrq = new Int8Array(PCI_SLOT_COUNT).fill(-1);
  private nextIoBase = PCI_IO_WINDOW_BASE;

  constructor(
    private readonly io: PortSpace,
    private readonly setIrq: SetIrq,
    options: PciBusOptions = {},
  ) {
    this.isaBridge = new Piix3IsaBridge(options.pirqIrqs ?? [10, 11, 10, 11]);
    this.isaBridge.onRoutingChange = () => this.reroute();
    io.register(PCI_CONFIG_ADDRESS, 4, 'pci-conf1', {
      read8: (port) => (this.address >>> (8 * (port - PCI_CONFIG_ADDRESS))) & 0xff,
      read16: (port) => (this.address >>> (8 * (port - PCI_CONFIG_ADDRESS))) & 0xffff,
      read32: (port) => (port === PCI_CONFIG_ADDRESS ? this.address | 0 : -1),
      // Only a dword access at 0xCF8 latches the address; narrower ones go to other chipset registers.
      write8: () => undefined,
      write16: () => undefined,
      write32: (port, value) => {
        if (port === PCI_CONFIG_ADDRESS) this.address = (value & 0x80fffffc) >>> 0;
      },
    });
    io.register(PCI_CONFIG_DATA, 4, 'pci-conf1-data', {
      read8: (port) => this.configRead(port, 1),
      read16: (port) => this.configRead(port, 2),
      read32: (port) => this.configRead(port, 4),
      write8: (port, value) => this.configWrite(port, 1, value),
      write16: (port, value) => this.configWrite(port, 2, value),
      write32: (port, value) => this.configWrite(port, 4, value),
    });
    this.attach(HOST_BRIDGE_SLOT, this.hostBridge);
    this.attach(ISA_BRIDGE_SLOT, this.isaBridge);
  }

  /**
   * Plugs a function into a free slot (the lowest free one unless `slot` is given), assigns its I/O
   * BARs in the PCI window, enables I/O decoding and sets the Interrupt Line as firmware would.
   * Returns the slot.
   */
  addDevice(fn: PciFunction, slot?: number): number {
    const at = slot ?? this.slots.findIndex((s) => s === undefined);
    if (at < 0 || at >= PCI_SLOT_COUNT || this.slots[at] !== undefined) {
      throw new RangeError(slot === undefined ? 'no free PCI slot' : `PCI slot ${slot} is taken or out of range`);
    }
    for (let bar = 0; bar < PCI_BAR_COUNT; bar++) {
      const size = fn.barSize[bar];
      if (size === 0) continue;
      const base = (this.nextIoBase + size - 1) & ~(size - 1);
      if (base + size > PCI_IO_WINDOW_END) throw new RangeError('the PCI I/O window is full');
      this.nextIoBase = base + size;
      fn.setIoBarBase(bar, base);
    }
    fn.writeConfig(0x04, 2, fn.command | 0x0001);
    this.attach(at, fn);
    const irq = this.irqOf(at);
    fn.config[PCI_INTERRUPT_LINE] = irq < 0 ? 0xff : irq;
    return at;
  }

  /** The address register and every function's configuration space, by slot. */
  saveSnapshotState(w: StateWriter): void {
    w.number('address', this.address);
    w.number('masterAborts', this.masterAborts);
    for (let slot = 0; slot < PCI_SLOT_COUNT; slot++) this.slots[slot]?.saveSnapshotState(w, `slot${slot}.`);
  }

  /** Loads the functions' state, then rebuilds BAR decoding and INTx routing from it. */
  loadSnapshotState(r: StateReader): void {
    this.address = r.int('address', 0, 0xffffffff);
    this.masterAborts = r.int('masterAborts', 0, Number.MAX_SAFE_INTEGER);
    for (let slot = 0; slot < PCI_SLOT_COUNT; slot++) this.slots[slot]?.loadSnapshotState(r, `slot${slot}.`);
    for (let slot = 0; slot < PCI_SLOT_COUNT; slot++) {
      const fn = this.slots[slot];
      if (fn !== undefined) this.remap(fn);
    }
    this.reroute();
  }

  /** The function in a slot, if any. */
  device(slot: number): PciFunction | undefined {
    return this.slots[slot];
  }

  /** The ISA IRQ a slot's INTx pin is routed to now, -1 when none. */
  irqOf(slot: number): number {
    const fn = this.slots[slot];
    if (fn === undefined || fn.interruptPin === 0) return -1;
    const value = this.isaBridge.pirqRoute(pirqLink(slot, fn.interruptPin));
    return (value & PIRQ_DISABLED) !== 0 || value >= 16 ? -1 : value;
  }

  private attach(slot: number, fn: PciFunction): void {
    this.slots[slot] = fn;
    fn.onDecodeChange = () => this.remap(fn);
    fn.onIntxChange = () => this.updateIntx(slot);
    this.remap(fn);
  }

  private configRead(port: number, size: 1 | 2 | 4): number {
    const fn = this.target();
    if (fn === undefined) {
      this.masterAborts++;
      return size === 4 ? -1 : size === 2 ? 0xffff : 0xff;
    }
    const offset = (this.address & 0xfc) + (port & 3);
    if (offset + size > 256 || (offset & (size - 1)) !== 0) return this.splitRead(fn, offset, size);
    return fn.readConfig(offset, size) | 0;
  }

  private configWrite(port: number, size: 1 | 2 | 4, value: number): void {
    const fn = this.target();
    if (fn === undefined) {
      this.masterAborts++;
      return;
    }
    const offset = (this.address & 0xfc) + (port & 3);
    const bytes = Math.min(size, 256 - offset) as 1 | 2 | 4;
    if ((offset & (size - 1)) !== 0 || bytes !== size) {
      for (let i = 0; i < bytes; i++) fn.writeConfig(offset + i, 1, (value >>> (8 * i)) & 0xff);
      return;
    }
    fn.writeConfig(offset, size, value);
  }

  private splitRead(fn: PciFunction, offset: number, size: number): number {
    let v = 0;
    for (let i = 0; i < size; i++) v |= (offset + i < 256 ? fn.readConfig(offset + i, 1) : 0xff) << (8 * i);
    return v | 0;
  }

  /** The function the address register selects: bus 0, function 0 only. */
  private target(): PciFunction | undefined {
    const a = this.address;
    if ((a & ENABLE_BIT) === 0 || ((a >>> 16) & 0xff) !== 0 || ((a >>> 8) & 7) !== 0) return undefined;
    return this.slots[(a >>> 11) & 0x1f];
  }

  /** Rebuilds the port map for one function's BARs after it changed a BAR or its command register. */
  private remap(fn: PciFunction): void {
    for (let bar = 0; bar < PCI_BAR_COUNT; bar++) {
      const size = fn.barSize[bar];
      const region = fn.barRegion[bar];
      if (size === 0 || region === undefined) continue;
      let index = this.windows.findIndex((w) => w.fn === fn && w.bar === bar) + 1;
      if (index === 0) {
        if (this.windows.length >= 255) throw new RangeError('too many PCI BARs');
        index = this.windows.push(new BarWindow(fn, bar, region, size));
      }
      const w = this.windows[index - 1];
      if (w.base >= 0) {
        for (let p = w.base; p < w.base + size; p++) if (this.portMap[p] === index) this.portMap[p] = 0;
        w.base = -1;
      }
      const base = fn.ioBarBase(bar);
      // Base 0 is how an unassigned BAR looks; it must not swallow the ISA ports.
      if (!fn.ioEnabled || base === 0 || !this.claim(fn, base, size)) continue;
      w.base = base;
      this.portMap.fill(index, base, base + size);
    }
  }

  /** Claims [base, base+size) from the port space where not yet claimed; false when another device owns a port. */
  private claim(fn: PciFunction, base: number, size: number): boolean {
    for (let p = base; p < base + size; p++) {
      if (this.claimed[p] === 0 && this.io.ownerOf(p) !== '') {
        this.decodeConflicts++;
        this.lastDecodeConflict = `${fn.name}: port 0x${p.toString(16)} belongs to ${this.io.ownerOf(p)}`;
        return false;
      }
    }
    let p = base;
    while (p < base + size) {
      if (this.claimed[p] !== 0) {
        p++;
        continue;
      }
      let end = p;
      while (end < base + size && this.claimed[end] === 0) end++;
      this.io.register(p, end - p, 'pci', {
        read8: (port) => this.ioRead(port, 1),
        read16: (port) => this.ioRead(port, 2),
        read32: (port) => this.ioRead(port, 4),
        write8: (port, value) => this.ioWrite(port, 1, value),
        write16: (port, value) => this.ioWrite(port, 2, value),
        write32: (port, value) => this.ioWrite(port, 4, value),
      });
      this.claimed.fill(1, p, end);
      p = end;
    }
    return true;
  }

  private ioRead(port: number, size: 1 | 2 | 4): number {
    const index = this.portMap[port];
    if (index === 0) return size === 4 ? -1 : size === 2 ? 0xffff : 0xff;
    const w = this.windows[index - 1];
    return w.region.read(port - w.base, size);
  }

  private ioWrite(port: number, size: 1 | 2 | 4, value: number): void {
    const index = this.portMap[port];
    if (index === 0) return;
    const w = this.windows[index - 1];
    w.region.write(port - w.base, size, value);
  }

  private updateIntx(slot: number): void {
    const fn = this.slots[slot];
    const irq = fn !== undefined && fn.intxAsserted ? this.irqOf(slot) : -1;
    const old = this.routedIrq[slot];
    if (irq === old) return;
    this.routedIrq[slot] = irq;
    if (old >= 0 && --this.irqCount[old] === 0) this.setIrq(old, false);
    if (irq >= 0 && this.irqCount[irq]++ === 0) this.setIrq(irq, true);
  }

  /** The guest reprogrammed a PIRQ register: move asserted pins to their new lines. */
  private reroute(): void {
    for (let slot = 0; slot < PCI_SLOT_COUNT; slot++) if (this.slots[slot] !== undefined) this.updateIntx(slot);
  }
}
