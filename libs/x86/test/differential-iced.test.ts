import { describe, expect, it } from 'vitest';
import { Decoder, DecodeStatus, Instruction, type Bitness } from '../src/index.js';
import { explain, type DiffCase } from './support/exceptions.js';
import {
  DecoderOptions,
  describeIced,
  describeOurs,
  FastComparer,
  IcedDecoder,
  IcedInstruction,
  outsideModel,
} from './support/iced-oracle.js';
import { xorshift32 } from '../src/testing/index.js';

const RECORDS = 1_000_000;
const RECORD = 16;
const IP = 0x1000;

/**
 * Leading bytes forced on every other record so that the two- and three-byte maps, x87 and the prefix
 * rules are hit often; the rest of each record is random.
 */
const LEADS: readonly number[][] = [
  [0x0f],
  [0x66, 0x0f],
  [0xf3, 0x0f],
  [0xf2, 0x0f],
  [0x0f, 0x38],
  [0x66, 0x0f, 0x38],
  [0xf2, 0x0f, 0x38],
  [0x0f, 0x3a],
  [0x66, 0x0f, 0x3a],
  [0xd8],
  [0xd9],
  [0xda],
  [0xdb],
  [0xdc],
  [0xdd],
  [0xde],
  [0xdf],
  [0xf0],
  [0x66],
  [0x67],
  [0xf3],
  [0xf2],
  [0x26],
  [0x64],
];

function randomRecords(seed: number): Uint8Array {
  const next = xorshift32(seed);
  const buf = new Uint8Array(RECORDS * RECORD);
  for (let i = 0; i < buf.length; i += 4) {
    const r = next();
    buf[i] = r;
    buf[i + 1] = r >>> 8;
    buf[i + 2] = r >>> 16;
    buf[i + 3] = r >>> 24;
  }
  for (let rec = 1; rec < RECORDS; rec += 2) {
    const lead = LEADS[next() % LEADS.length] as number[];
    buf.set(lead, rec * RECORD);
  }
  return buf;
}

const hexOf = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');

describe.each([16, 32] as const)('decoder against iced-x86, %i-bit code', (bitness: Bitness) => {
  it(`agrees on ${RECORDS.toLocaleString('en')} random buffers (seeded)`, () => {
    const buf = randomRecords(bitness === 16 ? 0x1612 : 0x3217);
    const iced = new IcedDecoder(bitness, buf, DecoderOptions.None);
    const icedIns = new IcedInstruction();
    const decoder = new Decoder();
    const ins = new Instruction();
    const comparer = new FastComparer();
    const ip = BigInt(IP);
    const explained = new Map<string, number>();
    const unexplained: string[] = [];
    let bothValid = 0;
    let lengthMismatches = 0;
    let inModel = 0;
    let inModelAgree = 0;
    let needMore = 0;
    try {
      for (let rec = 0; rec < RECORDS; rec++) {
        const offset = rec * RECORD;
        iced.position = offset;
        iced.ip = ip;
        iced.decodeOut(icedIns);
        const status = decoder.decode(buf, offset, offset + RECORD, IP, bitness, ins);
        const ok = status === DecodeStatus.Ok;
        if (status === DecodeStatus.NeedMoreBytes) needMore++;
        const icedValid = icedIns.code !== 0;
        if (ok && icedValid) {
          bothValid++;
          if (ins.length !== icedIns.length) lengthMismatches++;
        }
        const outside = icedValid ? outsideModel(icedIns) : [];
        if (outside.length === 0) inModel++;
        if (comparer.same(ins, ok, icedIns)) {
          if (outside.length === 0) inModelAgree++;
          continue;
        }
        const ours = describeOurs(ins, ok);
        const theirs = describeIced(icedIns, bitness, ins.addressSize === 32);
        const length = Math.max(theirs.valid ? theirs.length : 0, ours.length, 1);
        const c: DiffCase = {
          bytes: hexOf(buf.subarray(offset, offset + length)),
          ours,
          iced: theirs,
          icedOutsideModel: outside,
        };
        const why = explain(c);
        if (why) {
          explained.set(why.name, (explained.get(why.name) ?? 0) + 1);
        } else if (unexplained.length < 25) {
          unexplained.push(
            `${c.bytes}: ours ${ours.valid ? `${ours.mnemonic} ${ours.operands.join(', ')} {${ours.prefixes}} len ${ours.length}` : 'invalid'}` +
              ` / iced ${theirs.valid ? `${theirs.mnemonic} ${theirs.operands.join(', ')} {${theirs.prefixes}} len ${theirs.length}` : 'invalid'}`,
          );
        } else {
          unexplained.push('');
        }
      }
    } finally {
      icedIns.free();
      iced.free();
    }
    const agreement = inModelAgree / inModel;
    console.log(
      `${bitness}-bit: ${RECORDS} buffers, ${bothValid} decoded by both (length mismatches: ${lengthMismatches}), ` +
        `in-model agreement ${(agreement * 100).toFixed(4)}% (${inModel - inModelAgree} differences), ` +
        `named exceptions: ${JSON.stringify(Object.fromEntries(explained))}`,
    );
    expect(unexplained.filter(Boolean), `${unexplained.length} unexplained differences`).toEqual([]);
    expect(lengthMismatches).toBe(0);
    // 16 bytes always hold a complete instruction or prove it longer than 15.
    expect(needMore).toBe(0);
    expect(agreement).toBeGreaterThanOrEqual(0.999);
  }, 240_000);
});
