/**
 * The serial port (COM1, Linux's ttyS0) as a console on the bus, like the virtio console: what the
 * guest transmits is collected and published once per run-loop slice (not per byte), and typed
 * input reaches the UART's receive FIFO through ConsoleService with the UART's flow control.
 */

import type { Bus, BusService } from '@plex86/bus';
import { ByteOutput } from '../machine/devices/byte-output.js';
import type { Machine } from '../machine/machine.js';
import { serveConsoleInput } from './input-service.js';
import { ConsoleOutputPublisher } from './output-publisher.js';

export class SerialConsole {
  readonly publisher: ConsoleOutputPublisher;
  /** The UART's transmit side: give `output.sink` to the UART; the run loop flushes it each slice. */
  readonly output: ByteOutput;

  constructor(
    bus: Bus,
    vm: string,
    readonly consoleId: string,
    private readonly machine: Machine,
  ) {
    this.publisher = new ConsoleOutputPublisher(bus, vm, consoleId, () => BigInt(Math.round(machine.clock.now())));
    this.output = new ByteOutput((data) => this.publisher.publish(data));
  }

  queueInput(data: Uint8Array): number {
    return this.machine.serialInput(data);
  }

  serveInput(bus: Bus, vm: string): Promise<BusService> {
    return serveConsoleInput(bus, vm, this, 'uart');
  }
}
