import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { fetchDebianPackage } from '@plex86/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MANIFEST } from '../../bin/run-bundle.mjs';
import { main } from '../main.js';
import { captureIo } from '../testing.js';

/** A 64 KiB BIOS-style image: from the reset vector it prints `message` to the debug console, then runs `then`. */
function romSource(message: string, then: string): string {
  return `
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
${then}
message: db '${message}', 10, 0
times 0xfff0 - ($ - $$) db 0
  jmp 0xf000:start
times 0x10000 - ($ - $$) db 0
`;
}

// Reports 0x15 to the exit port, so the run ends with status (0x15 << 1) | 1 = 43.
const ROM_SOURCE = romSource('plex86 rom ok', '  mov al, 0x15\n  out 0xf4, al\n  hlt');

// Loops until the process is stopped.
const LOOP_ROM_SOURCE = romSource('ready', '  inc ax\n  jmp .done');

const PLEX86 = new URL('../../bin/plex86.mjs', import.meta.url).pathname;

function assemble(dir: string, name: string, source: string): string {
  writeFileSync(join(dir, `${name}.asm`), source);
  const out = join(dir, `${name}.bin`);
  try {
    execFileSync('nasm', ['-f', 'bin', '-o', out, join(dir, `${name}.asm`)]);
  } catch (e) {
    throw new Error(`assembling the test ROM needs nasm (apt-get install nasm): ${(e as Error).message}`);
  }
  return out;
}

