/**
 * The legacy virtio-over-PCI interface (virtio 1.x §4.1.4.8, "Legacy Interfaces: A Note on PCI
 * Device Layout"): a transitional PCI function (vendor 0x1AF4, device 0x1000-0x103F, revision 0,
 * subsystem id = virtio device type) whose I/O BAR 0 holds
 *
 *   0x00 host features (32)   0x04 guest features (32)   0x08 queue PFN (32)   0x0C queue size (16)
 *   0x0E queue select (16)    0x10 queue notify (16)     0x12 device status (8) 0x13 ISR (8, read clears)
 *   0x14 device-specific configuration
 *
 * A device model extends this class with its queues, features and configuration. Interrupts are
 * INTx, asserted while an ISR bit is set.
 */

import type { PhysicalMemory } from '../memory/physical-memory.js';
import { PciFunction, type PciIoRegion } from '../pci/pci-function.js';
import { DescriptorChain, QueueFault, queueFaultText, Virtqueue } from './virtqueue.js';
import { SnapshotError, type StateReader, type StateWriter } from '../snapshot/state.js';

export const VIRTIO_PCI_VENDOR_ID = 0x1af4;

/** Virtio device types (§5) and their transitional PCI device ids (§4.1.2.3). */
export const enum VirtioDeviceType {
  NET = 1,
  BLOCK = 2,
  CONSOLE = 3,
}

export function transitionalDeviceId(type: VirtioDeviceType): number {
  switch (type) {
    case VirtioDeviceType.NET:
      return 0x1000;
    case VirtioDeviceType.BLOCK:
      return 0x1001;
    case VirtioDeviceType.CONSOLE:
      return 0x1003;
  }
}

export const VIRTIO_PCI_HOST_FEATURES = 0x00;
export const VIRTIO_PCI_GUEST_FEATURES = 0x04;
export const VIRTIO_PCI_QUEUE_PFN = 0x08;
export const VIRTIO_PCI_QUEUE_NUM = 0x0c;
export const VIRTIO_PCI_QUEUE_SEL = 0x0e;
export const VIRTIO_PCI_QUEUE_NOTIFY = 0x10;
export const VIRTIO_PCI_STATUS = 0x12;
export const VIRTIO_PCI_ISR = 0x13;
export const VIRTIO_PCI_CONFIG = 0x14;

export const VIRTIO_CONFIG_S_ACKNOWLEDGE = 1;
export const VIRTIO_CONFIG_S_DRIVER = 2;
export const VIRTIO_CONFIG_S_DRIVER_OK = 4;
export const VIRTIO_CONFIG_S_FEATURES_OK = 8;
export const VIRTIO_CONFIG_S_NEEDS_RESET = 0x40;
export const VIRTIO_CONFIG_S_FAILED = 0x80;

export const VIRTIO_ISR_QUEUE = 1;
export const VIRTIO_ISR_CONFIG = 2;

export const VIRTIO_RING_F_INDIRECT_DESC = 1 << 28;
export const VIRTIO_RING_F_EVENT_IDX = 1 << 29;

export interface VirtioPciOptions {
  type: VirtioDeviceType;
  /** PCI class code 0xCCSSPP. */
  classCode: number;
  /** Size of each virtqueue (powers of two). */
  queueSizes: readonly number[];
  /** Device feature bits 0-23; the transport adds the ring features it implements. */
  features: number;
  /** Size of the device-specific configuration in bytes. */
  configSize: number;
}

export abstract class VirtioPciDevice extends PciFunction {
  readonly queues: Virtqueue[];
  readonly hostFeatures: number;
  guestFeatures = 0;
  status = 0;
  isr = 0;
  queueSelect = 0;
  /** Why the device set NEEDS_RESET, '' when it did not. */
  lastFault = '';
  /** Notifications written to the notify register. */
  notifications = 0;
  /** Interrupts raised (ISR bits set while clear). */
  interrupts = 0;
  /** Bumped by every reset, so completions of requests from before a reset are dropped. */
  protected generation = 0;
  /** One chain parser shared by the device's queues (processing is synchronous). */
  protected readonly chain = new DescriptorChain();

  protected constructor(
    name: string,
    protected readonly mem: PhysicalMemory,
    options: VirtioPciOptions,
  ) {
    super(name, {
      vendorId: VIRTIO_PCI_VENDOR_ID,
      deviceId: transitionalDeviceId(options.type),
      classCode: options.classCode,
      revision: 0,
      subsystemVendorId: VIRTIO_PCI_VENDOR_ID,
      subsystemId: options.type,
      interruptPin: 1,
    });
    this.queues = options.queueSizes.map((size) => new Virtqueue(mem, size));
    this.hostFeatures = ((options.features & 0xffffff) | VIRTIO_RING_F_INDIRECT_DESC | VIRTIO_RING_F_EVENT_IDX) >>> 0;
    let barSize = 4;
    while (barSize < VIRTIO_PCI_CONFIG + options.configSize) barSize <<= 1;
    const region: PciIoRegion = {
      read: (offset, size) => this.readRegister(offset, size),
      write: (offset, size, value) => this.writeRegister(offset, size, value),
    };
    this.addIoBar(0, barSize, region);
  }

