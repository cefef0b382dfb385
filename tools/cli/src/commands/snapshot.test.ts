/**
 * `plex86 snapshot` without a Linux boot: a test program saved mid-run through the monitor's saver
 * continues under `plex86 snapshot restore` with its debug console on stdout and its exit port,
 * ending as an uninterrupted run does; `snapshot info` describes the file; mistakes get usage
 * errors and damaged files clear messages.
 */

import { execFileSync } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runMachine, type SnapshotSaver } from '@plex86/monitor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../main.js';
import { captureIo } from '../testing.js';

/** The monitor's snapshot test program: PIT interrupts, HLT, x87, CMOS, COM1; exits after 1500 ticks. */
const TICKER = join(import.meta.dirname, '../../../../services/monitor/test/programs/ticker.asm');

const dir = mkdtempSync(join(tmpdir(), 'plex86-snapcli-'));
const kernel = join(dir, 'ticker.bin');

beforeAll(() => {
  try {
    execFileSync('nasm', ['-Werror', '-f', 'bin', '-o', kernel, TICKER], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error('nasm is not installed: this test assembles its program with it (apt-get install nasm)');
    }
    throw e;
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function plex86(...args: string[]) {
  const io = captureIo();
  const code = await main(args, io);
  return { code, out: io.stdout(), err: io.stderr() };
}

/** The program's output without the CMOS seconds (fourth column), which follow the host's clock at each run's start. */
function hostFree(text: string): string {
  return text.replace(/^((?:[0-9a-f]{8} ){3})[0-9a-f]{8}/gm, '$1--------');
}

/** A minimal GDB remote protocol client: acknowledges every packet it gets. */
class RspClient {
  private data = '';
  private readonly waiters: (() => void)[] = [];
  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.data += d.toString('latin1');
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static open(port: number): Promise<RspClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => resolve(new RspClient(socket)));
      socket.once('error', reject);
    });
  }

  ask(packet: string): Promise<string> {
    let sum = 0;
    for (const c of Buffer.from(packet, 'latin1')) sum = (sum + c) & 0xff;
    this.socket.write(`$${packet}#${sum.toString(16).padStart(2, '0')}`);
    return this.next();
  }

  /** The next packet from the server. */
  async next(): Promise<string> {
    for (;;) {
      const m = /^\+*\$([^#]*)#[0-9a-f]{2}/.exec(this.data);
      if (m !== null) {
        this.data = this.data.slice(m[0].length);
        this.socket.write('+');
        return m[1];
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }
}

const PROGRAM = ['--kernel', kernel, '--memory', '8M', '--debugcon', 'stdio', '--exit-port', '0xf4', '--serial'];

describe('plex86 snapshot', () => {
  it('restores a test program saved mid-run, which then ends as an uninterrupted run does', async () => {
    const whole = await plex86('run', ...PROGRAM, join(dir, 'whole-serial.txt'));
    expect(whole.code).toBe(1);

    let saver: SnapshotSaver | undefined;
    let first = '';
    const status = await runMachine(
      {
        kernel,
        memory: '8M',
        debugcon: ['stdio'],
        exitPort: '0xf4',
        serial: join(dir, 'part-serial.txt'),
        maxInstructions: '150000',
      },
      {
        stdout: (data) => (first += new TextDecoder().decode(data)),
        stderr: () => undefined,
        onStart: (_machine, snapshots) => (saver = snapshots),
      },
    );
    expect(status).toBe(124);
    const path = join(dir, 'ticker.snap');
    if (saver === undefined) throw new Error('the run gave no snapshot saver');
    const saved = await saver(path, false);
    // The run stops at the first instruction boundary at or after the limit.
    expect(saved.info.instructionsRetired).toBeGreaterThanOrEqual(150_000n);

    const info = await plex86('snapshot', 'info', path);
    expect(info.code).toBe(0);
    expect(info.out).toMatch(/memory\s+8\.0 MiB \(\d+ non-zero pages stored/);
    expect(info.out).toContain(`instructions      ${saved.info.instructionsRetired}\n`);
    expect(info.out).toMatch(/components\s+memory cpu fpu clock pit rtc kbc acpi com1 pic\n/);
    expect(info.out).toMatch(/checksums\s+ok/);
    // The program runs in flat 32-bit protected mode with paging, its code at 1 MiB.
    expect(info.out).toMatch(/cpu\s+0008:001[0-9a-f]{5}, CPL 0, protected mode, paging/);

    const rest = await plex86('snapshot', 'restore', path, '--serial', join(dir, 'rest-serial.txt'));
    expect(rest.err).toBe('');
    expect(rest.code).toBe(1);
    expect(first.length).toBeGreaterThan(0);
    expect(hostFree(first + rest.out)).toBe(hostFree(whole.out));
    expect(hostFree(whole.out)).toMatch(/^([0-9a-f]{8} ){3}-{8} [0-9a-f]{8} \n/);
    const serial = (name: string) => readFileSync(join(dir, name), 'latin1');
    expect(hostFree(serial('part-serial.txt') + serial('rest-serial.txt'))).toBe(hostFree(serial('whole-serial.txt')));
  });

  it("saves from gdb's monitor snapshot save in the run's own process", async () => {
    const path = join(dir, 'gdb.snap');
    const io = captureIo();
    const running = main(
      ['run', ...PROGRAM, join(dir, 'gdb-serial.txt'), '--gdb', 'tcp:127.0.0.1:0', '--gdb-wait'],
      io,
    );
    let port = 0;
    for (let i = 0; i < 500 && port === 0; i++) {
      port = Number(/listening on tcp:127\.0\.0\.1:(\d+)/.exec(io.stderr())?.[1] ?? 0);
      if (port === 0) await new Promise((r) => setTimeout(r, 10));
    }
    expect(port, io.stderr()).toBeGreaterThan(0);
    const gdb = await RspClient.open(port);
    try {
      const hex = Buffer.from(`snapshot save ${path}`).toString('hex');
      expect(Buffer.from((await gdb.ask(`qRcmd,${hex}`)).slice(1), 'hex').toString()).toBe(
        `snapshot saved to ${path}\n`,
      );
      expect(await gdb.next()).toBe('OK');
      expect(await gdb.ask('D')).toBe('OK');
    } finally {
      gdb.socket.destroy();
    }
    expect(await running).toBe(1);
    const info = await plex86('snapshot', 'info', path);
    // Held at its first instruction (--gdb-wait).
    expect(info.out).toMatch(/instructions\s+0\n/);
    // Multiboot entry: protected mode, no paging yet.
    expect(info.out).toMatch(/cpu\s+[0-9a-f]{4}:0010[0-9a-f]{4}, CPL 0, protected mode\n/);
    const rest = await plex86('snapshot', 'restore', path, '--serial', join(dir, 'gdb-rest-serial.txt'));
    expect(rest.code).toBe(1);
    const whole = await plex86('run', ...PROGRAM, join(dir, 'gdb-whole-serial.txt'));
    expect(hostFree(rest.out)).toBe(hostFree(whole.out));
  });

  it('says what is wrong with the command line or the file', async () => {
    expect((await plex86('snapshot')).err).toMatch(/say what to do: save, restore or info/);
    expect((await plex86('snapshot', 'load', 'x')).err).toMatch(/unknown action "load"/);
    expect((await plex86('snapshot', 'info')).err).toMatch(/snapshot info needs a FILE/);
    const save = await plex86('snapshot', 'save', join(dir, 'x.snap'));
    expect(save.code).toBe(2);
    expect(save.err).toMatch(/give --nats URL/);
    expect((await plex86('snapshot', 'info', '--stop', 'x')).err).toMatch(/--stop does not apply to snapshot info/);
    const missing = await plex86('snapshot', 'info', join(dir, 'nope.snap'));
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(/cannot open snapshot .*nope\.snap/);
    const junk = join(dir, 'junk.snap');
    writeFileSync(junk, 'this is not a snapshot at all, just text');
    const bad = await plex86('snapshot', 'restore', junk);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/not a plex86 snapshot/);
    expect((await plex86('snapshot', '--help')).out).toMatch(/plex86 snapshot restore FILE/);
  });
});
