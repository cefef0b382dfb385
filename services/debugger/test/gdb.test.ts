/**
 * The protocol server against the real gdb in batch mode: the target description, register and memory
 * packets, breakpoints, single steps, watchpoints, monitor commands and detach must all be what gdb
 * itself accepts. The target is the in-memory fake; its "execution" jumps to the next breakpoint or
 * performs one write into a watched range.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { StopReason, BreakpointKind, WatchKind } from '@plex86/proto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startDebugger, type DebuggerServer } from '../src/server.js';
import { FakeTarget } from './fake-target.js';

const GDB = '/usr/bin/gdb';

/**
 * Jumps to the next breakpoint above EIP on continue, or "executes" one 3-byte instruction that
 * accesses the first watched range: a write watch sees the byte there incremented, a read or access
 * watch a read (memory unchanged).
 */
class JumpingTarget extends FakeTarget {
  /** Every watchpoint inserted, as kind:address:length. */
  readonly inserted: string[] = [];

  override async insertWatchpoint(kind: WatchKind, address: number, length: number): Promise<void> {
    await super.insertWatchpoint(kind, address, length);
    this.inserted.push(`${kind}:${address.toString(16)}:${length}`);
  }

  override async resume(): Promise<void> {
    await super.resume();
    setTimeout(() => this.arrive(), 5);
  }

  private arrive(): void {
    const watch = [...this.watchpoints][0];
    if (watch !== undefined) {
      const [kindText, address, lengthText] = watch.split(':');
      const kind = Number(kindText) as WatchKind;
      const at = parseInt(address, 16);
      if (kind === WatchKind.WATCH_KIND_WRITE) this.memory[at] = (this.memory[at] + 1) & 0xff;
      this.registers.eip += 3;
      this.stopNow(StopReason.STOP_REASON_WATCHPOINT, {
        $case: 'watchpoint',
        value: { kind, address: BigInt(at), length: Number(lengthText) },
      });
      return;
    }
    const targets = [...this.breakpoints]
      .map((b) => parseInt(b.split(':')[1], 16))
      .filter((a) => a > this.registers.eip)
      .sort((a, b) => a - b);
    if (targets.length === 0) return;
    this.registers.eip = targets[0];
    this.stopNow(StopReason.STOP_REASON_BREAKPOINT, {
      $case: 'breakpoint',
      value: { kind: BreakpointKind.BREAKPOINT_KIND_SOFTWARE, address: BigInt(targets[0]) },
    });
  }
}

function runGdb(commands: string[]): Promise<{ code: number; output: string }> {
  const args = ['-nx', '-batch', '-q', ...commands.flatMap((c) => ['-ex', c])];
  return new Promise((resolve) => {
    execFile(GDB, args, { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, output: stdout + stderr });
    });
  });
}

describe('real gdb against the protocol server', () => {
  let target: JumpingTarget;
  let server: DebuggerServer;
  const log: string[] = [];

  beforeEach(async () => {
    if (!existsSync(GDB)) throw new Error(`${GDB} is missing: install Debian's gdb (apt-get install gdb)`);
    target = new JumpingTarget();
    target.memory.set([0xde, 0xad, 0xbe, 0xef], 0x30);
    server = await startDebugger({ listen: 'tcp:127.0.0.1:0', target, log: (l) => log.push(l) });
  });

  afterEach(async () => {
    await server.close();
  });

  it('connects, reads registers and memory, breaks, steps, watches, runs monitor commands and detaches', async () => {
    const { code, output } = await runGdb([
      'set pagination off',
      'set confirm off',
      `target remote 127.0.0.1:${server.address.port}`,
      'p/x $eip',
      'p/x $eax',
      'p/x $cs',
      'p/x $gs',
      'p $st0',
      'p/x $fstat',
      'p/x $cr3',
      'p $eflags',
      'x/4xb 0x30',
      'set var $ebx = 0x5a5a',
      'p/x $ebx',
      'set {unsigned char}0x34 = 0x77',
      'x/1xb 0x34',
      'break *0x120',
      'continue',
      'p/x $eip',
      'stepi',
      'p/x $eip',
      'delete',
      'watch *(int *)0x40',
      'continue',
      'delete',
      'monitor phys 0x30 4',
      'detach',
    ]);
    expect(code, output).toBe(0);
    expect(output).toContain('$1 = 0x100');
    expect(output).toContain('$2 = 0x11223344');
    expect(output).toContain('$3 = 0x8');
    expect(output).toContain('$4 = 0x18');
    expect(output).toContain('$5 = 1');
    expect(output).toContain('$6 = 0x3800');
    expect(output).toContain('$7 = 0x9000');
    expect(output).toMatch(/\$8 = \[ IF \]/);
    expect(output).toMatch(/0x30:\s+0xde\s+0xad\s+0xbe\s+0xef/);
    expect(output).toContain('$9 = 0x5a5a');
    expect(target.registers.ebx).toBe(0x5a5a);
    expect(output).toMatch(/0x34:\s+0x77/);
    expect(target.memory[0x34]).toBe(0x77);
    expect(output).toMatch(/Breakpoint 1, 0x00000120 in \?\? \(\)/);
    expect(output).toContain('$10 = 0x120');
    expect(output).toContain('$11 = 0x121');
    expect(output).toMatch(/Hardware watchpoint 2: \*\(int \*\)0x40/);
    expect(output).toMatch(/Old value = 0\s+New value = 1\s+0x00000124 in/);
    expect(output).toMatch(/00000030 {2}de ad be ef {2}/);
    expect(output).toMatch(/\[Inferior 1 \(Remote target\) detached\]/);
    expect(target.calls).toContain('detach true');
  });

  it('sets read and access watchpoints with rwatch and awatch and reports their hits as gdb expects', async () => {
    target.memory.set([0x78, 0x56, 0x34, 0x12], 0x60);
    const { code, output } = await runGdb([
      'set pagination off',
      'set confirm off',
      `target remote 127.0.0.1:${server.address.port}`,
      'rwatch *(int *)0x60',
      'continue',
      'p/x $eip',
      'delete',
      'awatch *(short *)0x62',
      'continue',
      'p/x $eip',
      'delete',
      'detach',
    ]);
    expect(code, output).toBe(0);
    expect(output).toMatch(/Hardware read watchpoint 1: \*\(int \*\)0x60\s+Value = 305419896\s+0x00000103 in/);
    expect(output).toContain('$1 = 0x103');
    expect(output).toMatch(
      /Hardware access \(read\/write\) watchpoint 2: \*\(short \*\)0x62\s+Value = 4660\s+0x00000106 in/,
    );
    expect(output).toContain('$2 = 0x106');
    // gdb set each with its own packet (Z3 read, Z4 access) and removed them again.
    expect(new Set(target.inserted)).toEqual(
      new Set([`${WatchKind.WATCH_KIND_READ}:60:4`, `${WatchKind.WATCH_KIND_ACCESS}:62:2`]),
    );
    expect(target.watchpoints.size).toBe(0);
  });

  it('kills the target with kill, which gdb sends as vKill and waits to hear answered', async () => {
    const { code, output } = await runGdb([
      'set confirm off',
      `target remote 127.0.0.1:${server.address.port}`,
      'kill',
      'info inferiors',
    ]);
    expect(code, output).toBe(0);
    expect(output).toContain('[Inferior 1 (Remote target) killed]');
    expect(output).not.toContain('Remote connection closed');
    expect(target.calls).toContain('kill');
    expect(target.calls.some((c) => c.startsWith('detach'))).toBe(false);
  });
});
