/**
 * Runs every record of the 80286 real-mode single-step suite (/work/shared/conformance/80286, see its
 * README) through the CPU and compares registers, flags (under the undefined-flag masks) and memory.
 * The cases where a 386 or later differs from a 286 by design are skipped by the README's rules;
 * each skip rule is named and counted, and the summary prints the pass rate.
 */

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { Cpu } from '../../src/cpu/cpu.js';
import { Seg } from '../../src/cpu/registers.js';
import { SbeBlockSource } from '../../src/engine/sbe-source.js';
import { Engine, resolveHandler, StopReason } from '../../src/engine/engine.js';
import { PortSpace } from '../../src/io/port-space.js';
import { PhysicalMemory } from '../../src/memory/physical-memory.js';

const DATA_DIR =
  process.env['PLEX86_80286_DIR'] ?? join(import.meta.dirname, '../../../../../shared/conformance/80286');

interface Regs {
  ax: number;
  bx: number;
  cx: number;
  dx: number;
  cs: number;
  ss: number;
  ds: number;
  es: number;
  sp: number;
  bp: number;
  si: number;
  di: number;
  ip: number;
  flags: number;
}
interface TestRecord {
  idx: number;
  name: string;
  bytes: number[];
  initial: { regs: Regs; ram: [number, number][] };
  final: { regs: Partial<Regs>; ram: [number, number][] };
  exception?: { number: number; flag_address: number };
}
interface OpcodeMeta {
  status?: string;
  'flags-mask'?: number;
  reg?: Record<string, OpcodeMeta>;
}

/** Word accesses at SS:0xFFFF: #SS (12) on a 386+, #GP (13) on the 286 (README table, by file and idx). */
const SS_WRAP: Record<string, number[]> = {
  '07': [52],
  '17': [180],
  '1F': [244],
  '21': [203],
  '23': [219],
  '29': [139],
  '2B': [155],
  '31': [75],
  '33': [91],
  '39': [11],
  '3B': [27],
  '61': [235],
  '62': [11],
  '69': [83],
  '6B': [67],
  A5: [155, 167],
  A7: [139],
  AD: [219, 231],
  C2: [122, 138],
  C3: [114, 130],
  C9: [9, 26, 57, 77, 88, 166, 215, 220],
  CA: [58, 202],
  CB: [50, 194],
};
/** MOV to/from segment register 4/5: #UD on the 286, FS/GS on a 386+. */
const FS_GS_MOVES: Record<string, number[]> = { '8C': [24, 127, 141, 226], '8E': [8, 111, 157, 242] };

const STRING_OPS = new Set(['6C', '6D', '6E', '6F', 'A4', 'A5', 'A6', 'A7', 'AA', 'AB', 'AC', 'AD', 'AE', 'AF']);
const PREFIXES = new Set([0x26, 0x2e, 0x36, 0x3e, 0xf0, 0xf2, 0xf3]);
const LOCKABLE_OPS = new Set([
  0x00, 0x01, 0x08, 0x09, 0x10, 0x11, 0x18, 0x19, 0x20, 0x21, 0x28, 0x29, 0x30, 0x31, 0x86, 0x87,
]);

/** True when a LOCK prefix is legal on a 386+: a lockable instruction with a memory destination. */
function lockIsLegal(bytes: number[]): boolean {
  let i = 0;
  while (i < bytes.length && PREFIXES.has(bytes[i])) i++;
  const op = bytes[i];
  const modrm = bytes[i + 1];
  if (op === undefined || modrm === undefined) return false;
  if (modrm >>> 6 === 3) return false;
  const reg = (modrm >>> 3) & 7;
  if (LOCKABLE_OPS.has(op)) return true;
  if (op >= 0x80 && op <= 0x83) return reg !== 7;
  if (op === 0xf6 || op === 0xf7) return reg === 2 || reg === 3;
  if (op === 0xfe || op === 0xff) return reg === 0 || reg === 1;
  return false;
}

function hasLockPrefix(bytes: number[]): boolean {
  for (const b of bytes) {
    if (!PREFIXES.has(b)) return false;
    if (b === 0xf0) return true;
  }
  return false;
}

const REG_ORDER: (keyof Regs)[] = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'];
const SEG_ORDER: [keyof Regs, number][] = [
  ['es', Seg.ES],
  ['cs', Seg.CS],
  ['ss', Seg.SS],
  ['ds', Seg.DS],
];

class Rig {
  readonly mem = new PhysicalMemory({ ramSize: 0x120000 });
  readonly io = new PortSpace();
  readonly blocks = new SbeBlockSource(this.mem, resolveHandler);
  readonly cpu = new Cpu(this.mem, this.io);
  readonly engine = new Engine(this.cpu, this.blocks);

