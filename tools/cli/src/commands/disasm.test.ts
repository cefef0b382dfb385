import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { elfSection, type ElfSection } from '@plex86/x86/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../command.js';
import { captureIo } from '../testing.js';
import { disasmCommand } from './disasm.js';

const run = promisify(execFile);

async function disasm(args: string[]): Promise<{ status: number; out: string; err: string }> {
  const io = captureIo();
  const status = await runCommand(disasmCommand, args, io);
  return { status, out: io.stdout(), err: io.stderr() };
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plex86-disasm-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, bytes: Uint8Array | number[]): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, Uint8Array.from(bytes));
  return path;
}

describe('plex86 disasm', () => {
  it('prints ADDRESS<TAB>BYTES<TAB>TEXT lines from --base', async () => {
    const path = await file('a.bin', [0x55, 0x89, 0xe5, 0x8b, 0x45, 0x08, 0xe8, 0xf5, 0xff, 0xff, 0xff, 0xc3]);
    const { status, out } = await disasm(['--base', '0x8048000', path]);
    expect(status).toBe(0);
    expect(out).toBe(
      '8048000\t55\tpush   ebp\n' +
        '8048001\t89 e5\tmov    ebp,esp\n' +
        '8048003\t8b 45 08\tmov    eax,DWORD PTR [ebp+0x8]\n' +
        '8048006\te8 f5 ff ff ff\tcall   0x8048000\n' +
        '804800b\tc3\tret\n',
    );
  });

  it('decodes 16-bit code with --bits 16', async () => {
    const path = await file('b.bin', [0xb8, 0x00, 0xb8, 0x8e, 0xd8, 0xea, 0x00, 0x7c, 0x00, 0x00]);
    const { status, out } = await disasm(['--bits', '16', '--base', '7c00', path]);
    expect(status).toBe(0);
    expect(out).toBe(
      '7c00\tb8 00 b8\tmov    ax,0xb800\n7c03\t8e d8\tmov    ds,ax\n7c05\tea 00 7c 00 00\tjmp    0x0:0x7c00\n',
    );
  });

  it('prints (bad) for an undecodable byte and moves on by one byte', async () => {
    const path = await file('c.bin', [0x0f, 0x0b, 0xff, 0xff, 0x90, 0x0f]);
    const { out } = await disasm([path]);
    expect(out).toBe('0\t0f 0b\tud2\n2\tff\t(bad)\n3\tff\t(bad)\n4\t90\tnop\n5\t0f\t(bad)\n');
  });

  it('shows FWAIT before an x87 instruction as one waiting instruction, as objdump does', async () => {
    const path = await file('d.bin', [0x9b, 0xdf, 0xe0, 0x9b, 0x90]);
    const { out } = await disasm([path]);
    expect(out).toBe('0\t9b df e0\tfstsw  ax\n3\t9b\tfwait\n4\t90\tnop\n');
  });

  it('prints nothing for an empty file', async () => {
    const path = await file('empty.bin', []);
    expect(await disasm([path])).toEqual({ status: 0, out: '', err: '' });
  });

  it.each([
    [[], /missing FILE/],
    [['a', 'b'], /expected one FILE/],
    [['--bits', '64', 'x'], /--bits must be 16 or 32/],
    [['--base', 'xyz', 'x'], /--base needs a hexadecimal number/],
    [['--base', '100000000', 'x'], /--base must fit in 32 bits/],
    [['--what', 'x'], /Unknown option/],
  ])('rejects bad arguments %j with usage and status 2', async (args, message) => {
    const { status, err } = await disasm(args);
    expect(status).toBe(2);
    expect(err).toMatch(message);
    expect(err).toContain('Usage: plex86 disasm');
  });

  it('reports a missing file clearly with status 1', async () => {
    const { status, err } = await disasm([join(dir, 'no-such-file.bin')]);
    expect(status).toBe(1);
    expect(err).toMatch(/no such file: .*no-such-file\.bin/);
  });

  it('reports a directory clearly with status 1', async () => {
    const { status, err } = await disasm([dir]);
    expect(status).toBe(1);
    expect(err).toMatch(/is a directory/);
  });
});

// ---------------------------------------------------------------------------------------------------
// Against objdump: instruction starts must be the same addresses.

interface Line {
  readonly address: number;
  readonly text: string;
}

