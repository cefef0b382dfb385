// Builds and runs the native x87 harness (x87-harness.asm) on the host CPU.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const RECORD_SIZE = 256;

const HERE = import.meta.dirname;

/** The op table the harness includes: a jump table and one body per op. */
function opTable(ops: readonly string[]): string {
  let inc = `opcount equ ${ops.length}\nsection .data\nalign 4\noptable:\n`;
  for (let i = 0; i < ops.length; i++) inc += `    dd op_${i}\n`;
  inc += 'section .text\n';
  for (let i = 0; i < ops.length; i++) inc += `op_${i}:\n    ${ops[i]}\n    jmp op_done\n`;
  return inc;
}

function need(tool: string): void {
  const r = spawnSync(tool, ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new Error(
      `The x87 differential tests need ${tool} to build the native harness: apt-get install nasm binutils`,
    );
  }
}

/**
 * Assembles and links the harness with the given op bodies (one asm instruction line each, in op
 * index order) into a cache directory; returns the executable's path. Binaries are never
 * committed: they are rebuilt when the sources change.
 */
export function buildHarness(ops: readonly string[]): string {
  const source = readFileSync(join(HERE, 'x87-harness.asm'), 'utf8');
  const inc = opTable(ops);
  const hash = createHash('sha256').update(source).update(inc).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), 'plex86-x87-harness', hash);
  const exe = join(dir, 'x87-harness');
  if (existsSync(exe)) return exe;
  need('nasm');
  need('ld');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'x87-harness.asm'), source);
  writeFileSync(join(dir, 'ops.inc'), inc);
  const obj = join(dir, 'x87-harness.o');
  const asm = spawnSync('nasm', ['-f', 'elf32', '-I', `${dir}/`, '-o', obj, join(dir, 'x87-harness.asm')], {
    encoding: 'utf8',
  });
  if (asm.status !== 0) throw new Error(`nasm failed:\n${asm.stderr}`);
  const tmpExe = `${exe}.${process.pid}`;
  const link = spawnSync('ld', ['-m', 'elf_i386', '-o', tmpExe, obj], { encoding: 'utf8' });
  if (link.status !== 0) throw new Error(`ld failed:\n${link.stderr}`);
  renameSync(tmpExe, exe);
  return exe;
}

/**
 * Assembles the same harness as a flat image for a Multiboot loader (see BARE in the source); the
 * result includes the Multiboot header, entering the code at 1 MiB + 32.
 */
export function buildBareHarness(ops: readonly string[]): Uint8Array {
  const source = readFileSync(join(HERE, 'x87-harness.asm'), 'utf8');
  const inc = opTable(ops);
  const hash = createHash('sha256').update(source).update(inc).digest('hex').slice(0, 16);
  const dir = join(tmpdir(), 'plex86-x87-harness', `${hash}-bare`);
  const bin = join(dir, 'x87-harness.bin');
  if (!existsSync(bin)) {
    need('nasm');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'x87-harness.asm'), source);
    writeFileSync(join(dir, 'ops.inc'), inc);
    const tmp = `${bin}.${process.pid}`;
    const asm = spawnSync('nasm', ['-f', 'bin', '-DBARE', '-I', `${dir}/`, '-o', tmp, join(dir, 'x87-harness.asm')], {
      encoding: 'utf8',
    });
    if (asm.status !== 0) throw new Error(`nasm failed:\n${asm.stderr}`);
    renameSync(tmp, bin);
  }
  const code = readFileSync(bin);
  const image = new Uint8Array(32 + code.length);
  const view = new DataView(image.buffer);
  const magic = 0x1badb002;
  const flags = 0x00010000; // the address fields below are valid
  view.setUint32(0, magic, true);
  view.setUint32(4, flags, true);
  view.setUint32(8, -(magic + flags) >>> 0, true);
  view.setUint32(12, 0x100000, true); // header address
  view.setUint32(16, 0x100000, true); // load address
  view.setUint32(20, 0, true); // load end: the whole file
  view.setUint32(24, 0, true); // no bss to clear
  view.setUint32(28, 0x100020, true); // entry
  image.set(code, 32);
  return image;
}

/** Where the bare harness takes its records and leaves its results. */
export const BARE_IN = 0x1000000;
export const BARE_OUT = 0x1800000;

/** Runs the records through the native harness; returns the result records. */
export function runHarness(exe: string, records: Uint8Array): Uint8Array {
  const r = spawnSync(exe, [], { input: records, maxBuffer: records.length * 2 + 65536 });
  if (r.error) throw new Error(`cannot run the native x87 harness ${exe}: ${r.error.message}`);
  if (r.status !== 0) {
    throw new Error(
      `the native x87 harness failed (status ${r.status}, signal ${r.signal}); ` +
        'this machine must run 32-bit x86 programs (IA-32 emulation)',
    );
  }
  const out = new Uint8Array(r.stdout.buffer, r.stdout.byteOffset, r.stdout.length);
  if (out.length !== records.length) {
    throw new Error(`the native x87 harness returned ${out.length} bytes for ${records.length}`);
  }
  return out;
}
