/**
 * The guest's side of a legacy virtio-pci device for tests: drives BAR 0 through the port space and
 * lays out split rings in guest RAM the way a legacy driver does (one area per queue at PFN * 4096).
 * Hostile tests poke descriptors directly through `desc`.
 */

import type { PortSpace } from '../../src/io/port-space.js';
import type { PhysicalMemory } from '../../src/memory/physical-memory.js';
import {
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DRIVER,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_PCI_CONFIG,
  VIRTIO_PCI_GUEST_FEATURES,
  VIRTIO_PCI_HOST_FEATURES,
  VIRTIO_PCI_ISR,
  VIRTIO_PCI_QUEUE_NOTIFY,
  VIRTIO_PCI_QUEUE_NUM,
  VIRTIO_PCI_QUEUE_PFN,
  VIRTIO_PCI_QUEUE_SEL,
  VIRTIO_PCI_STATUS,
} from '../../src/virtio/pci-transport.js';
import { VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from '../../src/virtio/virtqueue.js';

export interface Buffer {
  addr: number;
  len: number;
  write?: boolean;
}

export class DriverQueue {
  readonly desc: number;
  readonly avail: number;
  readonly used: number;
  private nextDesc = 0;
  private availIdx = 0;
  private lastUsed = 0;

  constructor(
    private readonly mem: PhysicalMemory,
    readonly base: number,
    readonly size: number,
  ) {
    this.desc = base;
    this.avail = base + 16 * size;
    this.used = base + ((16 * size + 6 + 2 * size + 4095) & ~4095);
  }

  /** Writes descriptor `i` as is (for hostile chains). */
  setDesc(i: number, addr: number, len: number, flags: number, next: number, addrHigh = 0): void {
    const d = this.desc + 16 * i;
    this.mem.write32(d, addr);
    this.mem.write32(d + 4, addrHigh);
    this.mem.write32(d + 8, len);
    this.mem.write16(d + 12, flags);
    this.mem.write16(d + 14, next);
  }

  /** Chains `buffers` in fresh descriptors and returns the head index. */
  addChain(buffers: readonly Buffer[]): number {
    const head = this.nextDesc;
    buffers.forEach((b, k) => {
      const i = (head + k) % this.size;
      const last = k === buffers.length - 1;
      this.setDesc(
        i,
        b.addr,
        b.len,
        (b.write ? VIRTQ_DESC_F_WRITE : 0) | (last ? 0 : VIRTQ_DESC_F_NEXT),
        (i + 1) % this.size,
      );
    });
    this.nextDesc = (head + buffers.length) % this.size;
    this.publish(head);
    return head;
  }

  /** Puts a head index in the available ring. */
  publish(head: number): void {
    this.mem.write16(this.avail + 4 + 2 * (this.availIdx % this.size), head);
    this.availIdx = (this.availIdx + 1) & 0xffff;
    this.mem.write16(this.avail + 2, this.availIdx);
  }

  /** Sets the available index directly (hostile tests). */
  setAvailIdx(value: number): void {
    this.availIdx = value & 0xffff;
    this.mem.write16(this.avail + 2, this.availIdx);
  }

  setAvailFlags(flags: number): void {
    this.mem.write16(this.avail, flags);
  }

  setUsedEvent(value: number): void {
    this.mem.write16(this.avail + 4 + 2 * this.size, value);
  }

  get usedIdx(): number {
    return this.mem.read16(this.used + 2);
  }

  get availEvent(): number {
    return this.mem.read16(this.used + 4 + 8 * this.size);
  }

  /** Used entries added since the last call, as [id, len]. */
  takeUsed(): [number, number][] {
    const out: [number, number][] = [];
    while (this.lastUsed !== this.usedIdx) {
      const e = this.used + 4 + 8 * (this.lastUsed % this.size);
      out.push([this.mem.read32(e), this.mem.read32(e + 4)]);
      this.lastUsed = (this.lastUsed + 1) & 0xffff;
    }
    return out;
  }
}

export class LegacyDriver {
  readonly queues: DriverQueue[] = [];
  hostFeatures = 0;

  constructor(
    readonly io: PortSpace,
    readonly mem: PhysicalMemory,
    readonly base: number,
  ) {}

  /** Reset, ACKNOWLEDGE, DRIVER, features (host features & wanted), then DRIVER_OK unless told not to. */
  init(wanted = 0, queueBases: readonly number[] = [], driverOk = true): void {
    this.io.write8(this.base + VIRTIO_PCI_STATUS, 0);
    this.io.write8(this.base + VIRTIO_PCI_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE);
    this.io.write8(this.base + VIRTIO_PCI_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
    this.hostFeatures = this.io.read32(this.base + VIRTIO_PCI_HOST_FEATURES) >>> 0;
    this.io.write32(this.base + VIRTIO_PCI_GUEST_FEATURES, this.hostFeatures & wanted);
    this.queues.length = 0;
    queueBases.forEach((qb, i) => {
      this.io.write16(this.base + VIRTIO_PCI_QUEUE_SEL, i);
      const size = this.io.read16(this.base + VIRTIO_PCI_QUEUE_NUM);
      this.io.write32(this.base + VIRTIO_PCI_QUEUE_PFN, qb / 4096);
      this.queues.push(new DriverQueue(this.mem, qb, size));
    });
    if (driverOk) this.setStatus(VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_DRIVER_OK);
  }

  setStatus(value: number): void {
    this.io.write8(this.base + VIRTIO_PCI_STATUS, value);
  }

  get status(): number {
    return this.io.read8(this.base + VIRTIO_PCI_STATUS);
  }

  notify(queue: number): void {
    this.io.write16(this.base + VIRTIO_PCI_QUEUE_NOTIFY, queue);
  }

  readIsr(): number {
    return this.io.read8(this.base + VIRTIO_PCI_ISR);
  }

  config8(offset: number): number {
    return this.io.read8(this.base + VIRTIO_PCI_CONFIG + offset);
  }

  config32(offset: number): number {
    return this.io.read32(this.base + VIRTIO_PCI_CONFIG + offset) >>> 0;
  }
}

/** Waits until `done()` holds, giving the event loop turns (bus replies) in between. */
export async function until(done: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}