async function objdump(path: string, bits: 16 | 32, base: number): Promise<Line[]> {
  let stdout: string;
  try {
    ({ stdout } = await run(
      'objdump',
      [
        '-D',
        '-z',
        '-b',
        'binary',
        bits === 16 ? '-mi8086' : '-mi386',
        '-M',
        'intel',
        `--adjust-vma=0x${base.toString(16)}`,
        path,
      ],
      { maxBuffer: 1 << 30 },
    ));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      throw new Error('objdump not found: install binutils (GNU objdump 2.40)');
    throw e;
  }
  const lines: Line[] = [];
  for (const line of stdout.split('\n')) {
    // Continuation lines of long instructions carry bytes but no text.
    const m = /^\s*([0-9a-f]+):\t[0-9a-f ]+\t(.*)$/.exec(line);
    if (m) lines.push({ address: parseInt(m[1] as string, 16), text: (m[2] as string).trim() });
  }
  return lines;
}

function parseOurs(out: string): Line[] {
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [address, , text] = line.split('\t') as [string, string, string];
      return { address: parseInt(address, 16), text };
    });
}

interface StartComparison {
  readonly common: number;
  readonly excusedRegions: number;
  readonly unexplained: string[];
}

/**
 * Walks both listings in address order. Where they part, the instruction at the last common address is
 * the cause. That is excused (named exception "undecodable-resync") only when one side could not decode
 * it: objdump's `(bad)` (or `?` operand) covers the prefix, opcode and ModRM bytes it looked at while
 * plex86 moves on one byte, and objdump also knows extensions the modelled CPU lacks (TSX XBEGIN/XEND,
 * XGETBV, EVEX ...), where plex86 prints (bad). The sweeps then resynchronise at the next common start.
 * Any other parting, two valid instructions of different length, is unexplained.
 */
function compareStarts(ours: Line[], theirs: Line[]): StartComparison {
  let i = 0;
  let j = 0;
  let common = 0;
  let excusedRegions = 0;
  let last: { address: number; ours: string; theirs: string } | null = null;
  const unexplained: string[] = [];
  while (i < ours.length && j < theirs.length) {
    const a = ours[i] as Line;
    const b = theirs[j] as Line;
    if (a.address === b.address) {
      common++;
      last = { address: a.address, ours: a.text, theirs: b.text };
      i++;
      j++;
      continue;
    }
    const undecodable = last !== null && (last.ours === '(bad)' || /\(bad\)|\?/.test(last.theirs));
    if (undecodable) excusedRegions++;
    else if (unexplained.length < 20) {
      unexplained.push(
        `after ${last ? `${last.address.toString(16)} ours "${last.ours}" objdump "${last.theirs}"` : 'the start'}: ` +
          `ours ${a.address.toString(16)} "${a.text}", objdump ${b.address.toString(16)} "${b.text}"`,
      );
    }
    // Skip to the next address both listings start an instruction at.
    while (i < ours.length && j < theirs.length && (ours[i] as Line).address !== (theirs[j] as Line).address) {
      if ((ours[i] as Line).address < (theirs[j] as Line).address) i++;
      else j++;
    }
  }
  return { common, excusedRegions, unexplained };
}

type FetchDebianPackage = (name: string, arch: string) => Promise<string>;

/** tools/testing's entry point serves the NATS harness; the fetcher is loaded from its own module. */
async function busyboxText(): Promise<ElfSection> {
  const fetcherFile = join(import.meta.dirname, '../../../testing/src/debian-package.ts');
  const { fetchDebianPackage } = (await import(pathToFileURL(fetcherFile).href)) as {
    fetchDebianPackage: FetchDebianPackage;
  };
  const root = await fetchDebianPackage('busybox-static', 'i386');
  return elfSection(new Uint8Array(await readFile(join(root, 'bin', 'busybox'))), '.text');
}

