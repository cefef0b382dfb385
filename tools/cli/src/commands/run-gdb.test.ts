/**
 * Debian's gdb in batch mode debugging the default Linux guest, booted by `plex86 run --gdb-wait` in
 * a child process: gdb finds the CPU at the kernel's 32-bit entry point (startup_32, the vmlinux ELF
 * entry; the bzImage is unpacked on the host, so the CPU starts there), reads registers and memory
 * (linear and, through `monitor phys`, physical), steps, asks for the SBE attribute page of the code
 * it stepped (`monitor sbe`), steps on until the kernel has its stack, watches the
 * stack slot below it and continues to the call that writes it, breaks at the return address it
 * wrote, lets the kernel run, interrupts it with Ctrl-C (SIGINT to gdb) once it prints its banner,
 * reads the kernel's code through its paging, and detaches; the guest then boots to its shell.
 * Once with the protocol server inside `plex86 run --gdb`, once with `plex86 service debugger` as its
 * own process talking to the run over a real nats-server.
 */

import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildGuest, GUEST_PROMPT, type ConsoleProcess, type Guest } from '@plex86/guest';
import { unpackKernel } from '@plex86/monitor';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { main } from '../main.js';
import { BOOT_TIMEOUT_MS, ChildProcesses } from '../guest-testing.js';
import { captureIo } from '../testing.js';

const GDB = '/usr/bin/gdb';
const STEP_TIMEOUT_MS = 300_000;
/** Linux's PAGE_OFFSET on i386 (3G/1G split): kernel text at virtual A is at physical A - PAGE_OFFSET. */
const PAGE_OFFSET = 0xc0000000;

const dir = mkdtempSync(join(tmpdir(), 'plex86-gdb-'));
let guest: Guest;
/** The vmlinux ELF entry (physical) and the 16 bytes there. */
let entry: { address: number; bytes: number[] };

beforeAll(() => {
  if (!existsSync(GDB)) throw new Error(`${GDB} is missing: install Debian's gdb (apt-get install gdb)`);
});

afterAll(() => {
  children.killAll();
  rmSync(dir, { recursive: true, force: true });
});

/** e_entry of an ELF32 image and the 16 file bytes its PT_LOAD segment holds there. */
function elfEntry(elf: Uint8Array): { address: number; bytes: number[] } {
  const view = new DataView(elf.buffer, elf.byteOffset, elf.byteLength);
  const address = view.getUint32(0x18, true);
  const phoff = view.getUint32(0x1c, true);
  const phentsize = view.getUint16(0x2a, true);
  const phnum = view.getUint16(0x2c, true);
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    const paddr = view.getUint32(ph + 12, true);
    const filesz = view.getUint32(ph + 16, true);
    if (view.getUint32(ph, true) === 1 && address >= paddr && address + 16 <= paddr + filesz) {
      const at = view.getUint32(ph + 4, true) + (address - paddr);
      return { address, bytes: [...elf.subarray(at, at + 16)] };
    }
  }
  throw new Error(`no loadable segment holds the ELF entry ${address.toString(16)}`);
}

const children = new ChildProcesses();
const start = (command: string, args: string[]): ConsoleProcess =>
  children.start(command, args, { stderrToConsole: true });
const plex86 = (args: string[]): ConsoleProcess => children.plex86(args, { stderrToConsole: true });

