import { describe, expect, it } from 'vitest';
import { CodeAttr } from '../decoder/attributes.js';
import { DecodeStatus, type Bitness } from '../decoder/decode-status.js';
import type { InstructionDecoder } from '../decoder/decoder-api.js';
import type { Instruction } from '../decoder/instruction.js';
import { ByteAttr, newAttributePage } from './attribute-page.js';
import { BlockEnd } from './block.js';
import { CodeMode, PAGE_SIZE } from './constants.js';
import { InstructionPool } from './instruction-pool.js';
import { PageScanner, ScanResult } from './page-scanner.js';

/**
 * A one-byte-per-instruction decoder whose byte value is the attribute word's low byte shifted into
 * place, to drive the scanner through combinations the real instruction table does not have
 * (e.g. a serializing instruction that is neither sensitive nor a control transfer).
 */
class ByteDecoder implements InstructionDecoder {
  readonly ends: number[] = [];

  decode(bytes: Uint8Array, offset: number, end: number, ip: number, bitness: Bitness, out: Instruction): DecodeStatus {
    this.ends.push(end);
    out.ip = ip;
    out.bitness = bitness;
    if (offset >= end) {
      out.length = 1;
      return DecodeStatus.NeedMoreBytes;
    }
    const b = bytes[offset] as number;
    out.length = 1;
    out.code = b;
    out.attributes = b === 0x53 ? CodeAttr.SERIALIZING : b === 0x57 ? CodeAttr.WRITES_MEMORY : 0;
    return b === 0xff ? DecodeStatus.TooLong : DecodeStatus.Ok;
  }
}

function scanner(memory: Uint8Array, max = 64): { decoder: ByteDecoder; scanner: PageScanner } {
  const decoder = new ByteDecoder();
  return { decoder, scanner: new PageScanner(decoder, memory, new InstructionPool(), null, max) };
}

describe('PageScanner', () => {
  it('ends a block after a serializing instruction and notes memory writes before it', () => {
    const memory = new Uint8Array(2 * PAGE_SIZE);
    memory.set([0x01, 0x57, 0x53, 0x01], 0x100);
    const { scanner: s } = scanner(memory);
    const out = new ScanResult();
    s.scan(0x100, CodeMode.Bits32, 0x100, newAttributePage(), out);
    expect(out.count).toBe(3);
    expect(out.endReason).toBe(BlockEnd.Serializing);
    expect(out.writesMemory).toBe(true);
  });

  it('keeps a too-long record as the last one, and never lets the decoder read past the page', () => {
    const memory = new Uint8Array(2 * PAGE_SIZE);
    memory.set([0x01, 0xff], 0xffe);
    const { decoder, scanner: s } = scanner(memory);
    const out = new ScanResult();
    s.scan(0xffe, CodeMode.Bits16, 0x10, newAttributePage(), out);
    expect(out.count).toBe(2);
    expect(out.endReason).toBe(BlockEnd.TooLong);
    expect(decoder.ends.every((e) => e === PAGE_SIZE)).toBe(true);
  });

  it('stops at the instruction limit and in front of a breakpoint mark', () => {
    const memory = new Uint8Array(PAGE_SIZE);
    memory.fill(0x01);
    const { scanner: s } = scanner(memory, 8);
    const out = new ScanResult();
    const attrs = newAttributePage();
    s.scan(0, CodeMode.Bits32, 0, attrs, out);
    expect([out.count, out.endReason]).toEqual([8, BlockEnd.Limit]);
    attrs[5] = ByteAttr.BREAKPOINT;
    s.scan(0, CodeMode.Bits32, 0, attrs, out);
    expect([out.count, out.endReason, out.byteLength]).toEqual([5, BlockEnd.Breakpoint, 5]);
  });
});
