import { describe, expect, it } from 'vitest';
import { Decoder, DecodeStatus, Instruction } from '../src/index.js';
import { busyboxText } from './support/busybox.js';
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

const hexOf = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');

describe('decoder against iced-x86 on busybox-static:i386 .text', () => {
  it('decodes the whole .text like iced (linear sweep, 32-bit)', async () => {
    const text = await busyboxText();
    const bytes = text.bytes;
    expect(bytes.length).toBeGreaterThan(100_000);
    const iced = new IcedDecoder(32, bytes, DecoderOptions.None);
    const icedIns = new IcedInstruction();
    const decoder = new Decoder();
    const ins = new Instruction();
    const comparer = new FastComparer();
    const explained = new Map<string, number>();
    const unexplained: string[] = [];
    let instructions = 0;
    let invalid = 0;
    let lengthMismatches = 0;
    try {
      for (let pos = 0; pos < bytes.length;) {
        const ip = text.address + pos;
        iced.position = pos;
        iced.ip = BigInt(ip);
        iced.decodeOut(icedIns);
        const status = decoder.decode(bytes, pos, bytes.length, ip, 32, ins);
        const ok = status === DecodeStatus.Ok;
        instructions++;
        if (!ok) invalid++;
        if (ok && icedIns.code !== 0 && ins.length !== icedIns.length) lengthMismatches++;
        if (!comparer.same(ins, ok, icedIns)) {
          const ours = describeOurs(ins, ok);
          const theirs = describeIced(icedIns, 32, ins.addressSize === 32);
          const c: DiffCase = {
            bytes: hexOf(bytes.subarray(pos, pos + Math.max(ours.length, theirs.length, 1))),
            ours,
            iced: theirs,
            icedOutsideModel: theirs.valid ? outsideModel(icedIns) : [],
          };
          const why = explain(c);
          if (why) explained.set(why.name, (explained.get(why.name) ?? 0) + 1);
          else if (unexplained.length < 25)
            unexplained.push(
              `${ip.toString(16)} ${c.bytes}: ours ${ours.mnemonic} ${ours.operands.join(', ')} len ${ours.length}` +
                ` / iced ${theirs.mnemonic} ${theirs.operands.join(', ')} len ${theirs.length}`,
            );
        }
        pos += ok ? ins.length : 1;
      }
    } finally {
      icedIns.free();
      iced.free();
    }
    console.log(
      `busybox .text: ${bytes.length} bytes, ${instructions} instructions (${invalid} undecodable bytes), ` +
        `named exceptions: ${JSON.stringify(Object.fromEntries(explained))}`,
    );
    expect(unexplained).toEqual([]);
    expect(lengthMismatches).toBe(0);
  }, 300_000);
});
