/**
 * Split virtqueues in the legacy layout (virtio 1.x §2.7 and §4.1.5.1.3.1: one guest-physical area
 * at PFN * 4096 holding the descriptor table, the available ring and, at the next 4096-byte
 * boundary, the used ring). Everything read from the guest is checked: ring indexes, descriptor
 * indexes, chain length (loops end there), indirect tables and buffer addresses.
 *
 * A chain is parsed into a reused DescriptorChain. Faults in the ring structure itself are
 * QueueFault values (the device must stop: NEEDS_RESET); faults of one buffer (outside RAM, zero
 * length, writable before readable) mark the chain so the device fails just that request.
 */

import type { PhysicalMemory } from '../memory/physical-memory.js';
import { dmaRead, dmaWrite, inRam, RamView } from './dma.js';
import type { StateReader, StateWriter } from '../snapshot/state.js';

export const VIRTQ_DESC_F_NEXT = 1;
export const VIRTQ_DESC_F_WRITE = 2;
export const VIRTQ_DESC_F_INDIRECT = 4;
export const VIRTQ_AVAIL_F_NO_INTERRUPT = 1;
/** Legacy queue alignment and the unit of the queue PFN register. */
export const VIRTIO_PCI_VRING_ALIGN = 4096;
/** Longest chain accepted (direct and indirect descriptors together); loops end here. */
export const MAX_CHAIN_DESCRIPTORS = 1024;
export const MAX_QUEUE_SIZE = 1024;

/** Why a queue cannot go on; the device then needs a reset. */
export const enum QueueFault {
  NONE = 0,
  /** The available index moved by more than the queue size. */
  BAD_AVAIL_INDEX = 1,
  /** A head or next index past the end of its descriptor table. */
  BAD_DESCRIPTOR_INDEX = 2,
  /** More than MAX_CHAIN_DESCRIPTORS descriptors: a loop or a hostile chain. */
  CHAIN_TOO_LONG = 3,
  /** An indirect table that is nested, chained, empty, misaligned in size or outside RAM. */
  BAD_INDIRECT = 4,
}

/** Why one chain's buffers cannot be used; the device fails that request. */
export const enum BufferFault {
  NONE = 0,
  OUT_OF_RAM = 1,
  ZERO_LENGTH = 2,
  /** A device-readable buffer after a device-writable one. */
  READABLE_AFTER_WRITABLE = 3,
}

export function queueFaultText(fault: QueueFault): string {
  switch (fault) {
    case QueueFault.BAD_AVAIL_INDEX:
      return 'available index moved past the queue size';
    case QueueFault.BAD_DESCRIPTOR_INDEX:
      return 'descriptor index out of range';
    case QueueFault.CHAIN_TOO_LONG:
      return `descriptor chain longer than ${MAX_CHAIN_DESCRIPTORS} (a loop?)`;
    case QueueFault.BAD_INDIRECT:
      return 'bad indirect descriptor table';
    default:
      return 'no fault';
  }
}

/** One parsed descriptor chain: readable buffers first, then writable ones. */
export class DescriptorChain {
  head = 0;
  count = 0;
  /** Index of the first writable buffer (count when none). */
  firstWritable = 0;
  readableBytes = 0;
  writableBytes = 0;
  fault: BufferFault = BufferFault.NONE;
  readonly addr = new Uint32Array(MAX_CHAIN_DESCRIPTORS);
  readonly len = new Uint32Array(MAX_CHAIN_DESCRIPTORS);

  clear(head: number): void {
    this.head = head;
    this.count = 0;
    this.firstWritable = 0;
    this.readableBytes = 0;
    this.writableBytes = 0;
    this.fault = BufferFault.NONE;
  }

  /** Copies `length` readable bytes starting `offset` bytes into the readable part. */
  gather(mem: PhysicalMemory, offset: number, dst: Uint8Array, dstOffset: number, length: number): void {
    copyChain(mem, this, 0, this.firstWritable, offset, dst, dstOffset, length, false);
  }

  /** Copies `length` bytes into the writable part, starting `offset` bytes into it. */
  scatter(mem: PhysicalMemory, offset: number, src: Uint8Array, srcOffset: number, length: number): void {
    copyChain(mem, this, this.firstWritable, this.count, offset, src, srcOffset, length, true);
  }
}

/** The writable buffers of a chain, kept by a request until it completes (the chain itself is reused). */
export class WritableBuffers {
  readonly addr: Uint32Array;
  readonly len: Uint32Array;
  readonly bytes: number;

  constructor(chain: DescriptorChain) {
    this.addr = chain.addr.slice(chain.firstWritable, chain.count);
    this.len = chain.len.slice(chain.firstWritable, chain.count);
    this.bytes = chain.writableBytes;
  }

