import type { Cpu } from '../../src/cpu/cpu.js';
import { CPU_FAULT } from '../../src/cpu/fault.js';

/** Runs `fn` and returns the vector of the exception it raised on `cpu`, or -1. */
export function vectorOf(cpu: Cpu, fn: () => void): number {
  try {
    fn();
    return -1;
  } catch (e) {
    if (e !== CPU_FAULT) throw e;
    return cpu.faultVector;
  }
}