describe('plex86 run', () => {
  let dir: string;
  let rom: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'plex86-run-'));
    rom = assemble(dir, 'rom', ROM_SOURCE);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs from a bundle of the CLI, made again when a file it was made from changed', () => {
    const cache = new URL('../../../../node_modules/.cache/plex86/', import.meta.url).pathname;
    const manifestPath = MANIFEST;
    expect(dirname(manifestPath)).toBe(resolve(cache));
    const runRom = () => {
      // Status 43: the ROM's report on the exit port.
      const r = spawnSync(process.execPath, [PLEX86, 'run', '--rom', rom, '--exit-port', '0xf4'], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(43);
    };
    runRom();
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
      root: string;
      bundle: string;
      inputs: Record<string, string>;
    };
    expect(manifest.root).toBe(resolve(cache, '../../..'));
    expect(existsSync(join(cache, manifest.bundle))).toBe(true);
    expect(Object.keys(manifest.inputs)).toContain('tools/cli/src/main.ts');
    // How bundles are made is an input too.
    expect(Object.keys(manifest.inputs)).toEqual(
      expect.arrayContaining(['tools/cli/bin/run-bundle.mjs', 'tools/cli/bin/workspace.mjs']),
    );
    // A file that no longer matches its stamp: the next run makes the bundle again.
    manifest.inputs['tools/cli/src/main.ts'] = 'changed';
    writeFileSync(manifestPath, JSON.stringify(manifest));
    runRom();
    const remade = JSON.parse(readFileSync(manifestPath, 'utf8')) as { inputs: Record<string, string> };
    expect(remade.inputs['tools/cli/src/main.ts']).not.toBe('changed');
  });

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

  it('with --stats, prints the figures so far on SIGUSR2 while the machine runs', async () => {
    const loop = assemble(dir, 'loop', LOOP_ROM_SOURCE);
    const child = spawn(process.execPath, [PLEX86, 'run', '--rom', loop, '--debugcon', 'stdio', '--stats'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    const until = async (condition: () => boolean, what: string) => {
      for (let i = 0; i < 400 && !condition(); i++) await new Promise((r) => setTimeout(r, 50));
      if (!condition()) throw new Error(`timed out waiting for ${what}; stderr:\n${err}`);
    };
    const counts = () => [...err.matchAll(/^instructions\s+(\d+)\n/gm)].map((m) => Number(m[1]));
    try {
      await until(() => out.includes('ready'), 'the ROM to start');
      // The process runs with a V8 worker pool that leaves the guest a core (bin/plex86.mjs), and it
      // is still the one started: the signals below reach it.
      const workers = Math.max(1, availableParallelism() - 1);
      expect(readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0')).toContain(`--v8-pool-size=${workers}`);
      child.kill('SIGUSR2');
      await until(() => counts().length === 1, 'the first statistics');
      child.kill('SIGUSR2');
      await until(() => counts().length === 2, 'the second statistics');
      const [first, second] = counts() as [number, number];
      expect(first).toBeGreaterThan(0);
      expect(second).toBeGreaterThan(first);
      expect(err).toMatch(/^time\s+[\d.]+ s, [\d.]+ MIPS$/m);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  }, 30_000);

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

// Multiboot kernels from Debian, unchanged. They print only to the text screen, which the run
// writes out at its end (--text-screen).
describe('plex86 run with public Multiboot kernels', () => {
  let dir: string;

  beforeAll(() => {
    // Short paths: the kernel prints each module's string on one 80-column row.
    dir = mkdtempSync(join(tmpdir(), 'mb-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // The example kernel of the Multiboot specification (Debian's `multiboot` package) prints the
  // information structure it was given, then draws a diagonal through the framebuffer the
  // structure describes, then halts with interrupts off.
  it("runs the specification's example kernel, which prints the boot information it got", async () => {
    const kernel = join(await fetchDebianPackage('multiboot', 'all'), 'usr/lib/multiboot/examples/kernel');
    const first = join(dir, 'a');
    const second = join(dir, 'b');
    writeFileSync(first, 'module one');
    writeFileSync(second, new Uint8Array(5000).fill(7));
    const screenFile = join(dir, 'screen.txt');
    const io = captureIo();
    const status = await main(
      [
        ...['run', '--kernel', kernel, '--append', 'kernel root=/dev/hd0', '--initrd', `${first} x y,${second}`],
        ...['--memory', '32M', '--text-screen', screenFile],
      ],
      io,
    );
    expect(io.stderr()).toMatch(/halted with interrupts disabled at 0008:[0-9A-F]{8}/);
    expect(status).toBe(0);
    const rows = readFileSync(screenFile, 'utf8').split('\n');
    // The diagonal: a backslash at row i, column i, over one character of what was printed; the
    // patterns below leave that character out.
    for (let i = 0; i < 25; i++) expect(rows[i]?.[i], `row ${i}`).toBe('\\');
    const text = rows.join('\n');
    // Information flags: memory, command line, modules, memory map, loader name, framebuffer.
    expect(rows[0]).toBe('\\lags = 0x124d');
    expect(rows[1]).toBe(`m\\m_lower = 639KB, mem_upper = ${32 * 1024 - 1024}KB`);
    expect(rows[2]).toBe('cm\\line = kernel root=/dev/hd0');
    expect(rows[3]).toMatch(/^mod\\_count = 2, mods_addr = 0x[0-9a-f]+$/);
    const mods = [...text.matchAll(/tart = 0x([0-9a-f]+), mod_end = 0x([0-9a-f]+), cmdline = (.*)/g)];
    expect(mods.map((m) => m[3])).toEqual([`${first} x y`, second]);
    for (const [i, m] of mods.entries()) {
      const start = parseInt(m[1], 16);
      expect(start % 4096, 'modules are page-aligned').toBe(0);
      expect(parseInt(m[2], 16) - start).toBe(statSync(i === 0 ? first : second).size);
    }
    expect(parseInt(mods[1][1], 16)).toBeGreaterThanOrEqual(parseInt(mods[0][2], 16));
    const mmap = [...text.matchAll(/base_addr = 0x(\w+), length = 0x(\w+), type = 0x(\d)/g)].map((m) => [
      parseInt(m[1], 16),
      parseInt(m[2], 16),
      Number(m[3]),
    ]);
    expect(mmap).toEqual([
      [0, 0x9fc00, 1],
      [0x9fc00, 0x400, 2],
      [0xf0000, 0x10000, 2],
      [0x100000, 31 << 20, 1],
    ]);
    expect(text).toContain('Halted.');
  }, 60_000);

  // GRUB Invaders (Debian's `grub-invaders`): a game that draws its playfield on the text screen
  // and paces itself with the PIT.
  it('runs GRUB Invaders, which draws its playfield on the text screen', async () => {
    const kernel = join(await fetchDebianPackage('grub-invaders', 'i386'), 'boot/invaders.exec');
    const io = captureIo();
    const status = await main(
      ['run', '--kernel', kernel, '--max-instructions', '30000000', '--text-screen', 'stdio'],
      io,
    );
    expect(status).toBe(124);
    const rows = io.stdout().split('\n');
    const alienRows = rows.filter((row) => /-\*-.*-\*-/.test(row));
    expect(alienRows.length, io.stdout()).toBeGreaterThanOrEqual(5);
    // The player's ship, centred on the bottom two rows.
    expect(rows.slice(-3)).toEqual([' '.repeat(40) + '_', ' '.repeat(39) + '/ \\', '']);
  }, 60_000);

  // Memtest86+ (Debian's `memtest86+`): a bzImage without a compressed payload that calibrates the
  // TSC against the PIT, turns on paging, relocates itself to test the memory below it, and shows
  // its progress on the text screen and the serial port. Tests #0 to #3 pass in the first
  // billion instructions.
  it('runs Memtest86+, which tests the memory without finding errors', async () => {
    const kernel = join(await fetchDebianPackage('memtest86+', 'i386'), 'boot/memtest86+ia32.bin');
    const serial = join(dir, 'memtest-serial.txt');
    const io = captureIo();
    const status = await main(
      [
        ...['run', '--kernel', kernel, '--append', 'console=ttyS0', '--memory', '8M'],
        ...['--console', 'none', '--serial', serial, '--max-instructions', '1000000000', '--text-screen', 'stdio'],
      ],
      io,
    );
    expect(status, io.stderr()).toBe(124);
    const screen = io.stdout();
    expect(screen).toMatch(/Memtest86\+ v6\.\d+/);
    expect(screen).toMatch(/Memory {2}: {4}8MB/);
    // The clock it measures is the machine's virtual 200 MHz.
    expect(screen).toMatch(/CLK\/Temp: (199|200|201)MHz/);
    expect(screen).toMatch(/Status: Testing/);
    expect(Number(/Test #(\d+)/.exec(screen)?.[1])).toBeGreaterThanOrEqual(4);
    expect(screen).toMatch(/Errors: 0\n/);
    expect(readFileSync(serial, 'latin1')).toMatch(/Memtest86\+ v6\.\d+.*Errors: 0/s);
  }, 180_000);
});
