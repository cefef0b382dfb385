import { createInProcessBus } from '@plex86/bus';
import { afterAll, describe, expect, it } from 'vitest';
import { PortSpace } from '../../src/io/port-space.js';
import { PhysicalMemory } from '../../src/memory/physical-memory.js';
import { PciBus } from '../../src/pci/pci-bus.js';
import { VirtioConsole } from '../../src/virtio/console.js';
import {
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_NEEDS_RESET,
  VIRTIO_ISR_CONFIG,
  VIRTIO_PCI_GUEST_FEATURES,
  VIRTIO_PCI_HOST_FEATURES,
  VIRTIO_PCI_ISR,
  VIRTIO_PCI_QUEUE_NUM,
  VIRTIO_PCI_QUEUE_PFN,
  VIRTIO_PCI_QUEUE_SEL,
  VIRTIO_PCI_STATUS,
  VIRTIO_RING_F_EVENT_IDX,
  VIRTIO_RING_F_INDIRECT_DESC,
} from '../../src/virtio/pci-transport.js';

const bus = createInProcessBus();
afterAll(() => bus.close());

function setup() {
  const io = new PortSpace();
  const mem = new PhysicalMemory({ ramSize: 2 << 20 });
  const irqs: [number, boolean][] = [];
  const pci = new PciBus(io, (line, level) => irqs.push([line, level]));
  const dev = new VirtioConsole(mem, { bus, vm: 't', consoleId: '0' });
  const slot = pci.addDevice(dev);
  const base = dev.ioBarBase(0);
  return { io, dev, base, irqs, irq: pci.irqOf(slot) };
}

describe('legacy virtio-pci registers', () => {
  it('reads the same host features as a dword or byte by byte, and masks guest features to them', () => {
    const { io, dev, base } = setup();
    const features = io.read32(base + VIRTIO_PCI_HOST_FEATURES) >>> 0;
    expect(features).toBe(VIRTIO_RING_F_INDIRECT_DESC | VIRTIO_RING_F_EVENT_IDX);
    let bytes = 0;
    for (let i = 0; i < 4; i++) bytes |= io.read8(base + VIRTIO_PCI_HOST_FEATURES + i) << (8 * i);
    expect(bytes >>> 0).toBe(features);
    io.write32(base + VIRTIO_PCI_GUEST_FEATURES, -1);
    expect(io.read32(base + VIRTIO_PCI_GUEST_FEATURES) >>> 0).toBe(features);
    expect(dev.queues.every((q) => q.eventIdx)).toBe(true);
  });

  it('reports size 0 for queues that do not exist and ignores their PFN', () => {
    const { io, base, dev } = setup();
    io.write16(base + VIRTIO_PCI_QUEUE_SEL, 1);
    expect(io.read16(base + VIRTIO_PCI_QUEUE_NUM)).toBe(64);
    io.write16(base + VIRTIO_PCI_QUEUE_SEL, 2);
    expect(io.read16(base + VIRTIO_PCI_QUEUE_NUM)).toBe(0);
    io.write32(base + VIRTIO_PCI_QUEUE_PFN, 0x10);
    expect(io.read32(base + VIRTIO_PCI_QUEUE_PFN)).toBe(0);
    expect(dev.needsReset).toBe(false);
  });

  it('sets NEEDS_RESET with a config interrupt for a PFN outside RAM; only a reset clears it', () => {
    const { io, base, dev, irqs, irq } = setup();
    io.write8(base + VIRTIO_PCI_STATUS, 3);
    io.write32(base + VIRTIO_PCI_QUEUE_PFN, 0x7ffff);
    expect(io.read32(base + VIRTIO_PCI_QUEUE_PFN)).toBe(0);
    expect(dev.lastFault).toMatch(/outside RAM/);
    io.write8(base + VIRTIO_PCI_STATUS, 7);
    expect(io.read8(base + VIRTIO_PCI_STATUS)).toBe(7 | VIRTIO_CONFIG_S_NEEDS_RESET);
    expect(dev.driverOk).toBe(false);
    expect(irqs).toEqual([[irq, true]]);
    // A 16-bit read spanning status and ISR clears the ISR too.
    expect(io.read16(base + VIRTIO_PCI_STATUS)).toBe((VIRTIO_ISR_CONFIG << 8) | 7 | VIRTIO_CONFIG_S_NEEDS_RESET);
    expect(io.read8(base + VIRTIO_PCI_ISR)).toBe(0);
    expect(irqs).toEqual([
      [irq, true],
      [irq, false],
    ]);
    io.write8(base + VIRTIO_PCI_STATUS, 0);
    expect(io.read8(base + VIRTIO_PCI_STATUS)).toBe(0);
    expect(io.read32(base + VIRTIO_PCI_GUEST_FEATURES)).toBe(0);
    expect(dev.lastFault).toBe('');
  });

  it('deasserts INTx on reset and keeps features fixed after DRIVER_OK', () => {
    const { io, base, dev, irqs, irq } = setup();
    io.write8(base + VIRTIO_PCI_STATUS, VIRTIO_CONFIG_S_DRIVER_OK);
    io.write32(base + VIRTIO_PCI_GUEST_FEATURES, VIRTIO_RING_F_INDIRECT_DESC);
    expect(io.read32(base + VIRTIO_PCI_GUEST_FEATURES)).toBe(0);
    dev.raiseInterrupt(1);
    io.write8(base + VIRTIO_PCI_STATUS, 0);
    expect(irqs).toEqual([
      [irq, true],
      [irq, false],
    ]);
    expect(dev.isr).toBe(0);
  });
});