describe('plex86 disasm against objdump -M intel', () => {
  it('starts instructions where objdump does on 512 KiB of busybox-static:i386 .text (32-bit)', async () => {
    const text = await busyboxText();
    const slice = text.bytes.subarray(0, 512 * 1024);
    const path = await file('busybox-text.bin', slice);
    const base = text.address;
    const { out } = await disasm(['--base', base.toString(16), path]);
    const result = compareStarts(parseOurs(out), await objdump(path, 32, base));
    console.log(`32-bit: ${result.common} common starts, undecodable-resync regions: ${result.excusedRegions}`);
    expect(result.unexplained).toEqual([]);
    expect(result.common).toBeGreaterThan(100_000);
    expect(result.excusedRegions).toBeLessThan(10);
  }, 180_000);

  it('starts instructions where objdump -mi8086 does on the same bytes decoded as 16-bit code', async () => {
    const text = await busyboxText();
    const slice = text.bytes.subarray(0, 128 * 1024);
    const path = await file('busybox-text16.bin', slice);
    const { out } = await disasm(['--bits', '16', path]);
    const result = compareStarts(parseOurs(out), await objdump(path, 16, 0));
    console.log(`16-bit: ${result.common} common starts, undecodable-resync regions: ${result.excusedRegions}`);
    expect(result.unexplained).toEqual([]);
    expect(result.common).toBeGreaterThan(40_000);
  }, 180_000);

  it('agrees exactly with objdump -mi8086 on real-mode code assembled by GNU as', async () => {
    const source = join(dir, 'boot.s');
    const object = join(dir, 'boot.o');
    const binary = join(dir, 'boot.bin');
    await writeFile(source, REAL_MODE_PROGRAM);
    try {
      await run('as', ['--32', '-o', object, source]);
      await run('objcopy', ['-O', 'binary', '-j', '.text', object, binary]);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new Error('as/objcopy not found: install binutils');
      throw e;
    }
    const { out } = await disasm(['--bits', '16', '--base', '7c00', binary]);
    const ours = parseOurs(out);
    const theirs = await objdump(binary, 16, 0x7c00);
    expect(ours.some((l) => l.text === '(bad)')).toBe(false);
    expect(ours.map((l) => l.address)).toEqual(theirs.map((l) => l.address));
    expect(ours.length).toBeGreaterThan(60);
  }, 60_000);
});

/** A boot-sector-style real-mode program touching the common 16-bit forms. */
const REAL_MODE_PROGRAM = `
  .code16
  .text
start:
  cli
  xor %ax, %ax
  mov %ax, %ds
  mov %ax, %es
  mov %ax, %ss
  mov $0x7c00, %sp
  sti
  cld
  mov %dl, boot_drive
  mov $msg, %si
print:
  lodsb
  or %al, %al
  jz done
  mov $0x0e, %ah
  mov $0x0007, %bx
  int $0x10
  jmp print
done:
  mov $0x1234, %eax
  mov %eax, %ebx
  shl $4, %ebx
  add 0x10(%bx,%si), %cx
  sub -0x20(%bp,%di), %dx
  mov (%bx), %ax
  mov 0x1234, %ax
  mov %es:(%di), %al
  lea 8(%bp), %si
  push %ax
  push %ds
  pushw $0x10
  pushl $0x12345678
  pop %bx
  pop %es
  pushf
  popf
  pusha
  popa
  call sub1
  lcall $0x0, $sub2
  ljmp $0x0, $far_target
far_target:
  loop far_target
  jcxz done
  rep movsb
  rep stosw
  repne scasb
  movzbw %al, %ax
  movsbl %al, %eax
  in $0x60, %al
  out %al, $0x80
  inb %dx, %al
  outw %ax, %dx
  xchg %ax, %bx
  cbw
  cwd
  imul $3, %ax, %bx
  test $0x80, %al
  testw $0x8000, (%bx)
  incb (%si)
  decw 2(%di)
  notw %ax
  negb %cl
  mul %bx
  div %cx
  rol $1, %ax
  shr %cl, %dx
  sar $3, %bl
  enter $8, $0
  leave
  lgdt gdt_desc
  lidt idt_desc
  mov %cr0, %eax
  or $1, %eax
  mov %eax, %cr0
  smsw %ax
  str %ax
  sldt %ax
  lar %ax, %bx
  bswap %eax
  cmpxchg %bx, (%si)
  xadd %ax, (%di)
  bt $3, %ax
  bts %ax, (%bx)
  setz %al
  cmovne %bx, %ax
  fninit
  fldz
  fld1
  faddp
  fstpl (%bx)
  fnstsw %ax
  fwait
  hlt
  ret
sub1:
  ret $4
sub2:
  lret
  iret
gdt_desc:
  .word 0
idt_desc:
  .word 0
boot_drive:
  .word 0
msg:
`;
