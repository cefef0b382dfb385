/**
 * Assembles the nasm test programs in test/programs and runs them on a Machine, capturing the
 * debug console. nasm (Debian package `nasm`) must be installed; the error says so otherwise.
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Machine, type MachineConfig, type RunResult } from '../../src/machine/machine.js';

export const PROGRAMS_DIR = join(import.meta.dirname, '../programs');

/** Assembles test/programs/<name>.asm as a flat binary (nasm -f bin). */
export function assemble(name: string): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'plex86-nasm-'));
  const out = join(dir, `${name}.bin`);
  try {
    execFileSync(
      'nasm',
      ['-Werror', '-f', 'bin', '-I', `${PROGRAMS_DIR}/`, '-o', out, join(PROGRAMS_DIR, `${name}.asm`)],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    return new Uint8Array(readFileSync(out));
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
    if (err.code === 'ENOENT') {
      throw new Error('nasm is not installed: these tests assemble their programs with it (apt-get install nasm)');
    }
    throw new Error(`nasm failed on ${name}.asm:\n${err.stderr?.toString() ?? err.message}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Assembles test/programs/<name>.asm as an ELF object and links it at 1 MiB (nasm + GNU ld). */
export function assembleElf(name: string): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'plex86-nasm-'));
  const obj = join(dir, `${name}.o`);
  const out = join(dir, `${name}.elf`);
  try {
    runTool('nasm', ['-Werror', '-f', 'elf32', '-o', obj, join(PROGRAMS_DIR, `${name}.asm`)], 'nasm');
    runTool('ld', ['-m', 'elf_i386', '-Ttext=0x100000', '-e', '_start', '-o', out, obj], 'binutils');
    return new Uint8Array(readFileSync(out));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs a build tool (nasm, ld); a missing tool fails with the Debian package that provides it. */
export function runTool(tool: string, args: string[], pkg: string): void {
  try {
    execFileSync(tool, args, { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26 });
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
    if (err.code === 'ENOENT')
      throw new Error(`${tool} is not installed: these tests need it (apt-get install ${pkg})`);
    throw new Error(`${tool} failed:\n${err.stderr?.toString().slice(0, 2000) ?? err.message}`);
  }
}

export interface ProgramRun extends RunResult {
  /** Debug-console output (port 0xE9). */
  output: string;
  machine: Machine;
}

export const EXIT_PORT = 0xf4;

/** Runs a Multiboot test program; the exit port is 0xF4 and the debug console 0xE9. */
export async function runKernel(
  image: Uint8Array,
  maxInstructions = 5_000_000,
  memory = 16 << 20,
  config: Partial<MachineConfig> = {},
): Promise<ProgramRun> {
  // Every block is compiled on its first run, so the programs exercise compiled blocks too.
  const machine = new Machine({ memory, compileThreshold: 0, ...config });
  let output = '';
  machine.addDebugcon(0xe9, (b) => (output += String.fromCharCode(b)));
  machine.setExitPort(EXIT_PORT);
  machine.loadKernel(image);
  const result = await machine.run(maxInstructions);
  return { ...result, output, machine };
}

/** Runs a BIOS-style test program from the reset vector. */
export async function runRom(image: Uint8Array, maxInstructions = 5_000_000, memory = 16 << 20): Promise<ProgramRun> {
  const machine = new Machine({ memory, compileThreshold: 0 });
  let output = '';
  machine.addDebugcon(0xe9, (b) => (output += String.fromCharCode(b)));
  machine.setExitPort(EXIT_PORT);
  machine.loadBios(image);
  const result = await machine.run(maxInstructions);
  return { ...result, output, machine };
}
