import { describe, expect, it } from 'vitest';
import { PortSpace } from '../../src/io/port-space.js';
import { PhysicalMemory } from '../../src/memory/physical-memory.js';
import { PIIX3_PIRQ_ROUTE } from '../../src/pci/chipset.js';
import { PCI_IO_WINDOW_BASE, PciBus, pirqLink } from '../../src/pci/pci-bus.js';
import {
  PCI_BAR0,
  PCI_COMMAND,
  PCI_COMMAND_INTX_DISABLE,
  PCI_INTERRUPT_LINE,
  PCI_STATUS,
  PCI_STATUS_INTERRUPT,
  PciFunction,
} from '../../src/pci/pci-function.js';
import { buildPirTable, PIR_DEFAULT_ADDRESS, writePirTable } from '../../src/pci/pir-table.js';

/** A function with one 32-byte I/O BAR of scratch registers. */
class ScratchDevice extends PciFunction {
  readonly regs = new Uint8Array(32);
  constructor(name = 'scratch') {
    super(name, { vendorId: 0x1234, deviceId: 0x5678, classCode: 0xff0000, interruptPin: 1 });
    this.addIoBar(0, 32, {
      read: (offset, size) => {
        let v = 0;
        for (let i = 0; i < size; i++) v |= this.regs[offset + i] << (8 * i);
        return v;
      },
      write: (offset, size, value) => {
        for (let i = 0; i < size; i++) this.regs[offset + i] = (value >>> (8 * i)) & 0xff;
      },
    });
  }
}

function setup() {
  const io = new PortSpace();
  const irqs: [number, boolean][] = [];
  const pci = new PciBus(io, (line, level) => irqs.push([line, level]));
  const cfg = (slot: number, offset: number) => io.write32(0xcf8, 0x80000000 | (slot << 11) | (offset & 0xfc));
  const read32 = (slot: number, offset: number) => (cfg(slot, offset), io.read32(0xcfc) >>> 0);
  const read16 = (slot: number, offset: number) => (cfg(slot, offset), io.read16(0xcfc + (offset & 2)));
  const read8 = (slot: number, offset: number) => (cfg(slot, offset), io.read8(0xcfc + (offset & 3)));
  const write32 = (slot: number, offset: number, v: number) => (cfg(slot, offset), io.write32(0xcfc, v));
  const write16 = (slot: number, offset: number, v: number) => (cfg(slot, offset), io.write16(0xcfc + (offset & 2), v));
  const write8 = (slot: number, offset: number, v: number) => (cfg(slot, offset), io.write8(0xcfc + (offset & 3), v));
  return { io, pci, irqs, read32, read16, read8, write32, write16, write8 };
}

describe('PCI configuration mechanism #1', () => {
  it('passes the probe Linux runs before trusting conf1 (address readback, host bridge class or Intel vendor)', () => {
    const { io, read16 } = setup();
    io.write8(0xcfb, 0x01);
    const saved = io.read32(0xcf8);
    io.write32(0xcf8, 0x80000000);
    expect(io.read32(0xcf8) >>> 0).toBe(0x80000000);
    io.write32(0xcf8, saved);
    expect(read16(0, 0x0a)).toBe(0x0600);
    expect(read16(0, 0x00)).toBe(0x8086);
    expect(read16(0, 0x02)).toBe(0x1237);
    expect(read16(1, 0x02)).toBe(0x7000);
    expect(read16(1, 0x0a)).toBe(0x0601);
  });

  it('reads all ones for empty slots, other functions, other buses and with the enable bit clear', () => {
    const { io, pci, read32 } = setup();
    expect(read32(5, 0)).toBe(0xffffffff);
    io.write32(0xcf8, 0x80000000 | (1 << 8));
    expect(io.read32(0xcfc) >>> 0).toBe(0xffffffff);
    io.write32(0xcf8, 0x80010000);
    expect(io.read32(0xcfc) >>> 0).toBe(0xffffffff);
    io.write32(0xcf8, 0x00000000);
    expect(io.read32(0xcfc) >>> 0).toBe(0xffffffff);
    expect(pci.masterAborts).toBe(4);
  });

  it('gives byte, word and dword views of the same registers and keeps read-only bits', () => {
    const { read8, read16, read32, write16, write32 } = setup();
    expect(read32(0, 0)).toBe(0x12378086);
    expect(read8(0, 1)).toBe(0x80);
    expect(read8(0, 3)).toBe(0x12);
    expect(read16(0, 2)).toBe(0x1237);
    write32(0, 0, 0);
    expect(read32(0, 0)).toBe(0x12378086);
    write16(0, PCI_COMMAND, 0xffff);
    expect(read16(0, PCI_COMMAND)).toBe(0x0407);
    expect(read8(0, 0x3c)).toBe(0);
    write32(0, 0x3c, 0xffffffff);
    expect(read8(0, 0x3c)).toBe(0xff);
    expect(read8(0, 0x3d)).toBe(0);
  });

  it('keeps chipset registers Linux writes (440FX DLC, PIIX3 PIRQ routes)', () => {
    const { read8, write8 } = setup();
    write8(0, 0x82, 0x02);
    expect(read8(0, 0x82)).toBe(0x02);
    expect(read8(1, PIIX3_PIRQ_ROUTE)).toBe(10);
    expect(read8(1, PIIX3_PIRQ_ROUTE + 1)).toBe(11);
  });
});