  /** Whether the driver accepted a feature bit. */
  negotiated(feature: number): boolean {
    return (this.guestFeatures & feature) !== 0;
  }

  get driverOk(): boolean {
    return (this.status & (VIRTIO_CONFIG_S_DRIVER_OK | VIRTIO_CONFIG_S_NEEDS_RESET)) === VIRTIO_CONFIG_S_DRIVER_OK;
  }

  get needsReset(): boolean {
    return (this.status & VIRTIO_CONFIG_S_NEEDS_RESET) !== 0;
  }

  /**
   * Transport registers, queues and the device's own state. Only with no request in flight: a
   * request's completion would write guest memory after the snapshot. (The PCI bus saves the
   * configuration space and INTx.)
   */
  saveVirtioState(w: StateWriter): void {
    if (this.busy) throw new SnapshotError(`${this.name}: requests are in flight`);
    w.number('guestFeatures', this.guestFeatures);
    w.number('status', this.status);
    w.number('isr', this.isr);
    w.number('queueSelect', this.queueSelect);
    w.text('lastFault', this.lastFault);
    w.number('notifications', this.notifications);
    w.number('interrupts', this.interrupts);
    w.number('generation', this.generation);
    w.number('queues', this.queues.length);
    this.queues.forEach((q, i) => q.saveSnapshotState(w, `queue${i}.`));
    this.saveDeviceState(w);
  }

  loadVirtioState(r: StateReader): void {
    const queues = r.int('queues', 0, 0xffff);
    if (queues !== this.queues.length)
      throw r.error('queues', `is ${queues}, but this device has ${this.queues.length}`);
    this.guestFeatures = r.int('guestFeatures', 0, 0xffffffff);
    if ((this.guestFeatures & ~this.hostFeatures) !== 0) throw r.error('guestFeatures', 'holds features not offered');
    this.status = r.int('status', 0, 0xff);
    this.isr = r.int('isr', 0, 0xff);
    this.queueSelect = r.int('queueSelect', 0, 0xffff);
    this.lastFault = r.text('lastFault');
    this.notifications = r.int('notifications', 0, Number.MAX_SAFE_INTEGER);
    this.interrupts = r.int('interrupts', 0, Number.MAX_SAFE_INTEGER);
    this.generation = r.int('generation', 0, Number.MAX_SAFE_INTEGER);
    this.queues.forEach((q, i) => q.loadSnapshotState(r, `queue${i}.`));
    this.loadDeviceState(r);
  }

  /** The device type's own state (none by default). */
  protected saveDeviceState(_w: StateWriter): void {
    // Stateless beyond the transport by default.
  }

  protected loadDeviceState(_r: StateReader): void {
    // Stateless beyond the transport by default.
  }

  /** Requests in flight to a backend (the run loop keeps a halted machine alive while this is true). */
  abstract get busy(): boolean;

  /** Reads the device-specific configuration. */
  protected abstract readDeviceConfig(offset: number, size: 1 | 2 | 4): number;

  /** The driver wrote the device-specific configuration (ignored unless the device has writable fields). */
  protected writeDeviceConfig(_offset: number, _size: 1 | 2 | 4, _value: number): void {
    // Read-only by default.
  }

  /** The driver notified queue `index` (a valid, set-up queue). */
  protected abstract onNotify(index: number): void;

  /** Device state back to its initial values (the transport already cleared its own). */
  protected abstract onReset(): void;

  /** The driver set DRIVER_OK. */
  protected onDriverOk(): void {
    // Nothing by default.
  }

  /** Sets ISR bits and asserts INTx. */
  raiseInterrupt(bits: number): void {
    if ((this.isr & bits) === bits) return;
    if (this.isr === 0) this.interrupts++;
    this.isr |= bits;
    this.setIntx(true);
  }

  /** Raises the queue interrupt if the driver wants one for what was just used. */
  protected signalQueue(queue: Virtqueue): void {
    if (queue.needsInterrupt()) this.raiseInterrupt(VIRTIO_ISR_QUEUE);
  }

  /** Stops the device after a guest error: sets NEEDS_RESET and tells the driver (§2.1.2). */
  protected fail(why: string): void {
    if (this.needsReset) return;
    this.lastFault = why;
    this.status |= VIRTIO_CONFIG_S_NEEDS_RESET;
    this.raiseInterrupt(VIRTIO_ISR_CONFIG);
  }

  /** Fails the device for a queue fault returned by Virtqueue.pop. */
  protected queueFault(index: number, fault: QueueFault): void {
    this.fail(`queue ${index}: ${queueFaultText(fault)}`);
  }

  /** Device reset (status 0): features, queues, ISR and pending work are forgotten. */
  reset(): void {
    this.generation++;
    this.guestFeatures = 0;
    this.status = 0;
    this.queueSelect = 0;
    this.lastFault = '';
    for (const q of this.queues) q.reset();
    this.isr = 0;
    this.setIntx(false);
    this.onReset();
  }