  /** Copies `length` bytes of `src` into the buffers, starting `offset` bytes in. */
  scatter(mem: PhysicalMemory, offset: number, src: Uint8Array, srcOffset: number, length: number): void {
    for (let i = 0; i < this.addr.length && length > 0; i++) {
      const len = this.len[i];
      if (offset >= len) {
        offset -= len;
        continue;
      }
      const n = Math.min(len - offset, length);
      dmaWrite(mem, this.addr[i] + offset, src, srcOffset, n);
      srcOffset += n;
      length -= n;
      offset = 0;
    }
  }

  /** Guest address of byte `offset`, -1 past the end. */
  address(offset: number): number {
    for (let i = 0; i < this.addr.length; i++) {
      if (offset < this.len[i]) return this.addr[i] + offset;
      offset -= this.len[i];
    }
    return -1;
  }
}

function copyChain(
  mem: PhysicalMemory,
  chain: DescriptorChain,
  from: number,
  to: number,
  offset: number,
  buf: Uint8Array,
  bufOffset: number,
  length: number,
  toGuest: boolean,
): void {
  for (let i = from; i < to && length > 0; i++) {
    const len = chain.len[i];
    if (offset >= len) {
      offset -= len;
      continue;
    }
    const n = Math.min(len - offset, length);
    if (toGuest) dmaWrite(mem, chain.addr[i] + offset, buf, bufOffset, n);
    else dmaRead(mem, chain.addr[i] + offset, buf, bufOffset, n);
    bufOffset += n;
    length -= n;
    offset = 0;
  }
}

/** pop() result when the available ring holds nothing new. */
export const QUEUE_EMPTY = -1;

export class Virtqueue {
  /** Guest page number of the queue, 0 when not set up. */
  pfn = 0;
  /** VIRTIO_RING_F_EVENT_IDX negotiated. */
  eventIdx = false;
  private readonly ram: RamView;
  private descAddr = 0;
  private availAddr = 0;
  private usedAddr = 0;
  private lastAvail = 0;
  private usedIdx = 0;
  /** The used index when the driver was last considered for an interrupt. */
  private signalledUsed = 0;

  constructor(
    private readonly mem: PhysicalMemory,
    /** Number of descriptors (a power of two); the legacy interface has the device choose it. */
    readonly size: number,
  ) {
    if (size < 1 || size > MAX_QUEUE_SIZE || (size & (size - 1)) !== 0) {
      throw new RangeError(`queue size must be a power of two up to ${MAX_QUEUE_SIZE}, got ${size}`);
    }
    this.ram = new RamView(mem);
  }

  get ready(): boolean {
    return this.pfn !== 0;
  }

  /** Bytes of guest memory the queue occupies in the legacy layout. */
  get byteSize(): number {
    return this.usedOffset() + 6 + 8 * this.size;
  }

  /** Sets the queue address from the PFN register; false (queue left unset) when it is not inside RAM. */
  setPfn(pfn: number): boolean {
    pfn >>>= 0;
    this.reset();
    if (pfn === 0) return true;
    const base = pfn * VIRTIO_PCI_VRING_ALIGN;
    if (!inRam(this.mem, base, this.byteSize)) return false;
    this.pfn = pfn;
    this.descAddr = base;
    this.availAddr = base + 16 * this.size;
    this.usedAddr = base + this.usedOffset();
    return true;
  }

  /** The ring's page and the device's indexes into it, as fields `prefix + name`. */
  saveSnapshotState(w: StateWriter, prefix: string): void {
    w.number(`${prefix}pfn`, this.pfn);
    w.flag(`${prefix}eventIdx`, this.eventIdx);
    w.number(`${prefix}lastAvail`, this.lastAvail);
    w.number(`${prefix}usedIdx`, this.usedIdx);
    w.number(`${prefix}signalledUsed`, this.signalledUsed);
  }

  loadSnapshotState(r: StateReader, prefix: string): void {
    const pfn = r.int(`${prefix}pfn`, 0, 0xfffff);
    if (!this.setPfn(pfn)) throw r.error(`${prefix}pfn`, `0x${pfn.toString(16)} puts the ring outside RAM`);
    this.eventIdx = r.flag(`${prefix}eventIdx`);
    this.lastAvail = r.int(`${prefix}lastAvail`, 0, 0xffff);
    this.usedIdx = r.int(`${prefix}usedIdx`, 0, 0xffff);
    this.signalledUsed = r.int(`${prefix}signalledUsed`, 0, 0xffff);
  }

  reset(): void {
    this.pfn = 0;
    this.descAddr = this.availAddr = this.usedAddr = 0;
    this.lastAvail = this.usedIdx = this.signalledUsed = 0;
    this.eventIdx = false;
  }