describe('PCI I/O BARs', () => {
  it('assigns BARs in the PCI window, enables I/O and sets the interrupt line', () => {
    const { io, pci, read32, read8, read16 } = setup();
    const dev = new ScratchDevice();
    const slot = pci.addDevice(dev);
    expect(slot).toBe(2);
    expect(read32(slot, PCI_BAR0)).toBe(PCI_IO_WINDOW_BASE | 1);
    expect(read16(slot, PCI_COMMAND) & 1).toBe(1);
    expect(read8(slot, PCI_INTERRUPT_LINE)).toBe(pci.irqOf(slot));
    expect(pci.irqOf(slot)).toBe([10, 11, 10, 11][pirqLink(slot, 1)]);
    io.write32(PCI_IO_WINDOW_BASE + 4, 0xdeadbeef);
    expect(dev.regs[4]).toBe(0xef);
    expect(io.read16(PCI_IO_WINDOW_BASE + 6)).toBe(0xdead);
    expect(io.ownerOf(PCI_IO_WINDOW_BASE + 31)).toBe('pci');
    const second = new ScratchDevice('second');
    pci.addDevice(second);
    expect(second.ioBarBase(0)).toBe(PCI_IO_WINDOW_BASE + 32);
  });

  it('reports the size when all ones are written and relocates where the guest moves the BAR', () => {
    const { io, pci, read32, write32 } = setup();
    const dev = new ScratchDevice();
    const slot = pci.addDevice(dev);
    const old = read32(slot, PCI_BAR0);
    write32(slot, PCI_BAR0, 0xffffffff);
    const sized = read32(slot, PCI_BAR0);
    expect(sized).toBe(0xffe1);
    expect((~(sized & 0xfffc) & 0xffff) + 1).toBe(32);
    write32(slot, PCI_BAR0, old);
    expect(read32(slot, PCI_BAR0)).toBe(old);
    dev.regs[0] = 0x5a;
    expect(io.read8(PCI_IO_WINDOW_BASE)).toBe(0x5a);

    write32(slot, PCI_BAR0, 0x2013);
    expect(read32(slot, PCI_BAR0)).toBe(0x2001);
    expect(io.read8(0x2000)).toBe(0x5a);
    expect(io.read8(PCI_IO_WINDOW_BASE)).toBe(0xff);
    io.write8(PCI_IO_WINDOW_BASE + 1, 0x77);
    expect(dev.regs[1]).toBe(0);
  });

  it('stops decoding when the command register clears I/O and while the BAR is being sized', () => {
    const { io, pci, read16, write16, write32, read32 } = setup();
    const dev = new ScratchDevice();
    const slot = pci.addDevice(dev);
    dev.regs[2] = 0x42;
    write16(slot, PCI_COMMAND, read16(slot, PCI_COMMAND) & ~1);
    expect(io.read8(PCI_IO_WINDOW_BASE + 2)).toBe(0xff);
    write32(slot, PCI_BAR0, 0xffffffff);
    write32(slot, PCI_BAR0, PCI_IO_WINDOW_BASE);
    write16(slot, PCI_COMMAND, 1);
    expect(read32(slot, PCI_BAR0)).toBe(PCI_IO_WINDOW_BASE | 1);
    expect(io.read8(PCI_IO_WINDOW_BASE + 2)).toBe(0x42);
  });

  it('refuses to decode over ports another device owns and says so', () => {
    const { io, pci, write32, read32 } = setup();
    io.register(0x3f8, 8, 'uart', { read8: () => 0x11 });
    const dev = new ScratchDevice();
    const slot = pci.addDevice(dev);
    write32(slot, PCI_BAR0, 0x3e0);
    expect(read32(slot, PCI_BAR0)).toBe(0x3e1);
    expect(io.read8(0x3f8)).toBe(0x11);
    expect(pci.decodeConflicts).toBe(1);
    expect(pci.lastDecodeConflict).toContain('uart');
  });
});

