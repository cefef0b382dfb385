/** Result of one decode call. Nothing but programming errors is thrown; every property of the bytes is a status. */
export enum DecodeStatus {
  /** A valid instruction; the record describes it. */
  Ok = 0,
  /** Undefined or invalid encoding (the CPU raises #UD); `length` is the number of bytes examined. */
  Invalid = 1,
  /** The bytes end before the instruction does (e.g. at a page end); supply more and decode again. */
  NeedMoreBytes = 2,
  /** The instruction would be longer than 15 bytes (the CPU raises #GP(0)). */
  TooLong = 3,
}

/** Longest legal IA-32 instruction, in bytes. */
export const MAX_INSTRUCTION_LENGTH = 15;

/** Code size of the segment the bytes are decoded in. */
export type Bitness = 16 | 32;