  constructor() {
    this.blocks.onInvalidate = () => this.cpu.requestExit();
  }

  load(t: TestRecord): void {
    const cpu = this.cpu;
    cpu.reset();
    const r = t.initial.regs;
    for (let i = 0; i < 8; i++) cpu.r32[i] = r[REG_ORDER[i]];
    for (const [name, seg] of SEG_ORDER) {
      cpu.loadSegmentCache(seg, r[name], r[name] << 4, 0xffff, cpu.segAttr[seg]);
    }
    cpu.eip = r.ip;
    cpu.eflags = r.flags & 0x0fff;
    for (const [addr, v] of t.initial.ram) this.mem.write8(addr, v);
  }

  /** Undoes the test's memory so the next one starts from zeroes. */
  clear(t: TestRecord): void {
    for (const [addr] of t.initial.ram) this.mem.write8(addr, 0);
    for (const [addr] of t.final.ram) this.mem.write8(addr, 0);
  }
}

function flagMask(meta: Record<string, OpcodeMeta>, file: string, bytes: number[]): number {
  const [op, reg] = file.split('.');
  let entry: OpcodeMeta | undefined = meta[op];
  if (reg !== undefined) {
    // C0/C1 (shift by immediate) take the masks of D2/D3 (shift by CL), as the README advises.
    const source = op === 'C0' ? 'D2' : op === 'C1' ? 'D3' : op;
    entry = meta[source]?.reg?.[reg];
  } else if (entry?.reg !== undefined) {
    let i = 0;
    while (PREFIXES.has(bytes[i])) i++;
    entry = entry.reg[String((bytes[i + 1] >>> 3) & 7)];
  }
  let mask = entry?.['flags-mask'] ?? 0xffff;
  // OF is undefined on a 386+ for shift/rotate counts other than 1 and CF for SHL/SHR/SAR counts
  // at or above the operand width; the D2/D3 masks cover that, C0/C1 reuse them above.
  if (op === '9D' || op === 'CF') mask &= 0x0fff;
  return mask & 0xffff;
}

type Outcome = 'pass' | 'fail' | string;

function runRecord(
  rig: Rig,
  file: string,
  t: TestRecord,
  meta: Record<string, OpcodeMeta>,
  failures: string[],
): Outcome {
  const op = file.split('.')[0];
  if (hasLockPrefix(t.bytes) && !lockIsLegal(t.bytes))
    return 'skip: LOCK on an instruction a 386+ refuses to lock (#UD)';
  if (t.bytes.length - 1 > 10 && t.exception?.number === 13)
    return 'skip: longer than 10 bytes: #GP on a 286, legal on a 386+';
  if (FS_GS_MOVES[op]?.includes(t.idx)) return 'skip: MOV with segment register 4/5: #UD on a 286, FS/GS on a 386+';
  const ssWrap = SS_WRAP[op]?.includes(t.idx) ?? false;

  rig.load(t);
  const before = rig.engine.stats.exceptionsByVector[12];
  const reason = rig.engine.run(64);
  const tookSs = rig.engine.stats.exceptionsByVector[12] > before;
  const problems: string[] = [];
  if (ssWrap) {
    rig.clear(t);
    if (!tookSs) {
      failures.push(`${file} #${t.idx} ${t.name}: expected #SS (vector 12) for a word at SS:0xFFFF`);
      return 'fail';
    }
    return 'skip: word access at SS:0xFFFF: #GP on a 286, #SS on a 386+ (checked: vector 12 taken)';
  }
  if (reason !== StopReason.HALTED) problems.push(`stopped with reason ${reason}, not at HLT`);

  const cpu = rig.cpu;
  const exp: Regs = { ...t.initial.regs, ...t.final.regs };
  let outcome: Outcome = 'pass';
  const uncompared = new Set<keyof Regs>();
  if (STRING_OPS.has(op) && t.exception?.number === 13) {
    // The 286 has already stepped SI/DI (and CX) when it takes the #GP of a string access past
    // offset 0xFFFF; a 386+ faults before the update so the instruction restarts cleanly.
    uncompared.add('si').add('di').add('cx');
    outcome = 'adjusted: string access past 0xFFFF (#GP on both): SI, DI and CX not compared, the 286 steps them first';
  }
  const mask = flagMask(meta, file, t.bytes);
  const got: Regs = {
    ax: cpu.r16[0],
    cx: cpu.r16[2],
    dx: cpu.r16[4],
    bx: cpu.r16[6],
    sp: cpu.r16[8],
    bp: cpu.r16[10],
    si: cpu.r16[12],
    di: cpu.r16[14],
    es: cpu.segSel[Seg.ES],
    cs: cpu.segSel[Seg.CS],
    ss: cpu.segSel[Seg.SS],
    ds: cpu.segSel[Seg.DS],
    ip: cpu.eip & 0xffff,
    flags: cpu.eflags & 0xffff,
  };
  const expFlags = t.final.regs.flags !== undefined ? t.final.regs.flags : t.initial.regs.flags & 0x0fff;
  for (const k of Object.keys(got) as (keyof Regs)[]) {
    if (k === 'flags') {
      if ((got.flags & mask) !== (expFlags & mask)) {
        problems.push(`flags ${hex(got.flags)} != ${hex(expFlags)} (mask ${hex(mask)})`);
      }
    } else if (got[k] !== exp[k] && !uncompared.has(k)) problems.push(`${k} ${hex(got[k])} != ${hex(exp[k])}`);
  }
  // The pushed FLAGS word sits at SS:SP-2 of the initial stack; the records' flag_address is one
  // byte low when SP is odd, so the address is recomputed here.
  const flagAddr = t.exception !== undefined ? t.initial.regs.ss * 16 + ((t.initial.regs.sp - 2) & 0xffff) : undefined;
  for (const [addr, v] of t.final.ram) {
    let actual = rig.mem.read8(addr);
    let want = v;
    if (flagAddr !== undefined && (addr === flagAddr || addr === flagAddr + 1)) {
      const m = addr === flagAddr ? mask & 0xff : mask >>> 8;
      actual &= m;
      want &= m;
    }
    if (actual !== want) problems.push(`[${hex(addr)}] ${hex(actual)} != ${hex(want)}`);
  }
  rig.clear(t);
  if (problems.length > 0) {
    failures.push(
      `${file} #${t.idx} ${t.name} (${t.bytes.map((b) => b.toString(16)).join(' ')}): ${problems.join(', ')}`,
    );
    return 'fail';
  }
  return outcome;
}

