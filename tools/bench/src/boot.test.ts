import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startConsoleProcess, WORKLOAD_KEYS } from '@plex86/guest';
import { bootBenchmark, PLEX86_CLI, plex86Figures } from './boot.js';
import { qemuCountPlugin, readQemuCount } from './boot-qemu-count.js';
import { EXIT_PORT, multibootImage } from './multiboot-image.js';

describe('plex86 bench boot', () => {
  const run = async (args: string[]) => {
    const lines: string[] = [];
    await bootBenchmark.run(args, (line) => lines.push(line));
    return lines.join('\n');
  };

  it('prints its usage with --help', async () => {
    const usage = await run(['--help']);
    expect(usage).toMatch(/^plex86 bench boot /);
    expect(usage).toContain('--engines LIST');
    expect(usage).toContain('vgabios-stdvga.bin');
  });

  it('rejects engines and values it cannot use before it boots anything', async () => {
    await expect(run(['--engines', 'qemu,bochs'])).rejects.toThrow(/no engine "bochs"/);
    await expect(run(['--engines', 'qemu,qemu'])).rejects.toThrow(/twice/);
    await expect(run(['--baseline', 'kvm'])).rejects.toThrow(/--baseline: no engine "kvm"/);
    await expect(run(['--timeout', '0'])).rejects.toThrow(/--timeout wants a number above 0/);
    await expect(run(['--scale', 'x'])).rejects.toThrow(/--scale/);
    await expect(run(['--memory', '16'])).rejects.toThrow(/at least 32/);
    await expect(run(['--qemu-count', 'maybe'])).rejects.toThrow(/on or off/);
    await expect(run(['--qemu-cpu', 'x;rm'])).rejects.toThrow(/not a CPU model/);
    await expect(run(['--against', '/nonexistent/plex86.mjs'])).rejects.toThrow(/--against: no such file/);
    await expect(run(['--against', PLEX86_CLI, '--engines', 'qemu'])).rejects.toThrow(/leave out --engines/);
    await expect(run(['--rounds', '2'])).rejects.toThrow(/--rounds goes with --against/);
    await expect(run(['--against', PLEX86_CLI, '--rounds', '0'])).rejects.toThrow(/--rounds wants a positive integer/);
    await expect(run(['--passes', '0'])).rejects.toThrow(/--passes wants a positive integer/);
    await expect(run(['--against', PLEX86_CLI, '--passes', '2'])).rejects.toThrow(
      /--passes does not go with --against/,
    );
  });

  it('compares two builds that boot the default guest in turns', async () => {
    // The same build on both sides, one round at a small scale: the report must hold every measure.
    const out = await run(['--against', PLEX86_CLI, '--rounds', '1', '--scale', '0.01']);
    expect(out).toContain('round 1, this build: shell prompt after');
    expect(out).toContain('round 1, other build: shell prompt after');
    expect(out).toContain('1 of 1 rounds, the builds in turns');
    const row = (name: string) => out.split('\n').find((line) => line.startsWith(name)) ?? '';
    const boot = row('boot ').trim().split(/\s+/);
    expect(Number(boot[1])).toBeGreaterThan(0);
    expect(Number(boot[2])).toBeGreaterThan(0);
    // The ratio of the mean seconds (taken before they were rounded for printing).
    expect(Number((boot[3] ?? '').replace(/x$/, ''))).toBeCloseTo(Number(boot[2]) / Number(boot[1]), 1);
    expect(row('workload ')).toMatch(/\d+\.\d{3}x/);
    expect(row('sort -k2,2n')).not.toBe('');
  }, 900_000);

  it("gives plex86's instructions and MIPS for each step of the workload, in each pass", async () => {
    const out = await run(['--engines', 'plex86', '--scale', '0.01', '--passes', '2']);
    const lines = out.split('\n');
    /** Checks the step table under `head`; the steps add up to `workload` million instructions. */
    const checkSteps = (head: string, workload: number) => {
      const at = lines.indexOf(head);
      expect(at, head).toBeGreaterThan(0);
      expect(lines[at + 1]).toMatch(/^step\s+plex86 M\s+plex86 MIPS$/);
      let total = 0;
      for (const line of lines.slice(at + 2, at + 2 + WORKLOAD_KEYS.length)) {
        const [millions, mips] = line.trim().split(/\s+/).slice(-2);
        expect(Number(millions), line).toBeGreaterThan(0);
        expect(mips === 'n/a' || Number(mips) > 0, line).toBe(true);
        total += Number(millions);
      }
      expect(Math.abs(total - workload) / workload).toBeLessThan(0.1);
    };
    const steps = 'workload steps: millions of guest instructions and MIPS under each engine that counts them';
    // The summary gives each pass's workload instructions as MIPS times seconds.
    const summary = (lines.find((line) => /^plex86\s+\d/.test(line)) ?? '').trim().split(/\s+/);
    checkSteps(steps, Number(summary[2]) * Number(summary[3]));
    const second = (lines.find((line) => /^plex86\s+2\s/.test(line)) ?? '').trim().split(/\s+/);
    expect(second[4]).toBe('match');
    checkSteps(`pass 2, ${steps}`, Number(second[2]) * Number(second[3]));
    /** Checks the engine table under `head`: its instructions are the step table's above it. */
    const checkEngine = (head: string, stepsHead: string) => {
      const at = lines.indexOf(head);
      expect(at, head).toBeGreaterThan(0);
      expect(lines[at + 1]).toMatch(/^step\s+M\s+in page functions\s+M hand-offs\s+M relinks\s+M chained blocks$/);
      const stepsAt = lines.indexOf(stepsHead);
      let handoffs = 0;
      WORKLOAD_KEYS.forEach((_, i) => {
        const cells = (lines[at + 2 + i] ?? '').trim().split(/\s+/);
        const [millions, share, percent, hand, relinks, chained] = cells.slice(-6);
        const stepMillions = (lines[stepsAt + 2 + i] ?? '').trim().split(/\s+/).slice(-2)[0];
        expect(Number(millions), lines[at + 2 + i]).toBeCloseTo(Number(stepMillions), 0);
        expect(percent).toBe('%');
        expect(Number(share)).toBeGreaterThanOrEqual(0);
        expect(Number(share)).toBeLessThanOrEqual(100);
        expect(Number(relinks)).toBeLessThanOrEqual(Number(hand));
        expect(Number(chained)).toBeGreaterThanOrEqual(0);
        handoffs += Number(hand);
      });
      // The workload's shell and awk code runs hot enough to be compiled and to hand off.
      expect(handoffs).toBeGreaterThan(0);
    };
    checkEngine('plex86 engine per step: millions of instructions, hand-offs and interpreted blocks', steps);
    checkEngine(
      'pass 2, plex86 engine per step: millions of instructions, hand-offs and interpreted blocks',
      `pass 2, ${steps}`,
    );
  }, 300_000);
});

