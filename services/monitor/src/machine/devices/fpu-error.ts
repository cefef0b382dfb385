/**
 * The PC/AT coprocessor-error port F0h. With CR0.NE=0 an x87 error asserts FERR#, which a PC routes
 * to IRQ13; the interrupt handler writes F0h, which makes the chipset assert IGNNE# so the waiting
 * x87 instruction can complete. IGNNE# stays asserted until FERR# goes away (FNCLEX, FNINIT); the
 * CPU drops it then (exec/x87.ts). The IRQ13 side is `Cpu.onFerr`, for an interrupt controller.
 */

import type { Cpu } from '../../cpu/cpu.js';
import type { PortSpace } from '../../io/port-space.js';

export const FPU_ERROR_PORT = 0xf0;

export function attachFpuErrorPort(io: PortSpace, cpu: Cpu): void {
  const write = (): void => {
    if (cpu.fpu.ferr) cpu.ignne = true;
  };
  io.register(FPU_ERROR_PORT, 1, 'fpu-error@f0', { write8: write, write16: write, write32: write, read8: () => 0xff });
}