function hex(v: number): string {
  return v.toString(16);
}

const available = existsSync(join(DATA_DIR, 'metadata.json'));
const files = available
  ? readdirSync(DATA_DIR)
      .filter((f) => f.endsWith('.jsonl.gz'))
      .map((f) => f.replace('.jsonl.gz', ''))
      .sort()
  : [];

describe('80286 real-mode single-step suite', () => {
  it('finds the test data', () => {
    expect(
      available,
      `the 80286 conformance data is missing at ${DATA_DIR}; set PLEX86_80286_DIR to the folder with metadata.json`,
    ).toBe(true);
    expect(files.length).toBeGreaterThanOrEqual(325);
  });
  if (!available) return;

  const meta = (
    JSON.parse(readFileSync(join(DATA_DIR, 'metadata.json'), 'utf8')) as { opcodes: Record<string, OpcodeMeta> }
  ).opcodes;
  const rig = new Rig();
  const totals = { pass: 0, fail: 0, skipped: new Map<string, number>(), adjusted: new Map<string, number>() };

  for (const file of files) {
    it(`${file}`, () => {
      const lines = gunzipSync(readFileSync(join(DATA_DIR, `${file}.jsonl.gz`)))
        .toString('utf8')
        .split('\n')
        .filter((l) => l.length > 0);
      const failures: string[] = [];
      for (const line of lines) {
        const outcome = runRecord(rig, file, JSON.parse(line) as TestRecord, meta, failures);
        if (outcome === 'pass') totals.pass++;
        else if (outcome === 'fail') totals.fail++;
        else if (outcome.startsWith('adjusted: ')) {
          totals.pass++;
          const why = outcome.slice(10);
          totals.adjusted.set(why, (totals.adjusted.get(why) ?? 0) + 1);
        } else {
          const why = outcome.slice(6);
          totals.skipped.set(why, (totals.skipped.get(why) ?? 0) + 1);
        }
      }
      expect(failures.slice(0, 8), `${failures.length} of ${lines.length} failed`).toEqual([]);
    });
  }

  afterAll(() => {
    const skipped = [...totals.skipped.values()].reduce((a, b) => a + b, 0);
    const run = totals.pass + totals.fail;
    const lines = [
      `80286 suite: ${totals.pass}/${run} passed (${((100 * totals.pass) / Math.max(run, 1)).toFixed(3)}%), ${skipped} skipped:`,
      ...[...totals.skipped].map(([why, n]) => `  ${n.toString().padStart(5)}  ${why}`),
      'passed with an adjusted comparison:',
      ...[...totals.adjusted].map(([why, n]) => `  ${n.toString().padStart(5)}  ${why}`),
    ];
    console.log(lines.join('\n'));
  });
});
