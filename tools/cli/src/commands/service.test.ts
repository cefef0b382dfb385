import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNatsBus, serveMethods } from '@plex86/bus';
import { SegmentPort } from '@plex86/hal-net';
import { ConsoleOutput, ConsoleServiceDefinition } from '@plex86/proto';
import { describe, expect, inject, it } from 'vitest';
import { main } from '../main.js';
import { captureIo } from '../testing.js';

const PLEX86 = new URL('../../bin/plex86.mjs', import.meta.url).pathname;

/** Starts `plex86 service ...` as a child process with piped stdio and collects what it writes. */
function startService(args: string[]) {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [PLEX86, 'service', ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const logs = { out: '', err: '' };
  child.stdout.on('data', (d: Buffer) => (logs.out += d.toString('latin1')));
  child.stderr.on('data', (d: Buffer) => (logs.err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, logs, exited };
}

async function until(condition: () => boolean, what: () => string): Promise<void> {
  for (let i = 0; i < 300 && !condition(); i++) await new Promise((r) => setTimeout(r, 50));
  if (!condition()) throw new Error(`timed out waiting for ${what()}`);
}

describe('plex86 service', () => {
  it('runs the storage service as its own process, found by discovery, stopped by SIGTERM', async () => {
    const url = inject('natsUrl');
    const images = mkdtempSync(join(tmpdir(), 'plex86-service-'));
    const child = spawn(process.execPath, [PLEX86, 'service', 'storage', '--nats', url, '--images', images], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    child.stdout.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr.on('data', (d: Buffer) => (log += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      let listed = '';
      for (let i = 0; i < 100 && !listed.includes('plex-storage'); i++) {
        await new Promise((r) => setTimeout(r, 200));
        const io = captureIo();
        await main(['services', '--nats', url], io);
        listed = io.stdout();
      }
      expect(listed, `service output:\n${log}`).toMatch(/plex-storage \d+\.\d+\.\d+/);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
      rmSync(images, { recursive: true, force: true });
    }
  }, 60_000);

  it('runs the net service as its own process: two interfaces on its segment exchange a frame', async () => {
    const url = inject('natsUrl');
    const service = startService(['net', '--nats', url, '--segment', 'cli-lan']);
    const bus = await createNatsBus({ servers: url, name: 'cli-net-test' });
    try {
      await until(
        () => service.logs.out.includes('net service ready'),
        () => `the net service to start:\n${service.logs.out}${service.logs.err}`,
      );
      const got: number[][] = [];
      const mac = (n: number) => `52:54:00:00:00:0${n}`;
      const a = await SegmentPort.attach(bus, { segment: 'cli-lan', vm: 'vm1', nic: 'net0', mac: mac(1) });
      const b = await SegmentPort.attach(bus, {
        segment: 'cli-lan',
        vm: 'vm2',
        nic: 'net0',
        mac: mac(2),
        onFrame: (f) => got.push([...f]),
      });
      expect(b.memberCount).toBe(2);
      const frame = [0x52, 0x54, 0, 0, 0, 2, 0x52, 0x54, 0, 0, 0, 1, 0x08, 0x06, 1, 2, 3];
      expect(a.send(new Uint8Array(frame))).toBe(true);
      await until(
        () => got.length === 1,
        () => 'the frame',
      );
      expect(got).toEqual([frame]);
      await a.detach();
      await b.detach();
      service.child.kill('SIGTERM');
      expect(await service.exited).toBe(0);
    } finally {
      service.child.kill('SIGKILL');
      await bus.close();
    }
  }, 60_000);

  it('runs a console backend as its own process: output to a file', async () => {
    const url = inject('natsUrl');
    const dir = mkdtempSync(join(tmpdir(), 'plex86-console-'));
    const path = join(dir, 'ttyS0.log');
    const service = startService(['console', '--nats', url, '--vm', 'clivm', '--backend', `file:${path}`]);
    const bus = await createNatsBus({ servers: url, name: 'cli-console-test' });
    try {
      await until(
        () => service.logs.err.includes('plex86 console 0 of VM clivm'),
        () => `the console backend to start:\n${service.logs.err}`,
      );
      for (const [i, text] of ['Linux version', ' 6.1\n'].entries()) {
        bus.publish(
          'plex86.clivm.console.0.out',
          ConsoleOutput.encode({
            consoleId: '0',
            sequence: BigInt(i + 1),
            data: new TextEncoder().encode(text),
            virtualTimeNs: 0n,
          }).finish(),
        );
      }
      await until(
        () => {
          try {
            return readFileSync(path, 'utf8') === 'Linux version 6.1\n';
          } catch {
            return false;
          }
        },
        () => `the output in ${path}`,
      );
      service.child.kill('SIGTERM');
      expect(await service.exited).toBe(0);
    } finally {
      service.child.kill('SIGKILL');
      await bus.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('runs a console backend on stdio: keystrokes reach the monitor, Ctrl-A x ends it', async () => {
    const url = inject('natsUrl');
    const bus = await createNatsBus({ servers: url, name: 'cli-console-stdio-test' });
    const typed: number[] = [];
    const monitor = await serveMethods(
      bus,
      { name: 'cli-test-console', version: '0.0.1', queue: '' },
      'plex86.stdiovm.console.0',
      ConsoleServiceDefinition,
      {
        writeConsoleInput: (request) => {
          typed.push(...request.data);
          return { acceptedBytes: request.data.length };
        },
      },
    );
    const service = startService(['console', '--nats', url, '--vm', 'stdiovm']);
    try {
      await until(
        () => service.logs.err.includes('plex86 console 0 of VM stdiovm on stdio'),
        () => `the console backend to start:\n${service.logs.err}`,
      );
      bus.publish(
        'plex86.stdiovm.console.0.out',
        ConsoleOutput.encode({
          consoleId: '0',
          sequence: 1n,
          data: new TextEncoder().encode('# '),
          virtualTimeNs: 0n,
        }).finish(),
      );
      await until(
        () => service.logs.out === '# ',
        () => `the prompt on stdout, got ${JSON.stringify(service.logs.out)}`,
      );
      service.child.stdin.write('ls\r\x01\x01');
      await until(
        () => typed.length === 4,
        () => `the keystrokes, got ${JSON.stringify(typed)}`,
      );
      expect(typed).toEqual([0x6c, 0x73, 0x0d, 0x01]);
      service.child.stdin.write('\x01x');
      expect(await service.exited).toBe(0);
      expect(service.logs.err).toContain('plex86 console stopped');
    } finally {
      service.child.kill('SIGKILL');
      await monitor.stop();
      await bus.close();
    }
  }, 60_000);

  it('names an unknown service', async () => {
    const io = captureIo();
    expect(await main(['service', 'teleporter'], io)).toBe(2);
    expect(io.stderr()).toContain('no service named "teleporter"');
  });
});
