/**
 * The serial port (COM1, Linux's ttyS0) as a console on the bus, like the virtio console: what the
 * guest transmits is collected and published once per run-loop slice (not per byte), and typed
 * input reaches the UART's receive FIFO through ConsoleService with the UART's flow control.
 */

import type { Bus, BusService } from '@plex86/bus';
import type { Machine } from '../machine/machine.js';
import { serveConsoleInput } from './input-service.js';
import { ConsoleOutputPublisher } from './output-publisher.js';

export class SerialConsole {
  readonly publisher: ConsoleOutputPublisher;
  private buffer = new Uint8Array(4096);
  private length = 0;

  constructor(
    bus: Bus,
    vm: string,
    readonly consoleId: string,
    private readonly machine: Machine,
  ) {
    this.publisher = new ConsoleOutputPublisher(bus, vm, consoleId, () => BigInt(Math.round(machine.clock.now())));
  }

  /** The UART's transmit sink. */
  readonly sink = (byte: number): void => {
    if (this.length === this.buffer.length) {
      const bigger = new Uint8Array(this.buffer.length * 2);
      bigger.set(this.buffer);
      this.buffer = bigger;
    }
    this.buffer[this.length++] = byte;
  };

  /** Publishes what was transmitted since the last flush. */
  flush(): void {
    if (this.length === 0) return;
    this.publisher.publish(this.buffer.subarray(0, this.length));
    this.length = 0;
  }

  queueInput(data: Uint8Array): number {
    return this.machine.serialInput(data);
  }

  serveInput(bus: Bus, vm: string): Promise<BusService> {
    return serveConsoleInput(bus, vm, this, 'uart');
  }
}
