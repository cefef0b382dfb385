// Builds and runs the native x87 harness (x87-harness.asm) on the host CPU.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const RECORD_SIZE = 256;

const HERE = import.meta.dirname;

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
  let inc = `opcount equ ${ops.length}\nsection .data\nalign 4\noptable:\n`;
  for (let i = 0; i < ops.length; i++) inc += `    dd op_${i}\n`;
  inc += 'section .text\n';
  for (let i = 0; i < ops.length; i++) inc += `op_${i}:\n    ${ops[i]}\n    jmp op_done\n`;
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
