/**
 * Differential test against the host CPU: the same random single-instruction cases are assembled
 * into a 32-bit Linux program that the host runs natively and into a Multiboot kernel that plex86
 * runs; registers, the status flags the SDM defines for each instruction, and a data buffer must
 * come out the same. (These x86-64 machines run 32-bit x86 programs natively.)
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Machine, type MachineConfig } from '../../src/machine/machine.js';
import { caseCode, generateCases, RECORD_BYTES, type Case } from './cases.js';
import { runTool } from '../support/programs.js';

const CASES = 2500;
const dir = mkdtempSync(join(tmpdir(), 'plex86-diff-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function nativeProgram(cases: Case[]): string {
  const n = cases.length * RECORD_BYTES;
  return `bits 32
section .text
global _start
_start:
${caseCode(cases)}
    mov eax, 4
    mov ebx, 1
    mov ecx, results
    mov edx, ${n}
    int 0x80
    mov eax, 1
    xor ebx, ebx
    int 0x80
section .bss
align 16
buf: resb 64
save_esp: resd 1
results: resb ${n}
`;
}

function kernelProgram(cases: Case[]): string {
  const n = cases.length * RECORD_BYTES;
  return `bits 32
org 0x100000
    dd 0x1badb002, 0x00010000, -(0x1badb002 + 0x00010000)
    dd 0x100000, 0x100000, 0, 0, _start
_start:
${caseCode(cases)}
    mov esi, results
    mov ecx, ${n}
    mov dx, 0xe9
    rep outsb
    mov al, 0
    out 0xf4, al
align 16
buf: times 64 db 0
save_esp: dd 0
results: times ${n} db 0
`;
}

function runNative(cases: Case[]): Uint8Array {
  const src = join(dir, 'native.asm');
  writeFileSync(src, nativeProgram(cases));
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

/** How the kernel runs: blocks compiled to page functions at once, or to WebAssembly (the warm tier). */
const ENGINES: [string, Partial<MachineConfig>][] = [
  ['page functions', { compileThreshold: 0 }],
  [
    'the warm tier',
    { compileThreshold: Number.MAX_SAFE_INTEGER, warmTier: { threshold: 0, batch: 1, maxFallbacks: 1 << 30 } },
  ],
];

async function runPlex86(cases: Case[], config: Partial<MachineConfig>): Promise<Uint8Array> {
  const src = join(dir, 'kernel.asm');
  const bin = join(dir, 'kernel.bin');
  writeFileSync(src, kernelProgram(cases));
  runTool('nasm', ['-f', 'bin', '-o', bin, src], 'nasm');
  const machine = new Machine({ memory: 16 << 20, ...config });
  const out = new Uint8Array(cases.length * RECORD_BYTES);
  let at = 0;
  machine.addDebugcon(0xe9, (b) => {
    if (at < out.length) out[at] = b;
    at++;
  });
  machine.setExitPort(0xf4);
  machine.loadKernel(new Uint8Array(readFileSync(bin)));
  const result = await machine.run(50_000_000);
  if (result.end !== 'exit-port') throw new Error(`the kernel did not finish: ${result.end} ${result.message}`);
  expect(at).toBe(out.length);
  return out;
}

const NAMES = ['eax', 'ebx', 'ecx', 'edx', 'esi', 'edi', 'ebp'];

describe('differential test against the host CPU', () => {
  const cases = generateCases(20261121, CASES);
  let native: Uint8Array | undefined;
  it.each(ENGINES)(
    `agrees on ${CASES} random single-instruction cases (registers, defined flags, memory) with %s`,
    async (_, config) => {
      native ??= runNative(cases);
      const host = native;
      const ours = await runPlex86(cases, config);
      expect(host.length).toBe(ours.length);
      const dv = new DataView(host.buffer, host.byteOffset, host.byteLength);
      const ov = new DataView(ours.buffer, ours.byteOffset, ours.byteLength);
      const mismatches: string[] = [];
      cases.forEach((c, i) => {
        const base = i * RECORD_BYTES;
        const diffs: string[] = [];
        for (let r = 0; r < 7; r++) {
          const n = dv.getUint32(base + r * 4, true);
          const o = ov.getUint32(base + r * 4, true);
          if (n !== o) diffs.push(`${NAMES[r]} host ${n.toString(16)} plex86 ${o.toString(16)}`);
        }
        const nf = dv.getUint32(base + 28, true) & c.mask;
        const of = ov.getUint32(base + 28, true) & c.mask;
        if (nf !== of)
          diffs.push(`flags host ${nf.toString(16)} plex86 ${of.toString(16)} (mask ${c.mask.toString(16)})`);
        for (let j = 0; j < 16; j++) {
          if (host[base + 32 + j] !== ours[base + 32 + j]) {
            diffs.push(`buf[${j}] host ${host[base + 32 + j]} plex86 ${ours[base + 32 + j]}`);
            break;
          }
        }
        if (diffs.length > 0) mismatches.push(`#${i} ${c.asm.replace(/\n\s*/g, '; ')}: ${diffs.join(', ')}`);
      });
      expect(mismatches.slice(0, 15)).toEqual([]);
    },
    120_000,
  );
});
