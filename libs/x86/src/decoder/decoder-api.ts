import type { Bitness, DecodeStatus } from './decode-status.js';
import type { Instruction } from './instruction.js';

/**
 * The decode entry point the scanner and the CPU are written against.
 *
 * `decode` reads the instruction that starts at `bytes[offset]`, never reading at or beyond `end`
 * (e.g. the end of a guest page), fills `out` and returns a status. `ip` is the address of
 * `bytes[offset]` (for branch targets); `bitness` is the default operand/address size of the code segment.
 * It allocates nothing and throws nothing for any byte values.
 */
export interface InstructionDecoder {
  decode(bytes: Uint8Array, offset: number, end: number, ip: number, bitness: Bitness, out: Instruction): DecodeStatus;
}
