// Measures how often our transcendentals give the host CPU's bits, on more records than the
// differential test runs: per instruction and per rounding mode, with the differences split into
// "C1 only" and "one unit in the last place".
//
//   npx tsx services/monitor/test/fpu/transcendental-rates.ts [records per instruction] [seed]

import { Fpu } from '../../src/fpu/fpu.js';
import {
  Rng,
  describeInput,
  describeResult,
  emulateRecord,
  makeRecord,
  probeHost,
  recordMask,
  type RecordOptions,
} from './diff.js';
import { buildHarness, RECORD_SIZE, runHarness } from './native.js';
import { allOps, nativeAsm } from './ops.js';

/** The operand distributions of the differential test. */
const FUNCTIONS: [string, RecordOptions][] = [
  ['fsin', { value: 'angle' }],
  ['fcos', { value: 'angle' }],
  ['fsincos', { value: 'angle' }],
  ['fptan', { value: 'angle' }],
  ['f2xm1', { value: 'unit' }],
  ['fyl2x', { value: 'finite', rest: 'finite' }],
  ['fyl2xp1', { value: 'small', rest: 'finite' }],
  ['fpatan', { value: 'finite', rest: 'finite' }],
];

const RC_NAMES = ['nearest', 'down', 'up', 'zero'];

/** Position of an 80-bit magnitude on the number line (consecutive values differ by one). */
function ordinal(b: Uint8Array, p: number): bigint {
  const dv = new DataView(b.buffer, b.byteOffset);
  const e = BigInt(dv.getUint16(p + 8, true) & 0x7fff);
  const sig = dv.getBigUint64(p, true);
  return e === 0n ? sig : (e << 63n) + (sig & 0x7fffffffffffffffn);
}

type Kind = 'same' | 'c1' | 'ulp' | 'far';

/** How a result record differs from the host's (the ops leave other state alone). */
function classify(mask: Uint8Array, host: Uint8Array, ours: Uint8Array, o: number): Kind {
  let regs = false;
  let c1 = false;
  for (let b = 0; b < RECORD_SIZE; b++) {
    if (mask[b] === 0 || host[o + b] === ours[o + b]) continue;
    if (b === 5 && ((host[o + b] ^ ours[o + b]) & ~0x02) === 0) c1 = true;
    else if (b >= 28 && b < 108) regs = true;
    else return 'far';
  }
  if (!regs) return c1 ? 'c1' : 'same';
  for (let i = 0; i < 8; i++) {
    const p = o + 28 + 10 * i;
    if ((host[p + 9] & 0x80) !== (ours[p + 9] & 0x80)) return 'far';
    const d = ordinal(host, p) - ordinal(ours, p);
    if (d > 1n || d < -1n) return 'far';
  }
  return 'ulp';
}

const records = Number(process.argv[2] ?? 20000);
const seed = Number(process.argv[3] ?? 1);
if (!Number.isInteger(records) || records <= 0) throw new Error(`records per instruction: ${process.argv[2]}`);
const ops = allOps();
const exe = buildHarness(ops.map(nativeAsm));
const hostX87 = probeHost(exe, ops);
const fpu = new Fpu();
fpu.sse3 = true;
fpu.vendor = hostX87.vendor;
console.log(
  `${hostX87.vendor} host, ${records} records per instruction, seed ${seed}; bit-identical share (C1-only / one-ulp differences)`,
);
for (const [name, opt] of FUNCTIONS) {
  const index = ops.findIndex((op) => op.name === name);
  const rng = new Rng(seed * 1000 + index);
  const input = new Uint8Array(records * RECORD_SIZE);
  for (let r = 0; r < records; r++) {
    makeRecord(rng, ops[index], index, input, r * RECORD_SIZE, { ...opt, emptyRate: 0, unmaskedRate: 0 });
  }
  const host = runHarness(exe, input);
  const mask = (o: number) => recordMask(ops[index], hostX87, host, o);
  const ours = new Uint8Array(input.length);
  for (let r = 0; r < records; r++) emulateRecord(fpu, ops, input, r * RECORD_SIZE, ours, r * RECORD_SIZE);
  // The host kernel may lose the last-opcode field when it switches tasks between the instruction
  // and the FNSAVE: records that differ beyond C1 and the last place run once more.
  const again: number[] = [];
  for (let r = 0; r < records; r++)
    if (classify(mask(r * RECORD_SIZE), host, ours, r * RECORD_SIZE) === 'far') again.push(r);
  if (again.length > 0) {
    const rerun = new Uint8Array(again.length * RECORD_SIZE);
    again.forEach((r, i) => rerun.set(input.subarray(r * RECORD_SIZE, (r + 1) * RECORD_SIZE), i * RECORD_SIZE));
    const host2 = runHarness(exe, rerun);
    again.forEach((r, i) => host.set(host2.subarray(i * RECORD_SIZE, (i + 1) * RECORD_SIZE), r * RECORD_SIZE));
  }
  const count = { same: 0, c1: 0, ulp: 0, far: 0 };
  const byMode = RC_NAMES.map(() => [0, 0]);
  for (let r = 0; r < records; r++) {
    const o = r * RECORD_SIZE;
    const kind = classify(mask(o), host, ours, o);
    count[kind]++;
    if (kind === 'far' && process.env.SHOW_FAR) {
      console.log(
        `${describeInput(ops, input, o)}\n   host ${describeResult(host, o)}\n   ours ${describeResult(ours, o)}`,
      );
    }
    const rc = (input[o + 3] >>> 2) & 3;
    byMode[rc][0]++;
    if (kind === 'same') byMode[rc][1]++;
  }
  const pct = (n: number, of: number) => `${((100 * n) / of).toFixed(2)}%`;
  const modes = byMode.map(([n, s], rc) => `${RC_NAMES[rc]} ${pct(s, n)}`).join(', ');
  console.log(
    `${name.padEnd(8)} ${pct(count.same, records)} (${count.c1} / ${count.ulp})  ${modes}` +
      (count.far > 0 ? `  ${count.far} records differ by more than one ulp or elsewhere` : ''),
  );
}