/** The gdb session; @@ lines are markers the test reads values from. */
function gdbScript(port: number): string {
  return [
    'set pagination off',
    'set confirm off',
    'set width 0',
    // Requests cross a busy host (and NATS); the default of 2 s is too short for that.
    'set remotetimeout 120',
    `target remote 127.0.0.1:${port}`,
    'printf "@@entry pc=%#x cs=%#x ss=%#x eflags=%#x\\n", (unsigned int)$pc, $cs, $ss, $eflags',
    'echo @@linear\\n',
    'x/16xb $pc',
    'echo @@physical\\n',
    `monitor phys ${entry.address} 16`,
    'echo @@end\\n',
    'stepi',
    'printf "@@step pc=%#x\\n", (unsigned int)$pc',
    // The step scanned the entry's code: its SBE attribute page (GetSbePage, over NATS in the second run).
    'echo @@sbe\\n',
    `monitor sbe ${entry.address}`,
    // startup_32 loads its segments and then its stack pointer.
    'set $esp0 = $esp',
    'set $n = 0',
    'while $esp == $esp0 && $n < 200',
    '  stepi',
    '  set $n = $n + 1',
    'end',
    'set $slot = (unsigned int)$esp - 4',
    'printf "@@stack esp=%#x steps=%d\\n", (unsigned int)$esp, $n',
    'eval "watch *(unsigned int *)%#x", $slot',
    'continue',
    'printf "@@watched pc=%#x esp=%#x value=%#x\\n", (unsigned int)$pc, (unsigned int)$esp, *(unsigned int *)$slot',
    'delete',
    'eval "break *%#x", *(unsigned int *)$slot',
    'continue',
    'printf "@@returned pc=%#x esp=%#x\\n", (unsigned int)$pc, (unsigned int)$esp',
    'delete',
    'echo @@running\\n',
    'continue',
    'printf "@@interrupted pc=%#x\\n", (unsigned int)$pc',
    'echo @@linear\\n',
    'x/8xb $pc',
    'echo @@physical\\n',
    `eval "monitor phys %#x 8", (unsigned int)$pc - ${PAGE_OFFSET}`,
    'echo @@end\\n',
    'detach',
    '',
  ].join('\n');
}

/** The numbers after `name=` on the marker line `@@tag`. */
function marker(output: string, tag: string, from = 0): Record<string, number> {
  const at = output.indexOf(`@@${tag} `, from);
  if (at < 0) throw new Error(`gdb printed no @@${tag} line:\n${output.slice(-3000)}`);
  const line = output.slice(at, output.indexOf('\n', at));
  const values: Record<string, number> = {};
  for (const m of line.matchAll(/(\w+)=(0x[0-9a-f]+|\d+)/g)) values[m[1]] = Number(m[2]);
  return values;
}

/** The bytes gdb's x/xb and the monitor's hex dump printed between @@linear, @@physical and @@end. */
function dumps(output: string, from: number): { linear: number[]; physical: number[] } {
  const linearAt = output.indexOf('@@linear\n', from);
  const physicalAt = output.indexOf('@@physical\n', linearAt);
  const endAt = output.indexOf('@@end\n', physicalAt);
  if (linearAt < 0 || physicalAt < 0 || endAt < 0) throw new Error(`no memory dumps:\n${output.slice(-3000)}`);
  const linear = [...output.slice(linearAt, physicalAt).matchAll(/\t0x([0-9a-f]{2})/g)].map((m) => parseInt(m[1], 16));
  const physical = output
    .slice(physicalAt + 11, endAt)
    .split('\n')
    .flatMap((line) => [...line.slice(10, 58).matchAll(/([0-9a-f]{2})/g)].map((m) => parseInt(m[1], 16)));
  return { linear, physical };
}

