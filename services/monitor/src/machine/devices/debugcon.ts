/**
 * The Bochs/QEMU debug console: every byte written to its port is output; reading the port returns
 * 0xE9, which is how guests detect it.
 */

import type { PortSpace } from '../../io/port-space.js';

export type ByteSink = (byte: number) => void;

export const DEFAULT_DEBUGCON_PORT = 0xe9;

export function attachDebugcon(io: PortSpace, port: number, sink: ByteSink): void {
  io.register(port, 1, `debugcon@${port.toString(16)}`, {
    read8: () => 0xe9,
    write8: (_port, value) => sink(value),
  });
}
