/**
 * virtio-console front-end (virtio 1.x §5.3) with port 0 only (no MULTIPORT): receiveq 0 carries
 * input to the guest, transmitq 1 output from it. Linux names the port hvc0.
 *
 * Output is published as ConsoleOutput on plex86.<vm>.console.<id>.out, one message per transmit
 * buffer (cut at 64 KiB), with sequence numbers from 1. Input arrives through WriteConsoleInput
 * (served by serveConsoleInput) into a 4096-byte buffer and is handed to the guest as it posts
 * receive buffers.
 */

import type { Bus, BusService } from '@plex86/bus';
import { serveConsoleInput } from '../console/input-service.js';
import { CONSOLE_OUTPUT_CHUNK, ConsoleOutputPublisher } from '../console/output-publisher.js';
import type { PhysicalMemory } from '../memory/physical-memory.js';
import { VirtioDeviceType, VirtioPciDevice } from './pci-transport.js';
import type { StateReader, StateWriter } from '../snapshot/state.js';
import { BufferFault, QUEUE_EMPTY, QueueFault } from './virtqueue.js';

export const CONSOLE_INPUT_BUFFER = 4096;
/** Largest transmit buffer taken from the guest; bigger ones are dropped (Linux sends at most a page). */
export const CONSOLE_MAX_TRANSMIT = 1 << 20;
const RECEIVEQ = 0;
const TRANSMITQ = 1;
const CONFIG_SIZE = 12;
const DEFAULT_QUEUE_SIZE = 64;

export interface VirtioConsoleOptions {
  bus: Bus;
  vm: string;
  /** Console id: output goes to plex86.<vm>.console.<id>.out. */
  consoleId: string;
  /** Called when input reached the guest from outside the CPU's own I/O (wakes a halted CPU). */
  onEvent?: () => void;
  /** Virtual time in nanoseconds since the VM started, stamped on output. */
  virtualTimeNs?: () => bigint;
  queueSize?: number;
}

export class VirtioConsole extends VirtioPciDevice {
  readonly consoleId: string;
  /** Bytes published. */
  get bytesOut(): number {
    return this.output.bytesOut;
  }
  /** Bytes handed to the guest. */
  bytesIn = 0;
  /** Transmit buffers dropped because they were unusable or too large. */
  droppedTransmits = 0;
  private readonly input = new Uint8Array(CONSOLE_INPUT_BUFFER);
  private inputStart = 0;
  private inputLength = 0;
  private readonly chunk = new Uint8Array(CONSOLE_OUTPUT_CHUNK);
  private readonly output: ConsoleOutputPublisher;
  private readonly onEvent: () => void;

  constructor(mem: PhysicalMemory, options: VirtioConsoleOptions) {
    const queueSize = options.queueSize ?? DEFAULT_QUEUE_SIZE;
    super(`virtio-console ${options.consoleId}`, mem, {
      type: VirtioDeviceType.CONSOLE,
      classCode: 0x078000,
      queueSizes: [queueSize, queueSize],
      features: 0,
      configSize: CONFIG_SIZE,
    });
    this.consoleId = options.consoleId;
    this.output = new ConsoleOutputPublisher(options.bus, options.vm, options.consoleId, options.virtualTimeNs);
    this.onEvent = options.onEvent ?? (() => undefined);
  }

  /** Output never waits on a reply; input waits in the buffer, which a halted guest cannot drain. */
  get busy(): boolean {
    return false;
  }

  /** Input the guest has not taken yet, and counters. */
  protected override saveDeviceState(w: StateWriter): void {
    const pending = new Uint8Array(this.inputLength);
    for (let i = 0; i < this.inputLength; i++) pending[i] = this.input[(this.inputStart + i) % CONSOLE_INPUT_BUFFER];
    w.bytes('input', pending);
    w.number('bytesIn', this.bytesIn);
    w.number('droppedTransmits', this.droppedTransmits);
  }

