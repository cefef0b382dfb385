import { describe, expect, it } from 'vitest';
import type { Bitness } from './decode-status.js';
import { decodeGeneral, decodeInstruction } from './decoder.js';
import { Instruction } from './instruction.js';
import { xorshift32 } from '../testing/random.js';

/** Every field of the record, so the comparison also covers fields a decode leaves unchanged. */
const FIELDS = Object.keys(new Instruction()) as (keyof Instruction)[];

/**
 * Bytes that reach the fast path often and leave it at every exit: every prefix (a lone 66 or segment override
 * stays on the fast path, others and repeats leave it), 0F, 0F 38, groups, ModRM/SIB forms, SSE opcodes that
 * take 66 as part of the opcode.
 */
const INTERESTING = [
  0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x0f, 0x38, 0x3a, 0x80, 0x83, 0xc1, 0xf6, 0xf7,
  0xff, 0xc7, 0x8b, 0x89, 0x8d, 0xe8, 0xe9, 0xeb, 0x74, 0x04, 0x05, 0x44, 0x84, 0x24, 0xa1, 0xa5, 0xc8, 0xd9, 0x90,
  0x6f, 0x74, 0xd7, 0xc7,
];

function buffer(next: () => number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    const r = next();
    bytes[i] = (r & 3) === 0 ? (INTERESTING[(r >>> 8) % INTERESTING.length] as number) : r >>> 24;
  }
  return bytes;
}

/** A record whose every field holds a value no decode produces, to see which fields a decode writes. */
function poisoned(): Instruction {
  const ins = new Instruction();
  for (const field of FIELDS) (ins as unknown as Record<string, number>)[field] = 0x5a5a;
  return ins;
}

describe('fast path', () => {
  it("gives the general decoder's record for every opcode and ModRM byte, with no prefix, 66 or a segment override", () => {
    const fast = new Instruction();
    const general = new Instruction();
    // Prefix, opcode (0F and a second byte), ModRM, then SIB, displacement and immediate bytes with high bits set.
    const bytes = new Uint8Array(24).fill(0x90);
    const tail = [0x8c, 0x81, 0x92, 0xa3, 0xb4, 0xc5, 0xd6, 0xe7, 0xf8, 0x89, 0x9a];
    const wrong: string[] = [];
    for (const bitness of [32, 16] as Bitness[]) {
      for (const prefix of [-1, 0x66, 0x65]) {
        for (let opcode = 0; opcode < 0x200; opcode++) {
          for (let modrm = 0; modrm < 256; modrm++) {
            let n = 0;
            if (prefix >= 0) bytes[n++] = prefix;
            if (opcode >= 0x100) bytes[n++] = 0x0f;
            bytes[n++] = opcode & 0xff;
            bytes[n++] = modrm;
            bytes.set(tail, n);
            const fastStatus = decodeInstruction(bytes, 0, bytes.length, 0x8000fff0, bitness, fast);
            const generalStatus = decodeGeneral(bytes, 0, bytes.length, 0x8000fff0, bitness, general);
            const differing = FIELDS.filter((field) => fast[field] !== general[field]);
            if ((fastStatus !== generalStatus || differing.length > 0) && wrong.length < 5) {
              const hex = [...bytes.subarray(0, n)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
              wrong.push(
                `${bitness}-bit ${hex}: status ${fastStatus} vs ${generalStatus}, fields ${differing.join(', ')}`,
              );
            }
            general.copyFrom(fast);
          }
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  for (const bitness of [32, 16] as Bitness[]) {
    it(`gives the general decoder's status and record at every offset and end (${bitness}-bit)`, () => {
      const next = xorshift32(0x2545f491 + bitness);
      const bytes = buffer(next, 200_000);
      const fast = new Instruction();
      const general = new Instruction();
      let mismatches = 0;
      let first = '';
      for (let offset = 0; offset < bytes.length; offset++) {
        // Mostly the whole buffer, sometimes an end a few bytes on, so instructions also end early.
        const end = (next() & 7) === 0 ? offset + (next() % 16) : bytes.length;
        const ip = (next() & 1) === 0 ? 0xfff0 + offset : 0xfffffff0 + offset;
        if ((offset & 1023) === 0) {
          fast.copyFrom(poisoned());
          general.copyFrom(fast);
        }
        const fastStatus = decodeInstruction(bytes, offset, end, ip, bitness, fast);
        const generalStatus = decodeGeneral(bytes, offset, end, ip, bitness, general);
        const differing = FIELDS.filter((field) => fast[field] !== general[field]);
        if (fastStatus !== generalStatus || differing.length > 0) {
          if (mismatches++ === 0) {
            const hex = [...bytes.subarray(offset, offset + 15)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
            first = `${hex} (end ${end - offset}): status ${fastStatus} vs ${generalStatus}, fields ${differing.join(', ')}`;
          }
          general.copyFrom(fast);
        }
      }
      expect(first).toBe('');
      expect(mismatches).toBe(0);
    });
  }
});