describe("QEMU's instruction-count plugin", () => {
  const dir = mkdtempSync(join(tmpdir(), 'plex86-qemu-count-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs a Multiboot program that loops `iterations` times (two instructions each) and exits. */
  const countLoop = (iterations: number): number => {
    const n = [iterations & 0xff, (iterations >>> 8) & 0xff, (iterations >>> 16) & 0xff, iterations >>> 24];
    const code = [0xb9, ...n, 0x49, 0x75, 0xfd, 0xb0, 0x00, 0xe6, EXIT_PORT, 0xf4]; // mov ecx; dec; jnz; out; hlt
    const kernel = join(dir, `loop-${iterations}.elf`);
    writeFileSync(kernel, multibootImage(code));
    const counter = join(dir, `count-${iterations}`);
    const qemu = spawnSync(
      'qemu-system-i386',
      [
        ...['-accel', 'tcg', '-display', 'none', '-nodefaults', '-kernel', kernel],
        ...['-device', `isa-debug-exit,iobase=${EXIT_PORT},iosize=1`],
        ...['-plugin', `${qemuCountPlugin()},out=${counter}`],
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    if (qemu.error)
      throw new Error(`qemu-system-i386 is missing: apt-get install qemu-system-x86 (${qemu.error.message})`);
    expect(qemu.status, qemu.stderr).toBe(1); // isa-debug-exit: (0 << 1) | 1
    return readQemuCount(counter);
  };

  it('counts the guest instructions QEMU runs', () => {
    const short = countLoop(1_000_000);
    const long = countLoop(6_000_000);
    // The firmware's share differs a little from run to run; the loop's share is exact.
    expect(short).toBeGreaterThan(2_000_000);
    expect(Math.abs(long - short - 10_000_000)).toBeLessThan(100_000);
  }, 120_000);

  it('reads 0 before QEMU has written a count', () => {
    expect(readQemuCount(join(dir, 'none'))).toBe(0);
  });
});

describe("plex86's instruction count while it runs", () => {
  const dir = mkdtempSync(join(tmpdir(), 'plex86-count-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is read from the statistics plex86 run --stats prints on its signal, and grows', async () => {
    // mov al, 'r'; out 0xe9, al; then inc eax; jmp $-1 for ever.
    const kernel = join(dir, 'loop.elf');
    writeFileSync(kernel, multibootImage([0xb0, 0x72, 0xe6, 0xe9, 0x40, 0xeb, 0xfd]));
    const machine = startConsoleProcess(process.execPath, [
      ...[PLEX86_CLI, 'run', '--kernel', kernel, '--debugcon', 'stdio', '--stats'],
    ]);
    try {
      await machine.console.waitFor('r', 20_000, 'the program to start');
      const first = await plex86Figures(machine);
      const second = await plex86Figures(machine);
      expect(first.instructions).toBeGreaterThan(0);
      expect(second.instructions).toBeGreaterThan(first.instructions);
      // The loop is one block that jumps to itself: past the compile threshold it runs in its page
      // function.
      expect(second.pageFunctionInstructions).toBeGreaterThan(first.pageFunctionInstructions);
      expect(second.pageFunctionInstructions).toBeLessThanOrEqual(second.instructions);
    } finally {
      machine.kill();
      await machine.exited;
    }
  }, 60_000);
});