  protected override loadDeviceState(r: StateReader): void {
    const pending = r.bytes('input', CONSOLE_INPUT_BUFFER);
    this.input.set(pending);
    this.inputStart = 0;
    this.inputLength = pending.length;
    this.bytesIn = r.int('bytesIn', 0, Number.MAX_SAFE_INTEGER);
    this.droppedTransmits = r.int('droppedTransmits', 0, Number.MAX_SAFE_INTEGER);
  }

  /** Bytes waiting for the guest to post receive buffers. */
  get pendingInput(): number {
    return this.inputLength;
  }

  /** Queues input for the guest; returns how many bytes fit in the buffer. */
  queueInput(data: Uint8Array): number {
    const n = Math.min(data.length, CONSOLE_INPUT_BUFFER - this.inputLength);
    let at = (this.inputStart + this.inputLength) % CONSOLE_INPUT_BUFFER;
    let done = 0;
    while (done < n) {
      const part = Math.min(n - done, CONSOLE_INPUT_BUFFER - at);
      this.input.set(data.subarray(done, done + part), at);
      done += part;
      at = 0;
    }
    this.inputLength += n;
    if (n > 0 && this.deliver()) this.onEvent();
    return n;
  }

  protected readDeviceConfig(offset: number, size: 1 | 2 | 4): number {
    // cols, rows, max_nr_ports and emerg_wr are meaningful only with features we do not offer.
    if (offset + size > CONFIG_SIZE) return size === 4 ? -1 : size === 2 ? 0xffff : 0xff;
    return 0;
  }

  protected onReset(): void {
    // Input typed before the driver came back is kept for it.
  }

  protected override onDriverOk(): void {
    this.deliver();
  }

  protected onNotify(index: number): void {
    if (index === TRANSMITQ) this.transmit();
    else if (index === RECEIVEQ) this.deliver();
  }

  private transmit(): void {
    const q = this.queues[TRANSMITQ];
    const chain = this.chain;
    for (;;) {
      const r = q.pop(chain);
      if (r === QUEUE_EMPTY) break;
      if (r !== QueueFault.NONE) {
        this.queueFault(TRANSMITQ, r);
        return;
      }
      const total = chain.readableBytes;
      if (chain.fault !== BufferFault.NONE || total > CONSOLE_MAX_TRANSMIT) {
        this.droppedTransmits++;
      } else {
        for (let done = 0; done < total;) {
          const n = Math.min(CONSOLE_OUTPUT_CHUNK, total - done);
          chain.gather(this.mem, done, this.chunk, 0, n);
          this.output.publish(this.chunk.subarray(0, n));
          done += n;
        }
      }
      q.pushUsed(chain.head, 0);
    }
    this.signalQueue(q);
  }

  /** Fills posted receive buffers from the input buffer; returns whether any bytes went to the guest. */
  private deliver(): boolean {
    if (!this.driverOk || this.inputLength === 0) return false;
    const q = this.queues[RECEIVEQ];
    const chain = this.chain;
    let moved = false;
    while (this.inputLength > 0) {
      const r = q.pop(chain);
      if (r === QUEUE_EMPTY) break;
      if (r !== QueueFault.NONE) {
        this.queueFault(RECEIVEQ, r);
        return moved;
      }
      let n = 0;
      if (chain.fault === BufferFault.NONE) {
        n = Math.min(this.inputLength, chain.writableBytes);
        const first = Math.min(n, CONSOLE_INPUT_BUFFER - this.inputStart);
        chain.scatter(this.mem, 0, this.input, this.inputStart, first);
        if (n > first) chain.scatter(this.mem, first, this.input, 0, n - first);
        this.inputStart = (this.inputStart + n) % CONSOLE_INPUT_BUFFER;
        this.inputLength -= n;
        this.bytesIn += n;
      }
      q.pushUsed(chain.head, n);
      moved = true;
    }
    if (moved) this.signalQueue(q);
    return moved;
  }
}

/** Serves ConsoleService.WriteConsoleInput for a virtio console on plex86.<vm>.console.<id>. */
export function serveVirtioConsoleInput(bus: Bus, vm: string, console: VirtioConsole): Promise<BusService> {
  return serveConsoleInput(bus, vm, console, 'virtio');
}