  private readRegister(offset: number, size: 1 | 2 | 4): number {
    if (offset >= VIRTIO_PCI_CONFIG) return this.readDeviceConfig(offset - VIRTIO_PCI_CONFIG, size);
    if (size === 4 && offset === VIRTIO_PCI_HOST_FEATURES) return this.hostFeatures | 0;
    if (size === 4 && offset === VIRTIO_PCI_GUEST_FEATURES) return this.guestFeatures | 0;
    if (size === 4 && offset === VIRTIO_PCI_QUEUE_PFN) return this.selectedQueue()?.pfn ?? 0;
    if (size === 2 && offset === VIRTIO_PCI_QUEUE_NUM) return this.selectedQueue()?.size ?? 0;
    if (size === 1 && offset === VIRTIO_PCI_ISR) return this.readIsr();
    // Other widths and offsets: assemble from bytes, so a byte read of the ISR still clears it.
    let value = 0;
    for (let i = 0; i < size; i++) {
      const at = offset + i;
      const byte =
        at >= VIRTIO_PCI_CONFIG
          ? this.readDeviceConfig(at - VIRTIO_PCI_CONFIG, 1)
          : at === VIRTIO_PCI_ISR
            ? this.readIsr()
            : (this.registerValue(at & ~3) >>> (8 * (at & 3))) & 0xff;
      value |= byte << (8 * i);
    }
    return value;
  }

  /** The dword of common registers at an aligned offset below 0x14. */
  private registerValue(at: number): number {
    switch (at) {
      case VIRTIO_PCI_HOST_FEATURES:
        return this.hostFeatures;
      case VIRTIO_PCI_GUEST_FEATURES:
        return this.guestFeatures;
      case VIRTIO_PCI_QUEUE_PFN:
        return this.selectedQueue()?.pfn ?? 0;
      case VIRTIO_PCI_QUEUE_NUM:
        return (this.selectedQueue()?.size ?? 0) | (this.queueSelect << 16);
      default:
        // 0x10: notify (reads 0) and status; the ISR byte is handled by the caller.
        return this.status << 16;
    }
  }

  private readIsr(): number {
    const value = this.isr;
    if (value !== 0) {
      this.isr = 0;
      this.setIntx(false);
    }
    return value;
  }

  private writeRegister(offset: number, size: 1 | 2 | 4, value: number): void {
    if (offset >= VIRTIO_PCI_CONFIG) {
      this.writeDeviceConfig(offset - VIRTIO_PCI_CONFIG, size, value);
      return;
    }
    switch (offset) {
      case VIRTIO_PCI_GUEST_FEATURES:
        if (size === 4) this.writeGuestFeatures(value);
        return;
      case VIRTIO_PCI_QUEUE_PFN:
        if (size === 4) this.writeQueuePfn(value >>> 0);
        return;
      case VIRTIO_PCI_QUEUE_SEL:
        if (size !== 4) this.queueSelect = value & 0xffff;
        return;
      case VIRTIO_PCI_QUEUE_NOTIFY:
        if (size !== 4) this.notify(value & 0xffff);
        return;
      case VIRTIO_PCI_STATUS:
        this.writeStatus(value & 0xff);
        return;
      default:
      // Read-only registers and odd widths: ignored.
    }
  }

  private selectedQueue(): Virtqueue | undefined {
    return this.queues[this.queueSelect];
  }

  private writeGuestFeatures(value: number): void {
    // Features may only change before DRIVER_OK; later writes are a driver bug and ignored.
    if ((this.status & VIRTIO_CONFIG_S_DRIVER_OK) !== 0) return;
    this.guestFeatures = (value & this.hostFeatures) >>> 0;
    const eventIdx = this.negotiated(VIRTIO_RING_F_EVENT_IDX);
    for (const q of this.queues) q.eventIdx = eventIdx;
  }

  private writeQueuePfn(pfn: number): void {
    const q = this.selectedQueue();
    if (q === undefined) return;
    if (!q.setPfn(pfn)) {
      this.fail(`queue ${this.queueSelect}: PFN 0x${pfn.toString(16)} puts the ring outside RAM`);
      return;
    }
    q.eventIdx = this.negotiated(VIRTIO_RING_F_EVENT_IDX);
  }

  private writeStatus(value: number): void {
    if (value === 0) {
      this.reset();
      return;
    }
    const wasOk = (this.status & VIRTIO_CONFIG_S_DRIVER_OK) !== 0;
    // NEEDS_RESET stays until a reset.
    this.status = value | (this.status & VIRTIO_CONFIG_S_NEEDS_RESET);
    if (!wasOk && this.driverOk) this.onDriverOk();
  }

  private notify(index: number): void {
    this.notifications++;
    const q = this.queues[index];
    if (q === undefined || !q.ready || this.needsReset) return;
    this.onNotify(index);
  }
}
