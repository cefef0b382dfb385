import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../main.js';
import { captureIo } from '../testing.js';

// A 64 KiB BIOS-style image: from the reset vector it prints to the debug console, then reports 0x15
// to the exit port, so the run ends with status (0x15 << 1) | 1 = 43.
const ROM_SOURCE = `
bits 16
org 0
start:
  mov si, message
  mov dx, 0xe9
.next:
  cs lodsb
  test al, al
  jz .done
  out dx, al
  jmp .next
.done:
  mov al, 0x15
  out 0xf4, al
  hlt
message: db 'plex86 rom ok', 10, 0
times 0xfff0 - ($ - $$) db 0
  jmp 0xf000:start
times 0x10000 - ($ - $$) db 0
`;

describe('plex86 run', () => {
  let dir: string;
  let rom: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'plex86-run-'));
    writeFileSync(join(dir, 'rom.asm'), ROM_SOURCE);
    rom = join(dir, 'rom.bin');
    try {
      execFileSync('nasm', ['-f', 'bin', '-o', rom, join(dir, 'rom.asm')]);
    } catch (e) {
      throw new Error(`assembling the test ROM needs nasm (apt-get install nasm): ${(e as Error).message}`);
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs a ROM with a debug console and an exit port', async () => {
    const io = captureIo();
    const status = await main(['run', '--rom', rom, '--debugcon', 'stdio', '--exit-port', '0xf4'], io);
    expect(io.stdout()).toBe('plex86 rom ok\n');
    expect(status).toBe(43);
  });

  it('stops after --max-instructions with its own status', async () => {
    const io = captureIo();
    const status = await main(['run', '--rom', rom, '--max-instructions', '3', '--exit-port', '0xf4'], io);
    expect(status).toBe(124);
  });

  it('turns a bad option value into a usage error', async () => {
    const io = captureIo();
    expect(await main(['run', '--rom', rom, '--memory', 'lots'], io)).toBe(2);
    expect(io.stderr()).toContain('--memory needs a size');
  });

  it('without a program, boots the default guest (built when the cache lacks it) on the terminal', async () => {
    const io = captureIo();
    let terminal = '';
    const stdin = new PassThrough();
    const stdout = new Writable({
      write(chunk: Buffer, _encoding, done) {
        terminal += chunk.toString('latin1');
        done();
      },
    });
    io.streams = { stdin, stdout };
    expect(await main(['run', '--max-instructions', '20000000'], io)).toBe(124);
    expect(io.stderr()).toMatch(/plex86: guest 6\.1\.\S+ is built|plex86: building the initramfs/);
    expect(io.stderr()).toMatch(/stopped after 2000\d{4} instructions \(--max-instructions\)/);
    expect(terminal).toBe('');
  }, 600_000);
});

// SeaBIOS from Debian, unchanged: it prints its banner on its debug port (0x402) and, finding no
// PCI host bridge (a run without virtio devices has none) and no boot device, stops with HLT and
// interrupts off.
describe('plex86 run with a public BIOS', () => {
  const seabios = '/usr/share/seabios/bios.bin';

  it('runs SeaBIOS far enough to print its version on the debug console', async () => {
    if (!existsSync(seabios)) throw new Error(`${seabios} is missing: install it with apt-get install seabios`);
    const io = captureIo();
    const status = await main(
      ['run', '--rom', seabios, '--debugcon', '0x402:stdio', '--max-instructions', '50000000'],
      io,
    );
    expect(io.stdout()).toMatch(/^SeaBIOS \(version [^)]+\)\n/);
    expect(status).toBe(0);
    expect(io.stderr()).toMatch(/halted with interrupts disabled at [0-9A-F]{4}:[0-9A-F]{8}/);
  });
});
