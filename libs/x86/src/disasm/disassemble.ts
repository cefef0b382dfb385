/** Linear-sweep disassembly into objdump-style lines. */
import { CodeAttr } from '../decoder/attributes.js';
import { DecodeStatus, type Bitness } from '../decoder/decode-status.js';
import { decodeInstruction } from '../decoder/decoder.js';
import { Instruction } from '../decoder/instruction.js';
import { MNEMONIC_NAMES } from '../generated/mnemonic.js';
import { formatIntel, WAIT_FORMS } from './format-intel.js';

export interface DisassemblyLine {
  /** Address of the first byte (base + offset). */
  readonly address: number;
  /** Offset of the first byte in the input. */
  readonly offset: number;
  readonly length: number;
  /** Intel-syntax text, `(bad)` for an undecodable byte. */
  readonly text: string;
}

/**
 * Disassembles `bytes` from the first byte to the last, one line per instruction. An undecodable byte
 * (invalid, too long or cut off by the end of the input) gives a `(bad)` line and the sweep moves on by
 * one byte, as objdump does. Like objdump, an FWAIT followed by an x87 instruction is shown as one
 * waiting instruction (`9b df e0` is `fstsw ax`).
 */
export function* disassemble(bytes: Uint8Array, base: number, bitness: Bitness): Generator<DisassemblyLine> {
  const ins = new Instruction();
  const next = new Instruction();
  const wrap = bitness === 16 ? 0xffff : 0xffffffff;
  let offset = 0;
  while (offset < bytes.length) {
    const address = base + offset;
    const status = decodeInstruction(bytes, offset, bytes.length, (address & wrap) >>> 0, bitness, ins);
    if (status !== DecodeStatus.Ok) {
      yield { address, offset, length: 1, text: '(bad)' };
      offset += 1;
      continue;
    }
    if (MNEMONIC_NAMES[ins.mnemonic] === 'wait' && ins.prefixes === 0) {
      const after = offset + ins.length;
      const nextStatus = decodeInstruction(
        bytes,
        after,
        bytes.length,
        ((address + ins.length) & wrap) >>> 0,
        bitness,
        next,
      );
      if (nextStatus === DecodeStatus.Ok && (next.attributes & CodeAttr.X87) !== 0) {
        const text = formatIntel(next, WAIT_FORMS[MNEMONIC_NAMES[next.mnemonic] ?? '']);
        yield { address, offset, length: ins.length + next.length, text };
        offset = after + next.length;
        continue;
      }
      yield { address, offset, length: ins.length, text: 'fwait' };
      offset += ins.length;
      continue;
    }
    yield { address, offset, length: ins.length, text: formatIntel(ins) };
    offset += ins.length;
  }
}

/** `ADDRESS<TAB>BYTES<TAB>TEXT`: lower-case hex address without 0x, bytes as two-digit hex separated by spaces. */
export function formatLine(line: DisassemblyLine, bytes: Uint8Array): string {
  const hexBytes = Array.from(bytes.subarray(line.offset, line.offset + line.length), (b) =>
    b.toString(16).padStart(2, '0'),
  ).join(' ');
  return `${(line.address >>> 0).toString(16)}\t${hexBytes}\t${line.text}`;
}
