/**
 * QEMU's isa-debug-exit convention: writing v to the port ends the run with status (v << 1) | 1, so
 * a test program can report success or failure as an exit status that is never 0.
 */

import type { PortSpace } from '../../io/port-space.js';

export function attachExitPort(io: PortSpace, port: number, exit: (status: number) => void): void {
  const write = (_port: number, value: number): void => exit(((value << 1) | 1) >>> 0);
  io.register(port, 1, `exit@${port.toString(16)}`, { write8: write, write16: write, write32: write });
}
