// The x87 through the whole CPU: the differential harness, assembled as a Multiboot image, runs
// inside a plex86 Machine (decoding, operand addressing, memory, FNSTSW AX, FCOMI's EFLAGS) and
// natively on the host; the results must be the same.

import { beforeAll, describe, expect, it } from 'vitest';
import { Machine } from '../../src/index.js';
import { Rng, describeInput, describeResult, makeRecord, probeHost, recordMask, type HostX87 } from './diff.js';
import { BARE_IN, BARE_OUT, buildBareHarness, buildHarness, RECORD_SIZE, runHarness } from './native.js';
import { allOps, nativeAsm } from './ops.js';

const OPS = allOps();
const TRANSCENDENTAL = /^(f2xm1|fyl2x|fyl2xp1|fptan|fpatan|fsin|fcos|fsincos)$/;
/** EFLAGS bits compared: CF, PF, AF, ZF, SF, OF (IF and the rest belong to the environment). */
const EFLAGS_MASK = [0xd5, 0x08, 0, 0];
let exe = '';
let image: Uint8Array = new Uint8Array(0);
let hostX87: HostX87 = { fopOnException: false, zeroSegments: false, vendor: 'intel' };

beforeAll(() => {
  const asm = OPS.map(nativeAsm);
  exe = buildHarness(asm);
  image = buildBareHarness(asm);
  hostX87 = probeHost(exe, OPS);
});

describe('x87 programs on the plex86 CPU', () => {
  it('give the host results for every x87 instruction form', async () => {
    const rng = new Rng(21);
    // FISTTP needs SSE3, which the modelled CPU does not have (it raises #UD).
    const chosen = OPS.map((op, index) => ({ op, index })).filter(({ op }) => !op.name.startsWith('fisttp'));
    const perOp = 12;
    const count = chosen.length * perOp;
    const input = new Uint8Array(count * RECORD_SIZE);
    let k = 0;
    for (const { op, index } of chosen) {
      for (let j = 0; j < perOp; j++, k++) makeRecord(rng, op, index, input, k * RECORD_SIZE, {});
    }
    const host = runHarness(exe, input);

    const machine = new Machine({ memory: 64 << 20 });
    machine.setExitPort(0xf4);
    machine.loadKernel(image);
    const header = new Uint8Array(16);
    new DataView(header.buffer).setUint32(0, count, true);
    machine.mem.writeBytes(BARE_IN, header);
    machine.mem.writeBytes(BARE_IN + 16, input);
    const result = await machine.run(200_000_000);
    const done = new DataView(machine.mem.readBytes(BARE_OUT - 4, 4).buffer).getUint32(0, true);
    const stoppedAt = done < count ? `\nstopped at ${describeInput(OPS, input, done * RECORD_SIZE)}` : '';
    expect(result.end, `${result.message}${stoppedAt}`).toBe('exit-port');
    expect(result.status).toBe(1);
    expect(done).toBe(count);

    const ours = machine.mem.readBytes(BARE_OUT, count * RECORD_SIZE);
    const same = (h: Uint8Array, ho: number, o: number): boolean => {
      const mask = recordMask(OPS[input[o] | (input[o + 1] << 8)], hostX87, h, ho);
      for (let b = 0; b < RECORD_SIZE; b++) {
        const m = b >= 112 && b < 116 ? EFLAGS_MASK[b - 112] : 0xff;
        if (mask[b] !== 0 && ((h[ho + b] ^ ours[o + b]) & m) !== 0) return false;
      }
      return true;
    };
    const differing: number[] = [];
    for (let r = 0; r < count; r++) {
      const o = r * RECORD_SIZE;
      // Transcendentals may differ in the last place (see x87.test.ts); they are checked there.
      if (!TRANSCENDENTAL.test(OPS[input[o] | (input[o + 1] << 8)].name) && !same(host, o, o)) differing.push(r);
    }
    // As in x87.test.ts: a host task switch can lose the last opcode, so differing records run again.
    const again = new Uint8Array(differing.length * RECORD_SIZE);
    differing.forEach((r, i) => again.set(input.subarray(r * RECORD_SIZE, (r + 1) * RECORD_SIZE), i * RECORD_SIZE));
    const host2 = differing.length > 0 ? runHarness(exe, again) : again;
    const mismatches = differing
      .filter((r, i) => !same(host2, i * RECORD_SIZE, r * RECORD_SIZE))
      .map((r) => {
        const o = r * RECORD_SIZE;
        return `${describeInput(OPS, input, o)}\n   host ${describeResult(host, o)}\n   ours ${describeResult(ours, o)}`;
      });
    expect(
      mismatches.length,
      `${mismatches.length} of ${count} records differ:\n${mismatches.slice(0, 6).join('\n')}`,
    ).toBe(0);
  });
});
