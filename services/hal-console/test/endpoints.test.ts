import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { createInProcessBus, createNatsBus } from '@plex86/bus';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { main } from '../src/main.js';
import { parseTcpAddress, startConsoleBackend, stdioEndpoint, tcpEndpoint } from '../src/index.js';
import { FakeMonitorConsole } from './fake-monitor.js';

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (condition()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const text = (bytes: number[]) => new TextDecoder().decode(new Uint8Array(bytes));
const quiet = { warn: () => undefined, error: () => undefined };

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'plex86-console-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('stdio endpoint', () => {
  it('puts a TTY in raw mode, passes keystrokes (Ctrl-A Ctrl-A as one Ctrl-A), quits on Ctrl-A x, restores the TTY', async () => {
    const bus = createInProcessBus();
    const monitor = await new FakeMonitorConsole(bus, 'vm1', '0').start();
    const stdin = Object.assign(new PassThrough(), {
      isTTY: true,
      modes: [] as boolean[],
      setRawMode(raw: boolean) {
        this.modes.push(raw);
        return this;
      },
    });
    const stdout = new PassThrough();
    let shown = '';
    stdout.on('data', (d: Buffer) => (shown += d.toString()));
    const backend = startConsoleBackend(bus, { vm: 'vm1', endpoint: stdioEndpoint({ stdin, stdout }), logger: quiet });
    let quit = false;
    void backend.quit.then(() => (quit = true));
    expect(stdin.modes).toEqual([true]);

    monitor.output('login: ');
    stdin.write(Buffer.from([0x72, 0x01, 0x01, 0x03, 0x0d]));
    await until(() => shown === 'login: ' && monitor.buffer.length === 4, 'output and input');
    expect(monitor.buffer).toEqual([0x72, 0x01, 0x03, 0x0d]);
    expect(quit).toBe(false);

    stdin.write(Buffer.from([0x01, 0x78, 0x61]));
    await until(() => quit, 'Ctrl-A x to quit');
    await backend.inputIdle();
    expect(monitor.buffer).toEqual([0x72, 0x01, 0x03, 0x0d]);
    await backend.stop();
    expect(stdin.modes).toEqual([true, false]);
    await monitor.stop();
    await bus.close();
  });
});

describe('TCP endpoint', () => {
  it('listens on loopback only', () => {
    expect(parseTcpAddress('4444')).toEqual({ host: '127.0.0.1', port: 4444 });
    expect(parseTcpAddress('127.0.0.1:0')).toEqual({ host: '127.0.0.1', port: 0 });
    expect(() => parseTcpAddress('0.0.0.0:4444')).toThrow(/loopback only/);
    expect(() => parseTcpAddress('10.1.2.3:4444')).toThrow(/loopback only/);
    expect(() => parseTcpAddress('host:port')).toThrow(/want PORT or HOST:PORT/);
    expect(() => parseTcpAddress('70000')).toThrow(/out of range/);
  });

  it('sends output to every client and input from any client to the guest', async () => {
    const bus = createInProcessBus();
    const monitor = await new FakeMonitorConsole(bus, 'vm2', '1').start();
    const endpoint = tcpEndpoint({ host: '127.0.0.1', port: 0 }, () => undefined);
    const backend = startConsoleBackend(bus, { vm: 'vm2', consoleId: '1', endpoint, logger: quiet });
    const { port } = await endpoint.listening;
    const open = () =>
      new Promise<{ socket: Socket; got: number[] }>((resolve, reject) => {
        const got: number[] = [];
        const socket = connect(port, '127.0.0.1', () => resolve({ socket, got }));
        socket.on('data', (d: Buffer) => got.push(...d));
        socket.on('error', reject);
      });
    const a = await open();
    const b = await open();
    await until(() => endpoint.clientCount === 2, 'both clients');
    monitor.output('hello\r\n');
    await until(() => a.got.length === 7 && b.got.length === 7, 'output at both clients');
    expect(text(a.got)).toBe('hello\r\n');
    a.socket.write('ls\r');
    await until(() => monitor.buffer.length === 3, 'the input');
    b.socket.write('\x01x');
    await until(() => monitor.buffer.length === 5, 'raw bytes, no escapes over TCP');
    expect(text(monitor.buffer)).toBe('ls\r\x01x');
    a.socket.destroy();
    b.socket.destroy();
    await backend.stop();
    await monitor.stop();
    await bus.close();
  });
});

describe('plex86 service console', () => {
  it('appends a console to a file over NATS until stopped', async () => {
    const natsUrl = inject('natsUrl');
    const bus = await createNatsBus({ servers: natsUrl, name: 'console-main-test' });
    const monitor = await new FakeMonitorConsole(bus, 'vmfile', 'ttyS0').start();
    const path = join(dir, 'console.log');
    const stop = new AbortController();
    let err = '';
    const io = { out: () => undefined, err: (t: string) => void (err += t) };
    const running = main(
      ['--nats', natsUrl, '--vm', 'vmfile', '--console', 'ttyS0', '--backend', `file:${path}`],
      io,
      stop.signal,
    );
    try {
      await until(() => err.includes('plex86 console ttyS0 of VM vmfile on file:'), 'the backend to start');
      monitor.output('Linux version 6.1\r\n');
      monitor.output('Booting\r\n');
      await until(() => {
        try {
          return readFileSync(path, 'utf8').includes('Booting');
        } catch {
          return false;
        }
      }, 'the file to fill');
    } finally {
      stop.abort();
    }
    expect(await running).toBe(0);
    expect(readFileSync(path, 'utf8')).toBe('Linux version 6.1\r\nBooting\r\n');
    expect(err).toContain('plex86 console stopped');
    await monitor.stop();
    await bus.close();
  });

  it('explains bad usage', async () => {
    let err = '';
    const io = { out: () => undefined, err: (t: string) => void (err += t) };
    expect(await main(['--vm', 'x'], io)).toBe(2);
    expect(err).toContain('--nats URL and --vm ID are required');
    err = '';
    expect(await main(['--nats', 'nats://127.0.0.1:1', '--vm', 'x', '--backend', 'tcp:0.0.0.0:4444'], io)).toBe(2);
    expect(err).toContain('loopback only');
    err = '';
    expect(await main(['--nats', 'nats://127.0.0.1:1', '--vm', 'x', '--backend', 'pipe'], io)).toBe(2);
    expect(err).toContain('--backend wants stdio, file:PATH or tcp:[HOST:]PORT');
  });
});