  /** Whether the driver has made buffers available that were not popped yet. */
  hasAvailable(): boolean {
    return this.ready && this.ram.read16(this.availAddr + 2) !== this.lastAvail;
  }

  /**
   * Takes the next available chain into `chain`. Returns QUEUE_EMPTY, QueueFault.NONE (0) with the
   * chain filled (check chain.fault), or a QueueFault.
   */
  pop(chain: DescriptorChain): number {
    if (!this.ready) return QUEUE_EMPTY;
    const ram = this.ram;
    const availIdx = ram.read16(this.availAddr + 2);
    if (availIdx === this.lastAvail) return QUEUE_EMPTY;
    if (((availIdx - this.lastAvail) & 0xffff) > this.size) return QueueFault.BAD_AVAIL_INDEX;
    const head = ram.read16(this.availAddr + 4 + 2 * (this.lastAvail & (this.size - 1)));
    this.lastAvail = (this.lastAvail + 1) & 0xffff;
    if (this.eventIdx) ram.write16(this.usedAddr + 4 + 8 * this.size, this.lastAvail);
    chain.clear(head);
    return this.walk(chain, head);
  }

  /** Returns a chain to the driver with `written` bytes written into its writable buffers. */
  pushUsed(head: number, written: number): void {
    const ram = this.ram;
    const slot = this.usedAddr + 4 + 8 * (this.usedIdx & (this.size - 1));
    ram.write32(slot, head);
    ram.write32(slot + 4, written);
    this.usedIdx = (this.usedIdx + 1) & 0xffff;
    ram.write16(this.usedAddr + 2, this.usedIdx);
  }

  /**
   * Whether the driver wants an interrupt for the used entries added since the last call: the
   * avail ring's NO_INTERRUPT flag, or with EVENT_IDX its used_event index (§2.7.7.2).
   */
  needsInterrupt(): boolean {
    if (!this.ready) return false;
    const old = this.signalledUsed;
    const now = this.usedIdx;
    this.signalledUsed = now;
    if (old === now) return false;
    if (!this.eventIdx) return (this.ram.read16(this.availAddr) & VIRTQ_AVAIL_F_NO_INTERRUPT) === 0;
    const usedEvent = this.ram.read16(this.availAddr + 4 + 2 * this.size);
    return ((now - usedEvent - 1) & 0xffff) < ((now - old) & 0xffff);
  }

  private usedOffset(): number {
    const align = VIRTIO_PCI_VRING_ALIGN;
    return (16 * this.size + 6 + 2 * this.size + align - 1) & ~(align - 1);
  }

  private walk(chain: DescriptorChain, head: number): number {
    const mem = this.mem;
    const ram = this.ram;
    let table = this.descAddr;
    let tableSize = this.size;
    let index = head;
    let indirect = false;
    let seen = 0;
    for (;;) {
      if (index >= tableSize) return QueueFault.BAD_DESCRIPTOR_INDEX;
      if (++seen > MAX_CHAIN_DESCRIPTORS) return QueueFault.CHAIN_TOO_LONG;
      const d = table + 16 * index;
      const addr = ram.read32(d);
      const addrHigh = ram.read32(d + 4);
      const len = ram.read32(d + 8);
      const flags = ram.read16(d + 12);
      const next = ram.read16(d + 14);
      if ((flags & VIRTQ_DESC_F_INDIRECT) !== 0) {
        if (indirect || (flags & VIRTQ_DESC_F_NEXT) !== 0 || len === 0 || len % 16 !== 0)
          return QueueFault.BAD_INDIRECT;
        if (addrHigh !== 0 || !inRam(mem, addr, len)) return QueueFault.BAD_INDIRECT;
        table = addr;
        tableSize = len / 16;
        index = 0;
        indirect = true;
        continue;
      }
      const n = chain.count++;
      let usable = true;
      if (len === 0) {
        chain.fault ||= BufferFault.ZERO_LENGTH;
        usable = false;
      } else if (addrHigh !== 0 || !inRam(mem, addr, len)) {
        chain.fault ||= BufferFault.OUT_OF_RAM;
        usable = false;
      }
      // An unusable buffer stays in the chain with length 0, so the others keep their offsets' meaning.
      chain.addr[n] = usable ? addr : 0;
      chain.len[n] = usable ? len : 0;
      if ((flags & VIRTQ_DESC_F_WRITE) !== 0) {
        chain.writableBytes += chain.len[n];
      } else {
        if (chain.firstWritable !== n) chain.fault ||= BufferFault.READABLE_AFTER_WRITABLE;
        chain.readableBytes += chain.len[n];
        chain.firstWritable = n + 1;
      }
      if ((flags & VIRTQ_DESC_F_NEXT) === 0) return QueueFault.NONE;
      index = next;
    }
  }
}