describe('PCI interrupts', () => {
  it('drives the routed IRQ with level semantics, shared lines stay up until the last pin drops', () => {
    const { pci, irqs, read16 } = setup();
    const a = new ScratchDevice('a');
    const b = new ScratchDevice('b');
    const slotA = pci.addDevice(a);
    // Four slots on, the same PIRQ link comes round again, so both share an IRQ.
    pci.addDevice(new ScratchDevice('c'));
    pci.addDevice(new ScratchDevice('d'));
    pci.addDevice(new ScratchDevice('e'));
    const slotB = pci.addDevice(b, slotA + 4);
    const irq = pci.irqOf(slotA);
    expect(pci.irqOf(slotB)).toBe(irq);
    a.setIntx(true);
    expect(irqs).toEqual([[irq, true]]);
    expect(read16(slotA, PCI_STATUS) & PCI_STATUS_INTERRUPT).toBe(PCI_STATUS_INTERRUPT);
    b.setIntx(true);
    a.setIntx(false);
    expect(irqs).toEqual([[irq, true]]);
    b.setIntx(false);
    expect(irqs).toEqual([
      [irq, true],
      [irq, false],
    ]);
    expect(read16(slotA, PCI_STATUS) & PCI_STATUS_INTERRUPT).toBe(0);
  });

  it('honours the command register INTx disable bit', () => {
    const { pci, irqs, write16 } = setup();
    const a = new ScratchDevice();
    const slot = pci.addDevice(a);
    const irq = pci.irqOf(slot);
    a.setIntx(true);
    write16(slot, PCI_COMMAND, 1 | PCI_COMMAND_INTX_DISABLE);
    write16(slot, PCI_COMMAND, 1);
    expect(irqs).toEqual([
      [irq, true],
      [irq, false],
      [irq, true],
    ]);
  });

  it('moves an asserted pin when the guest reprograms the PIRQ route, and drops it when the route is disabled', () => {
    const { pci, irqs, write8 } = setup();
    const a = new ScratchDevice();
    const slot = pci.addDevice(a);
    const link = pirqLink(slot, 1);
    const irq = pci.irqOf(slot);
    a.setIntx(true);
    write8(1, PIIX3_PIRQ_ROUTE + link, 5);
    expect(pci.irqOf(slot)).toBe(5);
    write8(1, PIIX3_PIRQ_ROUTE + link, 0x80);
    expect(pci.irqOf(slot)).toBe(-1);
    expect(irqs).toEqual([
      [irq, true],
      [irq, false],
      [5, true],
      [5, false],
    ]);
  });
});

describe('$PIR routing table', () => {
  it('has the 1.0 header, a zero checksum, the PIIX3 as router and one entry per occupied slot', () => {
    const { pci } = setup();
    pci.addDevice(new ScratchDevice());
    const t = buildPirTable(pci);
    const v = new DataView(t.buffer);
    expect(new TextDecoder().decode(t.subarray(0, 4))).toBe('$PIR');
    expect(v.getUint16(4, true)).toBe(0x0100);
    expect(v.getUint16(6, true)).toBe(t.length);
    expect(t.length).toBe(32 + 16 * 3);
    expect(t[9]).toBe(1 << 3);
    expect(v.getUint16(12, true)).toBe(0x8086);
    expect(v.getUint16(14, true)).toBe(0x7000);
    expect(t.reduce((s, b) => (s + b) & 0xff, 0)).toBe(0);
    const entry = 32 + 16 * 2;
    expect(t[entry + 1]).toBe(2 << 3);
    for (let pin = 1; pin <= 4; pin++) {
      expect(t[entry + 2 + 3 * (pin - 1)]).toBe(PIIX3_PIRQ_ROUTE + pirqLink(2, pin));
      expect(v.getUint16(entry + 3 + 3 * (pin - 1), true) & (1 << 10)).not.toBe(0);
    }
  });

  it('is written where Linux scans (16-byte aligned in 0xF0000-0xFFFFF) and refuses other places', () => {
    const { pci } = setup();
    const mem = new PhysicalMemory({ ramSize: 2 << 20 });
    const size = writePirTable(mem, pci);
    expect(PIR_DEFAULT_ADDRESS % 16).toBe(0);
    expect(mem.read32(PIR_DEFAULT_ADDRESS)).toBe(0x52495024);
    expect(mem.read16(PIR_DEFAULT_ADDRESS + 6)).toBe(size);
    expect(() => writePirTable(mem, pci, 0xe0000)).toThrow(/0xF0000-0xFFFFF/);
    expect(() => writePirTable(mem, pci, 0xf0008)).toThrow(/16-byte/);
  });
});