/** Runs the gdb session against a VM held at its first instruction and checks what gdb saw. */
async function debugKernel(port: number, vm: ConsoleProcess): Promise<void> {
  const script = join(dir, `session-${port}.gdb`);
  writeFileSync(script, gdbScript(port));
  // gdb prints `monitor` output on stderr and its own on stdout: one pipe for both keeps their order
  // (two pipes are read in whatever order they become ready). exec keeps gdb at the PID SIGINT goes to.
  const gdb = start('/bin/sh', ['-c', 'exec "$0" "$@" 2>&1', GDB, '-nx', '-batch', '-q', '-x', script]);
  await gdb.console.waitFor('@@running', STEP_TIMEOUT_MS, 'gdb up to the free run');
  // Ctrl-C once the kernel is well under way.
  await vm.console.waitFor('Linux version', BOOT_TIMEOUT_MS, 'the kernel banner while gdb runs the guest');
  gdb.child.kill('SIGINT');
  const end = await gdb.exited;
  const out = gdb.console.output;
  expect(end.code, out).toBe(0);

  // Held at the kernel's 32-bit entry point: flat protected mode with the boot protocol's selectors.
  expect(marker(out, 'entry')).toMatchObject({ pc: entry.address, cs: 0x10, ss: 0x18 });
  const first = dumps(out, 0);
  expect(first.linear).toEqual(entry.bytes);
  expect(first.physical).toEqual(entry.bytes);
  expect(marker(out, 'step').pc).toBeGreaterThan(entry.address);
  const page = (entry.address & ~0xfff).toString(16).padStart(8, '0');
  const sbe = out.slice(out.indexOf('@@sbe'));
  expect(sbe).toMatch(new RegExp(`^page ${page} \\(linear ${page}\\): [1-9]\\d* marked bytes`, 'm'));
  // The entry's own byte starts an instruction (bit 0 of its attribute byte).
  const rowStart = entry.address & ~0xf;
  const row = new RegExp(`^${rowStart.toString(16).padStart(8, '0')} {2}((?:[0-9a-f]{2} ){15}[0-9a-f]{2})$`, 'm').exec(
    sbe,
  );
  expect(row, sbe.slice(0, 2000)).not.toBeNull();
  expect(parseInt((row?.[1] ?? '').split(' ')[entry.address & 0xf] ?? '0', 16) & 1).toBe(1);

  // The watchpoint fired after the first write to the slot below the new stack: a call's return address.
  const stack = marker(out, 'stack');
  expect(stack.steps).toBeGreaterThan(0);
  expect(out).toMatch(/Hardware watchpoint \d+: \*\(unsigned int \*\)0x[0-9a-f]+\s+Old value = \d+\s+New value = \d+/);
  const watched = marker(out, 'watched');
  expect(watched.esp).toBe(stack.esp - 4);
  expect(watched.value).toBeGreaterThan(entry.address);
  expect(watched.value).toBeLessThan(entry.address + 0x1000);
  // The breakpoint at that return address stops the CPU when the callee returns.
  expect(out).toMatch(new RegExp(`Breakpoint \\d+, 0x0*${watched.value.toString(16)} in`));
  expect(marker(out, 'returned')).toEqual({ pc: watched.value, esp: stack.esp });

  // Ctrl-C stopped the running kernel; its code reads the same through paging and physically.
  expect(out).toContain('Program received signal SIGINT');
  const interrupted = marker(out, 'interrupted');
  expect(interrupted.pc).toBeGreaterThanOrEqual(PAGE_OFFSET);
  const kernel = dumps(out, out.indexOf('@@interrupted'));
  expect(kernel.linear).toHaveLength(8);
  // Physically at pc - PAGE_OFFSET only in the kernel's direct map (all of the guest's 128 MiB
  // memory); Ctrl-C may also land in module code, which lives in vmalloc space above it.
  if (interrupted.pc < PAGE_OFFSET + 0x8000000) {
    expect(kernel.physical, out.slice(out.indexOf('@@interrupted'))).toEqual(kernel.linear);
  }
  expect(out).toContain('[Inferior 1 (Remote target) detached]');

  // Detached: the guest boots on to its shell.
  await vm.console.waitFor(GUEST_PROMPT, BOOT_TIMEOUT_MS, 'shell prompt after detach');
  await vm.console.typeLines(['echo gdb-$((6*7))'], STEP_TIMEOUT_MS);
  await vm.console.waitFor('gdb-42', STEP_TIMEOUT_MS, 'the shell answering after detach');
  vm.child.stdin?.write('\x01x');
  expect((await vm.exited).code).toBe(0);
}

