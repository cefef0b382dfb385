import { describe, expect, it } from 'vitest';
import { DecodeStatus } from './decode-status.js';
import { decodeGeneral } from './decoder.js';
import { Instruction } from './instruction.js';
import { OpKind } from './op-kind.js';
import { PRIMING_SAMPLES, sampleBytes } from './priming.js';

/** The samples that are meant to be invalid (LOCK where it is not allowed, undefined opcodes). */
const INVALID = new Set(['f0 90', 'f0 01 c0', '0f 04', 'ff ff']);

describe('priming samples', () => {
  it('are one instruction each, valid unless meant to be invalid', () => {
    const ins = new Instruction();
    const wrong = PRIMING_SAMPLES.filter(([bitness, hex]) => {
      const status = decodeGeneral(sampleBytes(hex), 0, 32, 0x1000, bitness, ins);
      if (INVALID.has(hex)) return status !== DecodeStatus.Invalid;
      return status !== DecodeStatus.Ok || ins.length !== (hex.length + 1) / 3;
    });
    expect(wrong).toEqual([]);
  });

  it('cover every operand kind in 16- and 32-bit code', () => {
    const ins = new Instruction();
    const seen = new Set<string>();
    for (const [bitness, hex] of PRIMING_SAMPLES) {
      decodeGeneral(sampleBytes(hex), 0, 32, 0x1000, bitness, ins);
      for (let n = 0; n < ins.opCount; n++) seen.add(OpKind[ins.opKind(n)] as string);
    }
    const kinds = Object.keys(OpKind).filter((k) => Number.isNaN(Number(k)) && k !== 'None');
    expect(kinds.filter((k) => !seen.has(k))).toEqual([]);
    expect(new Set(PRIMING_SAMPLES.map(([bitness]) => bitness))).toEqual(new Set([16, 32]));
  });
});
