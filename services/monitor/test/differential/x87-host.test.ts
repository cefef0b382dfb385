/**
 * Differential test of x87 instruction sequences as the CPU issues them against the host CPU: each
 * random case loads operands through several addressing modes, runs a few arithmetic, compare,
 * conversion and stack instructions with random precision and rounding control (exceptions
 * masked, so the native program takes no SIGFPE), stores into memory and ends with FNSAVE. A 32-bit
 * Linux program runs the cases natively and a Multiboot kernel runs them in plex86; the FNSAVE
 * images (control, status and tag words, the eight registers), stored operands, the EFLAGS from
 * FCOMI and AX from FNSTSW must agree. The last instruction and data pointers are left out: they
 * hold addresses that differ between the two programs, and AMD hosts record them differently.
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Machine } from '../../src/machine/machine.js';
import { Random } from './cases.js';
import { runTool } from '../support/programs.js';

const CASES = 400;
/** Per case: FNSAVE image (108), stored operand (10), LAHF after FCOMI, pad, FNSTSW, pad, control word. */
const RECORD = 128;
const DATA = 48;
const dir = mkdtempSync(join(tmpdir(), 'plex86-x87diff-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface X87Case {
  asm: string;
  data: number[];
}

const ARITH = ['fadd', 'fmul', 'fsub', 'fsubr', 'fdiv', 'fdivr'];

/** A float64 bit pattern (as two dwords, low first): edges, short values and random bits. */
function double(r: Random): [number, number] {
  const view = new DataView(new ArrayBuffer(8));
  switch (r.below(4)) {
    case 0: {
      const edges = [0, -0, 1, -1, 0.5, 3, Infinity, -Infinity, NaN, 2 ** -1074, 2 ** 1023, 1e300, -1e-300];
      view.setFloat64(0, r.pick(edges), true);
      break;
    }
    case 1:
      view.setFloat64(0, ((r.next() | 0) / 65536) * 2 ** (r.below(40) - 20), true);
      break;
    default:
      view.setUint32(0, r.next(), true);
      // Exponents mostly near 1.0, so that results stay finite and exercise rounding.
      view.setUint32(4, (r.below(2) << 31) | ((0x3c0 + r.below(0x80)) << 20) | r.below(1 << 20), true);
  }
  return [view.getUint32(0, true), view.getUint32(4, true)];
}

function float(r: Random): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setFloat32(0, ((r.next() | 0) / 4096) * 2 ** (r.below(20) - 10), true);
  return r.below(8) === 0 ? r.pick([0, 0x80000000, 0x7f800000, 0x7fc00000, 1]) : view.getUint32(0, true);
}

/** One instruction (or a short group) using the stack, the operand data at EBX and the store area at EDI. */
function op(r: Random): string {
  const i = r.below(4);
  const a = r.pick(ARITH);
  switch (r.below(16)) {
    case 0:
      return `${a} qword [ebx + esi * 8]`;
    case 1:
      return `${a} dword [ebx + 24 + ecx * 4]`;
    case 2:
      return `fi${a.slice(1)} dword [ebx + 32]`;
    case 3:
      return `fi${a.slice(1)} word [ebx + 40]`;
    case 4:
      return r.below(2) === 0 ? `${a} st0, st${i}` : `${a} st${i}, st0`;
    case 5:
      return `${a}p st${1 + r.below(3)}, st0`;
    case 6:
      return r.pick(['fsqrt', 'fabs', 'fchs', 'frndint', 'fscale', 'fprem', 'fprem1', 'fxtract', 'ftst', 'fxam']);
    case 7:
      return r.pick(['fld1', 'fldz', 'fldpi', 'fldl2e', 'fldlg2', 'fincstp', 'fdecstp', `fxch st${i}`, `fld st${i}`]);
    case 8:
      return r.pick([`fst st${i}`, `fstp st${i}`, `ffree st${i}`, `fcom st${i}`, `fucomp st${i}`, 'fcompp']);
    case 9:
      return r.pick([
        'fist dword [edi + 108]',
        'fistp word [edi + 108]',
        'fistp qword [edi + 108]',
        'fbstp tword [edi + 108]',
      ]);
    case 10:
      return r.pick(['fst dword [edi + 108]', 'fstp qword [edi + 108]', 'fstp tword [edi + 108]']);
    case 11:
      return `${r.pick(['fcomi', 'fucomi', 'fcomip', 'fucomip'])} st0, st${i}\n    lahf\n    mov [edi + 118], ah`;
    case 12:
      return `fcomi st0, st1\n    ${r.pick(['fcmovb', 'fcmove', 'fcmovbe', 'fcmovu', 'fcmovnb', 'fcmovne', 'fcmovnbe', 'fcmovnu'])} st0, st${i}`;
    case 13:
      return `${r.pick(['fcom', 'fcomp'])} ${r.pick(['qword [ebx + 8]', 'dword [ebx + 28]'])}\n    fnstsw ax\n    mov [edi + 120], ax`;
    case 14:
      return r.pick([
        'fld qword [ebx + esi * 8]',
        'fld dword [ebx + 24]',
        'fild word [ebx + 40]',
        'fild qword [ebx + 32]',
      ]);
    default:
      // Store and reload through memory in extended precision, then keep computing.
      return `fstp tword [edi + 108]\n    fld tword [edi + 108]\n    ${a} st0, st${i}`;
  }
}

