/**
 * virtio-net front-end (virtio 1.x §5.1, legacy interface) with VIRTIO_NET_F_MAC and
 * VIRTIO_NET_F_STATUS and no offloads: receiveq 0 takes frames to the guest, transmitq 1 frames
 * from it. Every buffer starts with a 10-byte virtio_net_hdr (no MRG_RXBUF, no VERSION_1): the
 * header is stripped from transmitted frames and written as zeroes (no checksum or GSO
 * information) in front of received ones. Chains are read and written as byte streams, so header
 * and frame may share a buffer or not (ANY_LAYOUT in practice, as Linux does).
 *
 * Frames travel through a NetLink (a SegmentPort of hal-net on the bus, in practice), so the
 * backend never sees guest memory. A received frame with no receive buffer posted is dropped and
 * counted, as a NIC with a full FIFO drops it.
 */

import type { PhysicalMemory } from '../memory/physical-memory.js';
import { VIRTIO_ISR_CONFIG, VirtioDeviceType, VirtioPciDevice } from './pci-transport.js';
import { BufferFault, QUEUE_EMPTY, QueueFault } from './virtqueue.js';
import type { StateReader, StateWriter } from '../snapshot/state.js';

export const VIRTIO_NET_F_MAC = 1 << 5;
export const VIRTIO_NET_F_STATUS = 1 << 16;
export const VIRTIO_NET_S_LINK_UP = 1;
/** struct virtio_net_hdr without num_buffers (legacy, no VIRTIO_NET_F_MRG_RXBUF). */
export const VIRTIO_NET_HDR_SIZE = 10;
/** Destination MAC, source MAC, EtherType. */
export const NET_MIN_FRAME = 14;
/** 1500 bytes of payload, the Ethernet header and one 802.1Q tag; no FCS. */
export const NET_MAX_FRAME = 1522;
const RECEIVEQ = 0;
const TRANSMITQ = 1;
/** mac[6] and status (u16); max_virtqueue_pairs needs VIRTIO_NET_F_MQ. */
const CONFIG_SIZE = 8;
const CONFIG_STATUS = 6;
const DEFAULT_QUEUE_SIZE = 256;

/**
 * Where the interface's frames go and come from. `send` must copy the frame before returning (the
 * device reuses its buffer) and returns false when it refused it; the device sets `onFrame` to
 * receive frames addressed to the interface.
 */
export interface NetLink {
  send(frame: Uint8Array): boolean;
  onFrame: ((frame: Uint8Array) => void) | null;
}

export interface VirtioNetOptions {
  /** Interface id (NetConfig.id), for names and logs. */
  id: string;
  /** Six colon-separated hex bytes. */
  mac: string;
  link: NetLink;
  /** Called when a frame reached the guest from outside the CPU's own I/O (wakes a halted CPU). */
  onEvent?: () => void;
  queueSize?: number;
}

/** Counters of one interface. */
export class VirtioNetStats {
  txFrames = 0;
  txBytes = 0;
  /** Transmit chains that were unusable (bad buffers, a short header, a length outside 14..1522). */
  txErrors = 0;
  /** Frames the link refused, or sent while the link was down. */
  txRefused = 0;
  rxFrames = 0;
  rxBytes = 0;
  /** Frames dropped because the guest had no receive buffer posted. */
  rxNoBuffers = 0;
  /** Frames dropped because the driver was not ready or the link was down. */
  rxNotReady = 0;
  /** Frames dropped for a receive buffer that was unusable or too small (the buffer is returned empty). */
  rxErrors = 0;
  /** Frames from the link with a length outside 14..1522. */
  rxMalformed = 0;
}

/** The six bytes of "52:54:00:12:34:56"; throws a RangeError otherwise. */
export function parseMacAddress(text: string): Uint8Array {
  const parts = text.split(':');
  if (parts.length !== 6 || !parts.every((p) => /^[0-9A-Fa-f]{2}$/.test(p))) {
    throw new RangeError(`invalid MAC address ${JSON.stringify(text)}: want six colon-separated hex bytes`);
  }
  return Uint8Array.from(parts, (p) => parseInt(p, 16));
}

export class VirtioNet extends VirtioPciDevice {
  readonly id: string;
  readonly mac: Uint8Array;
  readonly stats = new VirtioNetStats();
  private linkUp = true;
  private readonly link: NetLink;
  private readonly onEvent: () => void;
  /** One transmitted frame, reused: the link copies it. */
  private readonly txFrame = new Uint8Array(NET_MAX_FRAME);
  private readonly zeroHeader = new Uint8Array(VIRTIO_NET_HDR_SIZE);