function listeningPort(output: string): number {
  const m = /listening on tcp:127\.0\.0\.1:(\d+)/.exec(output);
  if (m === null) throw new Error(`no listening address in:\n${output}`);
  return Number(m[1]);
}

// A 64 KiB BIOS-style image: from the reset vector it stores 4242h at 0:0500 and reports 0x15 to the
// exit port (status (0x15 << 1) | 1 = 43).
const ROM_SOURCE = `
bits 16
org 0
start:
  xor ax, ax
  mov ds, ax
  mov word [0x500], 0x4242
  mov al, 0x15
  out 0xf4, al
  hlt
times 0xfff0 - ($ - $$) db 0
  jmp 0xf000:start
times 0x10000 - ($ - $$) db 0
`;

function runGdb(commands: string[]): Promise<string> {
  const args = ['-nx', '-batch', '-q', ...commands.flatMap((c) => ['-ex', c])];
  return new Promise((resolve) => {
    execFile(GDB, args, { timeout: 120_000 }, (_err, stdout, stderr) => resolve(stdout + stderr));
  });
}

describe('plex86 run --gdb with a test program', () => {
  let rom: string;

  beforeAll(() => {
    writeFileSync(join(dir, 'rom.asm'), ROM_SOURCE);
    rom = join(dir, 'rom.bin');
    try {
      execFileSync('nasm', ['-f', 'bin', '-o', rom, join(dir, 'rom.asm')]);
    } catch (e) {
      throw new Error(`assembling the test ROM needs nasm (apt-get install nasm): ${(e as Error).message}`);
    }
  });

  it('holds the CPU at the reset vector for gdb, which steps, watches, asks monitor sbe and stats and sees the exit-port exit', async () => {
    const io = captureIo();
    const run = main(['run', '--rom', rom, '--exit-port', '0xf4', '--gdb', 'tcp:127.0.0.1:0', '--gdb-wait'], io);
    for (let i = 0; i < 600 && !io.stderr().includes('waiting for a debugger'); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(io.stderr()).toContain('waiting for a debugger at F000:FFF0');
    const out = await runGdb([
      'set confirm off',
      `target remote 127.0.0.1:${listeningPort(io.stderr())}`,
      'printf "@@reset cs=%#x eip=%#x\\n", $cs, $eip',
      'stepi',
      'printf "@@jumped cs=%#x eip=%#x\\n", $cs, $eip',
      'watch *(unsigned short *)0x500',
      'continue',
      'printf "@@watched eip=%#x\\n", $eip',
      'monitor sbe 0xf0004',
      'monitor sbe 0x500',
      'monitor stats',
      'continue',
    ]);
    expect(marker(out, 'reset')).toEqual({ cs: 0xf000, eip: 0xfff0 });
    expect(marker(out, 'jumped')).toEqual({ cs: 0xf000, eip: 0 });
    expect(out).toMatch(/Old value = 0\s+New value = 16962/);
    // After xor, mov ds and the 6-byte store.
    expect(marker(out, 'watched')).toEqual({ eip: 10 });
    // monitor sbe (GetSbePage over the run's bus): the attribute page of the ROM code that ran at
    // F000:0000 (linear F0000); xor ax,ax, mov ds,ax and the store start instructions, mov ds is
    // sensitive, the store's other five bytes are code but no instruction start.
    expect(out).toMatch(/page 000f0000 \(linear 000f0000\): \d+ marked bytes/);
    const row = /^000f0000 {2}((?:[0-9a-f]{2} ){15}[0-9a-f]{2})$/m.exec(out);
    expect(row, out).not.toBeNull();
    const attrs = (row?.[1] ?? '').split(' ').map((b) => parseInt(b, 16));
    const INSN_START = 0x01;
    const CODE = 0x02;
    const SENSITIVE = 0x10;
    expect([0, 2, 4].map((i) => attrs[i] & INSN_START)).toEqual([INSN_START, INSN_START, INSN_START]);
    expect(attrs[2] & SENSITIVE).toBe(SENSITIVE);
    expect(attrs.slice(5, 10).map((b) => b & (INSN_START | CODE))).toEqual(Array(5).fill(CODE));
    // The data page the store wrote holds no scanned code.
    expect(out).toContain('page 00000000: not scanned');
    // monitor stats: the session's view and this process's counters (localMonitor): the far jump
    // and the three instructions up to the watch hit.
    expect(out).toMatch(/^state +halted$/m);
    expect(out).toMatch(/^last stop +STOP_REASON_WATCHPOINT at 000f000a \(#\d+\)$/m);
    expect(out).toMatch(/^instructions retired +4$/m);
    expect(out).toMatch(/^instructions +4$/m);
    expect(out).toMatch(/^monitor exits +[1-9]\d* sensitive, 0 faults, 0 interrupts$/m);
    expect(out).toMatch(/^block source +SBE: [1-9]\d* blocks scanned/m);
    expect(out).toMatch(/exited normally|exited with code/);
    expect(await run).toBe(43);
  });

  it('refuses a bad --gdb address and --gdb-wait with nothing to connect through', async () => {
    const io = captureIo();
    expect(await main(['run', '--rom', join(dir, 'rom.bin'), '--gdb', 'localhost'], io)).toBe(2);
    expect(io.stderr()).toContain('--gdb: listen address "localhost" must be tcp:HOST:PORT');
    const io2 = captureIo();
    expect(await main(['run', '--rom', join(dir, 'rom.bin'), '--gdb-wait'], io2)).toBe(2);
    expect(io2.stderr()).toContain('--gdb-wait needs --gdb');
  });
});

describe('real gdb against the default Linux guest', () => {
  beforeAll(async () => {
    guest = await buildGuest();
    entry = elfEntry(await unpackKernel(new Uint8Array(readFileSync(guest.kernel))));
  }, BOOT_TIMEOUT_MS);

  it(
    'plex86 run --gdb --gdb-wait: stops at startup_32, steps, watches, breaks, interrupts, detaches, boots',
    async () => {
      const vm = plex86([
        'run',
        ...['--kernel', guest.kernel, '--initrd', guest.initrd, '--append', 'console=ttyS0'],
        ...['--gdb', 'tcp:127.0.0.1:0', '--gdb-wait'],
      ]);
      await vm.console.waitFor('waiting for a debugger', BOOT_TIMEOUT_MS, 'the VM held for gdb');
      expect(vm.console.output).toContain(
        `waiting for a debugger at 0010:${entry.address.toString(16).padStart(8, '0')}`,
      );
      await debugKernel(listeningPort(vm.console.output), vm);
    },
    BOOT_TIMEOUT_MS * 2,
  );

  it(
    'plex86 service debugger over NATS against plex86 run --nats --gdb-wait: the same session',
    async () => {
      const url = inject('natsUrl');
      const vm = plex86([
        'run',
        ...['--kernel', guest.kernel, '--initrd', guest.initrd, '--append', 'console=ttyS0'],
        ...['--nats', url, '--vm', 'gdbvm', '--gdb-wait'],
      ]);
      await vm.console.waitFor('waiting for a debugger', BOOT_TIMEOUT_MS, 'the VM held for gdb');
      const debuggerService = plex86([
        'service',
        'debugger',
        ...['--nats', url, '--vm', 'gdbvm', '--listen', '127.0.0.1:0'],
      ]);
      await debuggerService.console.waitFor('listening on', 60_000, 'the debugger service');
      await debugKernel(listeningPort(debuggerService.console.output), vm);
      debuggerService.child.kill('SIGTERM');
      expect((await debuggerService.exited).code).toBe(0);
    },
    BOOT_TIMEOUT_MS * 2,
  );
});
