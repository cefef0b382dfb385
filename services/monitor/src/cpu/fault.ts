/** Exception vectors (SDM vol. 3, table 6-1). */
export const enum Vector {
  DE = 0,
  DB = 1,
  NMI = 2,
  BP = 3,
  OF = 4,
  BR = 5,
  UD = 6,
  NM = 7,
  DF = 8,
  TS = 10,
  NP = 11,
  SS = 12,
  GP = 13,
  PF = 14,
  MF = 16,
  AC = 17,
  MC = 18,
}

export const VECTOR_NAMES: readonly string[] = [
  '#DE',
  '#DB',
  'NMI',
  '#BP',
  '#OF',
  '#BR',
  '#UD',
  '#NM',
  '#DF',
  'vector 9',
  '#TS',
  '#NP',
  '#SS',
  '#GP',
  '#PF',
  'vector 15',
  '#MF',
  '#AC',
  '#MC',
];

/** Vectors that push an error code. */
export function hasErrorCode(vector: number): boolean {
  return vector === 8 || (vector >= 10 && vector <= 14) || vector === 17;
}

/**
 * Thrown (one shared instance, so raising allocates nothing) to unwind an instruction that faults.
 * The vector and error code are in the CPU's `fault*` fields; the run loop catches it, rolls EIP back
 * to the faulting instruction and delivers the exception.
 */
export class CpuFault {
  readonly name = 'CpuFault';
}

export const CPU_FAULT = new CpuFault();

/** A triple fault or another condition that stops the virtual CPU (the machine shuts down). */
export class CpuShutdown extends Error {
  override readonly name = 'CpuShutdown';
}