  constructor(mem: PhysicalMemory, options: VirtioNetOptions) {
    const queueSize = options.queueSize ?? DEFAULT_QUEUE_SIZE;
    super(`virtio-net ${options.id}`, mem, {
      type: VirtioDeviceType.NET,
      classCode: 0x020000,
      queueSizes: [queueSize, queueSize],
      features: VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS,
      configSize: CONFIG_SIZE,
    });
    this.id = options.id;
    this.mac = parseMacAddress(options.mac);
    this.link = options.link;
    this.onEvent = options.onEvent ?? (() => undefined);
    this.link.onFrame = (frame) => this.receive(frame);
  }

  /** Nothing waits on a reply: frames go out at once and come in when they come. */
  get busy(): boolean {
    return false;
  }

  protected override saveDeviceState(w: StateWriter): void {
    w.flag('linkUp', this.linkUp);
  }

  protected override loadDeviceState(r: StateReader): void {
    this.linkUp = r.flag('linkUp');
  }

  /** Frames from the link reach the guest: the driver is ready and the link is up. */
  get receiving(): boolean {
    return this.driverOk && this.linkUp;
  }

  get linkIsUp(): boolean {
    return this.linkUp;
  }

  /** Link state as the guest sees it (config status); a change raises a configuration interrupt. */
  setLinkUp(up: boolean): void {
    if (up === this.linkUp) return;
    this.linkUp = up;
    if (this.driverOk && this.negotiated(VIRTIO_NET_F_STATUS)) this.raiseInterrupt(VIRTIO_ISR_CONFIG);
  }

  /**
   * Puts one frame from the link into the next receive buffer and interrupts the guest; drops it
   * (and counts why) when it cannot.
   */
  receive(frame: Uint8Array): void {
    const stats = this.stats;
    const length = frame.length;
    if (length < NET_MIN_FRAME || length > NET_MAX_FRAME) {
      stats.rxMalformed++;
      return;
    }
    if (!this.receiving) {
      stats.rxNotReady++;
      return;
    }
    const q = this.queues[RECEIVEQ];
    const chain = this.chain;
    const r = q.pop(chain);
    if (r === QUEUE_EMPTY) {
      stats.rxNoBuffers++;
      return;
    }
    if (r !== QueueFault.NONE) {
      stats.rxErrors++;
      this.queueFault(RECEIVEQ, r);
      return;
    }
    let written = 0;
    if (chain.fault !== BufferFault.NONE || chain.writableBytes < VIRTIO_NET_HDR_SIZE + length) {
      stats.rxErrors++;
    } else {
      chain.scatter(this.mem, 0, this.zeroHeader, 0, VIRTIO_NET_HDR_SIZE);
      chain.scatter(this.mem, VIRTIO_NET_HDR_SIZE, frame, 0, length);
      written = VIRTIO_NET_HDR_SIZE + length;
      stats.rxFrames++;
      stats.rxBytes += length;
    }
    q.pushUsed(chain.head, written);
    this.signalQueue(q);
    this.onEvent();
  }

  protected readDeviceConfig(offset: number, size: 1 | 2 | 4): number {
    let value = 0;
    for (let i = 0; i < size; i++) value |= this.configByte(offset + i) << (8 * i);
    return size === 4 ? value | 0 : value;
  }

  protected onReset(): void {
    // The MAC and the link state belong to the host side; counters keep counting.
  }

  protected onNotify(index: number): void {
    if (index === TRANSMITQ) this.transmit();
    // New receive buffers: frames are not held back for them, so there is nothing to do.
  }

  private configByte(at: number): number {
    if (at < 6) return this.mac[at];
    if (at === CONFIG_STATUS) return this.linkUp ? VIRTIO_NET_S_LINK_UP : 0;
    if (at < CONFIG_SIZE) return 0;
    return 0xff;
  }

  private transmit(): void {
    const q = this.queues[TRANSMITQ];
    const chain = this.chain;
    const stats = this.stats;
    for (;;) {
      const r = q.pop(chain);
      if (r === QUEUE_EMPTY) break;
      if (r !== QueueFault.NONE) {
        stats.txErrors++;
        this.queueFault(TRANSMITQ, r);
        return;
      }
      const length = chain.readableBytes - VIRTIO_NET_HDR_SIZE;
      if (chain.fault !== BufferFault.NONE || length < NET_MIN_FRAME || length > NET_MAX_FRAME) {
        stats.txErrors++;
      } else if (this.linkUp) {
        chain.gather(this.mem, VIRTIO_NET_HDR_SIZE, this.txFrame, 0, length);
        if (this.link.send(this.txFrame.subarray(0, length))) {
          stats.txFrames++;
          stats.txBytes += length;
        } else {
          stats.txRefused++;
        }
      } else {
        stats.txRefused++;
      }
      q.pushUsed(chain.head, 0);
    }
    this.signalQueue(q);
  }
}
