/**
 * The debugger as its own process, talking to a monitor over a real nats-server: what
 * `plex86 service debugger --nats URL --vm ID --listen HOST:PORT` runs.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNatsBus } from '@plex86/bus';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { main } from '../src/main.js';
import { serveFakeMonitor } from './fake-monitor.js';
import { FakeTarget } from './fake-target.js';
import { frame, hexText, ReplyReader } from './rsp-client.js';

const natsUrl = inject('natsUrl');
let dir: string;
let bundle: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plex86-debugger-proc-'));
  bundle = join(dir, 'debugger-main.mjs');
  await build({
    entryPoints: [join(import.meta.dirname, '../src/main.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['@plex86/source'],
    outfile: bundle,
    logLevel: 'silent',
    // Bundled CommonJS dependencies need a require of their own in an ES module.
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('debugger process', () => {
  it('serves gdb over TCP against a monitor on NATS and detaches on SIGTERM', async () => {
    const bus = await createNatsBus({ servers: natsUrl, name: 'debugger-process-test' });
    const fake = new FakeTarget();
    fake.memory.set([0x90, 0xcc], 0x100);
    // The attribute page a monitor keeps once the guest ran `nop; int3` at 0x100 (the page is
    // physically at 0x7000): two instruction starts (bit 0) of scanned code (bit 1), a block entry
    // (bit 2) at the nop, the block's last instruction (bit 3), sensitive (bit 4), at the int3.
    const ran = new Uint8Array(4096);
    ran.set([0x07, 0x1b], 0x100);
    fake.monitor = {
      ...fake.monitor,
      sbePage: async (address) =>
        address < 0x1000
          ? { physicalPage: 0x7000, attributes: ran }
          : { physicalPage: -1, attributes: new Uint8Array(0) },
    };
    const stopMonitor = await serveFakeMonitor(bus, 'vmproc', fake);
    const child = spawn(
      process.execPath,
      [bundle, '--nats', natsUrl, '--vm', 'vmproc', '--listen', 'tcp:127.0.0.1:0'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (out += d));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      for (let i = 0; i < 1000 && !/listening on tcp:[^:]+:\d+/.test(out); i++)
        await new Promise((r) => setTimeout(r, 10));
      const port = Number(/listening on tcp:[^:]+:(\d+)/.exec(out)?.[1]);
      expect(port, out).toBeGreaterThan(0);

      const reader = new ReplyReader();
      const socket = connect(port, '127.0.0.1');
      socket.on('data', (d: Buffer) => reader.push(d));
      await new Promise<void>((r) => socket.once('connect', () => r()));
      socket.write(frame('qSupported:swbreak+'));
      expect(await reader.nextPacket()).toContain('qXfer:features:read+');
      socket.write(frame('m100,2'));
      expect(await reader.nextPacket()).toBe('90cc');
      socket.write(frame('Z0,100,1'));
      expect(await reader.nextPacket()).toBe('OK');
      socket.write(frame('s'));
      expect(await reader.nextPacket()).toBe('T05thread:1;');

      // monitor sbe: the debugger process asks the monitor over NATS (GetSbePage).
      const monitor = async (command: string): Promise<{ output: string; reply: string }> => {
        socket.write(frame(`qRcmd,${hexText(command)}`));
        const output = await reader.nextPacket();
        expect(output[0], output).toBe('O');
        return { output: Buffer.from(output.slice(1), 'hex').toString(), reply: await reader.nextPacket() };
      };
      const sbe = await monitor('sbe 0x104');
      expect(sbe.reply).toBe('OK');
      const lines = sbe.output.split('\n');
      expect(lines[0]).toBe('page 00007000 (linear 00000000): 2 marked bytes');
      const row = /^00007100 {2}((?:[0-9a-f]{2} ?){16})$/.exec(lines[1]);
      expect(row, sbe.output).not.toBeNull();
      const attrs = (row?.[1] ?? '')
        .trim()
        .split(' ')
        .map((b) => parseInt(b, 16));
      // The nop at 0x100 and the int3 after it start instructions; the int3 is sensitive.
      expect(attrs[0] & 1).toBe(1);
      expect(attrs[1] & 1).toBe(1);
      expect(attrs[1] & 0x10).toBe(0x10);
      expect(attrs.slice(2).every((b) => b === 0)).toBe(true);
      expect(await monitor('sbe 0x5000')).toEqual({
        output: 'linear address 00005000 is not mapped\n',
        reply: 'E01',
      });

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(out).toContain('plex86 debugger stopped');
      // Stopping with gdb attached detaches the target and leaves the guest running.
      expect(fake.calls).toContain('detach true');
      expect(fake.breakpoints.size).toBe(0);
      socket.destroy();
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await stopMonitor();
      await bus.close();
    }
  });

  it('explains missing options, bad addresses and unreachable servers', async () => {
    const io = { text: '', out: (t: string) => void (io.text += t), err: (t: string) => void (io.text += t) };
    expect(await main(['--nats', natsUrl], io)).toBe(2);
    expect(io.text).toContain('--nats URL and --vm ID are required');
    io.text = '';
    expect(await main(['--nats', natsUrl, '--vm', 'v', '--listen', 'nowhere'], io)).toBe(2);
    expect(io.text).toContain('must be tcp:HOST:PORT');
    io.text = '';
    expect(await main(['--nats', 'nats://127.0.0.1:1', '--vm', 'v'], io)).toBe(1);
    expect(io.text).toContain('cannot connect to NATS at nats://127.0.0.1:1');
    io.text = '';
    expect(await main(['--help'], io)).toBe(0);
    expect(io.text).toContain(`Usage: plex86 service debugger`);
  });
});
