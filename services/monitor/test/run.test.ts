/** `plex86 run` as the CLI drives it: runMachine with option strings and captured output. */

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  lastStatsFigures,
  parseMemorySize,
  parsePort,
  RunOptionError,
  runMachine,
  type RunOptions,
} from '../src/machine/run.js';
import { assemble, assembleElf } from './support/programs.js';

const dir = mkdtempSync(join(tmpdir(), 'plex86-run-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A 64 KiB ROM whose reset vector holds `code` (16-bit real mode at F000:FFF0). */
function rom(code: number[]): string {
  const image = new Uint8Array(0x10000);
  image.set(code, 0xfff0);
  const path = join(dir, `rom-${code.map((b) => b.toString(16)).join('')}.bin`);
  writeFileSync(path, image);
  return path;
}

function file(name: string, data: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, data);
  return path;
}

async function run(options: RunOptions): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const status = await runMachine(options, {
    stdout: (d) => (stdout += new TextDecoder().decode(d)),
    stderr: (t) => (stderr += t),
  });
  return { status, stdout, stderr };
}

describe('runMachine', () => {
  it('boots a Multiboot ELF kernel with a command line and ends through the exit port', async () => {
    const kernel = file('kernel.elf', assembleElf('elf-kernel'));
    const r = await run({
      kernel,
      append: 'console=ttyS0 quiet',
      debugcon: ['stdio'],
      exitPort: '0xf4',
      memory: '32M',
    });
    expect(r.stdout.split('\n')).toEqual([
      'multiboot magic ok',
      'console=ttyS0 quiet',
      '00007c00',
      '00000060',
      '00000001',
      '00000008',
      '00000001',
      '',
    ]);
    expect(r.status).toBe(7);
    expect(r.stderr).toBe('');
  });

  it('runs a BIOS image from the reset vector and writes a debug console to a file on another port', async () => {
    // mov dx, 0x402; mov al, 'Z'; out dx, al; mov al, 1; out 0xf4, al
    const path = rom([0xba, 0x02, 0x04, 0xb0, 0x5a, 0xee, 0xb0, 0x01, 0xe6, 0xf4]);
    const out = join(dir, 'debugcon.txt');
    const r = await run({ rom: path, debugcon: [`0x402:${out}`], exitPort: '244' });
    expect(readFileSync(out, 'utf8')).toBe('Z');
    expect(r.status).toBe(3);
  });

  it('ends with status 0 and a message naming CS:EIP when the CPU halts with interrupts off', async () => {
    const r = await run({ rom: rom([0xfa, 0xf4]) });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('plex86: CPU halted with interrupts disabled at F000:FFF1\n');
  });

  it('stops at --max-instructions with its own status', async () => {
    const r = await run({ rom: rom([0xeb, 0xfe]), maxInstructions: '1000' });
    expect(r.status).toBe(124);
    expect(r.stderr).toBe('plex86: stopped after 1000 instructions (--max-instructions) at F000:FFF0\n');
  });

  it('sends COM1 output to --serial and prints --stats', async () => {
    // mov dx, 0x3f8; mov al, 'O'; out dx, al; mov al, 'K'; out dx, al; cli; hlt
    const path = rom([0xba, 0xf8, 0x03, 0xb0, 0x4f, 0xee, 0xb0, 0x4b, 0xee, 0xfa, 0xf4]);
    const r = await run({ rom: path, serial: 'stdio', stats: true });
    expect(r.stdout).toBe('OK');
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/^instructions {5}7$/m);
    // OUT, OUT, CLI and HLT are sensitive or privileged: 3 of the 7 instructions stay on the fast path.
    expect(r.stderr).toMatch(/^fast path {8}42\.86% /m);
    // Seven instructions never make a block hot enough for a page function.
    expect(r.stderr).toMatch(/^compiled code {4}0\.00% of instructions \(0\) ran in page functions/m);
    // What a tool reads back from the block (the bench's per-step figures).
    expect(lastStatsFigures(r.stderr)).toEqual({
      instructions: 7,
      pageFunctionInstructions: 0,
      handoffs: 0,
      relinks: 0,
      chainedBlocks: 0,
    });
    // A block still being written (cut before its time line) is not read: the whole one before is.
    const later = r.stderr.replace(/^instructions {5}7$/m, 'instructions     9').replace(/^time .*\n/m, '');
    expect(lastStatsFigures(r.stderr + later)?.instructions).toBe(7);
    expect(lastStatsFigures(later)).toBeUndefined();
    expect(r.stderr).toMatch(
      /^monitor exits {4}4 sensitive\/privileged instructions; exceptions: none; external interrupts: 0; 0 instructions fetched one by one \(0 of them found decoded before\)$/m,
    );
    expect(r.stderr).toMatch(/^time .* MIPS$/m);
  });

  it('reports a triple fault with its own status', async () => {
    const r = await run({ kernel: file('df.bin', assemble('double-fault')), exitPort: '0xf4' });
    expect(r.status).toBe(126);
    expect(r.stderr).toMatch(/^plex86: triple fault: /);
  });

  it('rejects bad options with clear messages', async () => {
    await expect(run({})).rejects.toThrow(/--rom FILE or --kernel FILE/);
    await expect(run({ rom: join(dir, 'missing.bin') })).rejects.toThrow(/cannot read .*missing\.bin/);
    await expect(run({ rom: rom([0xf4]), exitPort: 'x' })).rejects.toThrow(RunOptionError);
    await expect(run({ rom: rom([0xf4]), maxInstructions: '-3' })).rejects.toThrow(/--max-instructions/);
    await expect(run({ kernel: file('not-mb.bin', new Uint8Array(64)) })).rejects.toThrow(/no Multiboot header/);
  });
});

describe('option parsers', () => {
  it('parses memory sizes with K, M and G suffixes (MiB when bare)', () => {
    expect(parseMemorySize('128M')).toBe(128 << 20);
    expect(parseMemorySize('64')).toBe(64 << 20);
    expect(parseMemorySize('2048K')).toBe(2 << 20);
    expect(parseMemorySize('1G')).toBe(1 << 30);
    expect(() => parseMemorySize('512K')).toThrow(/between 1M/);
    expect(() => parseMemorySize('12Q')).toThrow(/like 128M/);
  });

  it('parses ports in hex and decimal and refuses out-of-range ones', () => {
    expect(parsePort('0xE9', '--x')).toBe(0xe9);
    expect(parsePort('1016', '--x')).toBe(0x3f8);
    expect(() => parsePort('0x10000', '--x')).toThrow(/port number/);
    expect(() => parsePort('e9', '--x')).toThrow(/port number/);
  });
});