function generate(seed: number, count: number): X87Case[] {
  const r = new Random(seed);
  const cases: X87Case[] = [];
  for (let n = 0; n < count; n++) {
    const data: number[] = [];
    for (let k = 0; k < 3; k++) data.push(...double(r));
    data.push(float(r), float(r));
    data.push(r.value(), r.value());
    data.push(r.value(), 0);
    const cw = 0x7f | (r.pick([0, 2, 3]) << 8) | (r.below(4) << 10);
    const lines = [
      `mov ebx, data + ${n * DATA}`,
      `mov edi, results + ${n * RECORD}`,
      `mov esi, ${r.below(3)}`,
      `mov ecx, ${r.below(2)}`,
      'fninit',
      `mov word [edi + 124], 0x${cw.toString(16)}`,
      'fldcw [edi + 124]',
      'fld qword [ebx]',
      'fld qword [ebx + esi * 8 + 8]',
      'fild dword [ebx + 32]',
    ];
    const ops = 3 + r.below(4);
    for (let k = 0; k < ops; k++) lines.push(op(r));
    lines.push('fnsave [edi]');
    cases.push({ asm: lines.map((l) => `    ${l}`).join('\n'), data });
  }
  return cases;
}

function dataSection(cases: X87Case[]): string {
  return cases.map((c) => `    dd ${c.data.map((v) => `0x${(v >>> 0).toString(16)}`).join(', ')}`).join('\n');
}

function code(cases: X87Case[]): string {
  return cases.map((c, i) => `; case ${i}\n${c.asm}`).join('\n');
}

function runNative(cases: X87Case[]): Uint8Array {
  const n = cases.length * RECORD;
  const src = join(dir, 'native.asm');
  writeFileSync(
    src,
    `bits 32
section .text
global _start
_start:
${code(cases)}
    mov eax, 4
    mov ebx, 1
    mov ecx, results
    mov edx, ${n}
    int 0x80
    mov eax, 1
    xor ebx, ebx
    int 0x80
section .data
align 16
data:
${dataSection(cases)}
section .bss
align 16
results: resb ${n}
`,
  );
  runTool('nasm', ['-f', 'elf32', '-o', join(dir, 'native.o'), src], 'nasm');
  runTool('ld', ['-m', 'elf_i386', '-o', join(dir, 'native'), join(dir, 'native.o')], 'binutils');
  try {
    return new Uint8Array(execFileSync(join(dir, 'native'), { maxBuffer: 1 << 26 }));
  } catch (e) {
    throw new Error(
      `the host cannot run the 32-bit x86 reference program (an x86-64 Linux kernel with IA32 emulation is needed): ${(e as Error).message}`,
    );
  }
}

async function runPlex86(cases: X87Case[]): Promise<Uint8Array> {
  const n = cases.length * RECORD;
  const src = join(dir, 'kernel.asm');
  const bin = join(dir, 'kernel.bin');
  writeFileSync(
    src,
    `bits 32
org 0x100000
    dd 0x1badb002, 0x00010000, -(0x1badb002 + 0x00010000)
    dd 0x100000, 0x100000, 0, 0, _start
_start:
${code(cases)}
    mov esi, results
    mov ecx, ${n}
    mov dx, 0xe9
    rep outsb
    mov al, 0
    out 0xf4, al
align 16
data:
${dataSection(cases)}
align 16
results: times ${n} db 0
`,
  );
  runTool('nasm', ['-f', 'bin', '-o', bin, src], 'nasm');
  const machine = new Machine({ memory: 16 << 20, compileThreshold: 0 });
  const out = new Uint8Array(n);
  let at = 0;
  machine.addDebugcon(0xe9, (b) => {
    if (at < out.length) out[at] = b;
    at++;
  });
  machine.setExitPort(0xf4);
  machine.loadKernel(new Uint8Array(readFileSync(bin)));
  const result = await machine.run(10_000_000);
  if (result.end !== 'exit-port') throw new Error(`the kernel did not finish: ${result.end} ${result.message}`);
  expect(at).toBe(n);
  return out;
}

/** Byte ranges of a record that must agree: CW, SW, TW (low halves), ST0-ST7, the rest. */
const COMPARED: readonly [number, number, string][] = [
  [0, 2, 'control word'],
  [4, 6, 'status word'],
  [8, 10, 'tag word'],
  [28, 108, 'registers'],
  [108, 118, 'stored operand'],
  [118, 119, 'flags from FCOMI'],
  [120, 122, 'FNSTSW AX'],
];

function hex(bytes: Uint8Array, from: number, to: number): string {
  return Array.from(bytes.subarray(from, to), (b) => b.toString(16).padStart(2, '0')).join('');
}

describe('x87 differential test against the host CPU', () => {
  it(`agrees on ${CASES} random instruction sequences (FNSAVE image, stores, flags, status word)`, async () => {
    const cases = generate(20261121, CASES);
    const native = runNative(cases);
    const ours = await runPlex86(cases);
    expect(native.length).toBe(ours.length);
    const mismatches: string[] = [];
    cases.forEach((c, i) => {
      const base = i * RECORD;
      for (const [from, to, what] of COMPARED) {
        const h = hex(native, base + from, base + to);
        const o = hex(ours, base + from, base + to);
        if (h !== o) {
          mismatches.push(`case ${i}: ${what} host ${h} plex86 ${o}\n${c.asm}`);
          break;
        }
      }
    });
    expect(mismatches.slice(0, 5)).toEqual([]);
  }, 120_000);
});
