/**
 * Publishes what the guest writes to a console as ConsoleOutput chunks on
 * plex86.<vm>.console.<id>.out, with sequence numbers from 1 so subscribers see gaps. Shared by
 * the virtio console and the serial port.
 */

import { vmSubject, type Bus } from '@plex86/bus';
import { ConsoleOutput } from '@plex86/proto';

/** Largest ConsoleOutput chunk. */
export const CONSOLE_OUTPUT_CHUNK = 65536;

export class ConsoleOutputPublisher {
  /** Bytes published. */
  bytesOut = 0;
  readonly subject: string;
  private sequence = 0n;

  constructor(
    private readonly bus: Bus,
    vm: string,
    readonly consoleId: string,
    /** Virtual time in nanoseconds since the VM started, stamped on each chunk. */
    private readonly clock: () => bigint = () => 0n,
  ) {
    this.subject = vmSubject(vm, 'console', consoleId, 'out');
  }

  /** Publishes `data` (copied), cut into chunks of at most CONSOLE_OUTPUT_CHUNK bytes. */
  publish(data: Uint8Array): void {
    for (let at = 0; at < data.length; at += CONSOLE_OUTPUT_CHUNK) {
      const part = data.subarray(at, Math.min(data.length, at + CONSOLE_OUTPUT_CHUNK));
      this.bytesOut += part.length;
      const message = ConsoleOutput.encode({
        consoleId: this.consoleId,
        sequence: ++this.sequence,
        data: part,
        virtualTimeNs: this.clock(),
      }).finish();
      this.bus.publish(this.subject, message, { type: 'plex86.v1.ConsoleOutput' });
    }
  }
}
