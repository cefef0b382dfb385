/**
 * Protected-mode behaviour checked with nasm-assembled programs: each prints what it observed
 * (vectors, error codes, CR2, selectors) to the debug console, and the transcript is compared
 * with what the SDM specifies.
 */

import { describe, expect, it } from 'vitest';
import { assemble, runKernel, runRom } from './support/programs.js';

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l.length > 0);
}

describe('protected-mode programs', () => {
  it('raises exceptions with the right vectors, error codes and saved EIPs', async () => {
    const run = await runKernel(assemble('exceptions'));
    expect(run.message).toBe('');
    expect(lines(run.output)).toEqual([
      'DE v=00000000 e=00000000 cr2=00000000',
      'eip delta=00000000',
      'UD v=00000006 e=00000000 cr2=00000000',
      'NP v=0000000b e=00000058 cr2=00000000',
      'GP code in SS v=0000000d e=00000008 cr2=00000000',
      'GP SS rpl v=0000000d e=00000010 cr2=00000000',
      'GP null ES v=0000000d e=00000000 cr2=00000000',
      'GP beyond GDT v=0000000d e=000001f8 cr2=00000000',
      'SS v=0000000c e=00000000 cr2=00000000',
      'GP limit v=0000000d e=00000000 cr2=00000000',
      'BR v=00000005 e=00000000 cr2=00000000',
      'GP cr4 v=0000000d e=00000000 cr2=00000000',
      'BP v=00000003 e=00000000 cr2=00000000',
      'eip delta=00000000',
      'OF v=00000004 e=00000000 cr2=00000000',
      'UD lock v=00000006 e=00000000 cr2=00000000',
      'cs=00000060',
      'faults=0000000e',
    ]);
    expect(run.status).toBe(1);
  });
});

describe('paging programs', () => {
  it('translates 4K and 4M pages, sets A/D bits and faults with CR2 and error codes', async () => {
    const run = await runKernel(assemble('paging'));
    expect(run.message).toBe('');
    expect(lines(run.output)).toEqual([
      'alias=12345678',
      'A/D after read=00000020',
      'A/D after write=00000060',
      'A/D of 4M page=00000060',
      'PF read v=0000000e e=00000000 cr2=00300004',
      'PF write v=0000000e e=00000002 cr2=00300ffc',
      'PF pde v=0000000e e=00000000 cr2=00c00000',
      'WP off write=000000aa',
      'PF WP on v=0000000e e=00000003 cr2=00301000',
      'WP on value=000000aa',
      'PF cross v=0000000e e=00000002 cr2=00300000',
      'cross value=11111111',
      'map before=33333333',
      'map after invlpg=55555555',
      'map after cr3=33333333',
      'faults=00000005',
    ]);
    expect(run.status).toBe(1);
    // With a compile threshold of 0 every block ran as a generated function.
    expect(run.machine.engine.stats.compiledBlocks).toBeGreaterThan(20);
    // ...so nearly every instruction is counted as run in one, and never more than ran.
    const { regionInstructions } = run.machine.engine.stats;
    expect(regionInstructions).toBeGreaterThan(0.9 * run.machine.cpu.instructions);
    expect(regionInstructions).toBeLessThanOrEqual(run.machine.cpu.instructions);
  });
});

describe('privilege programs', () => {
  it('enters ring 3, switches stacks through gates and enforces CPL, IOPL and the I/O bitmap', async () => {
    // This one runs on the simple decoding cache with the default compile threshold instead.
    const run = await runKernel(assemble('rings'), undefined, undefined, { blocks: 'decode', compileThreshold: 32 });
    expect(run.message).toBe('');
    expect(lines(run.output)).toEqual([
      'ds after iret=00000000',
      'cs=0000001b',
      'int80 eax=0000002a',
      'int80 caller cs=0000001b',
      'int80 esp=ffffffe8',
      'GP int 0d v=0000000d e=0000006a cr2=00000000',
      'GP hlt v=0000000d e=00000000 cr2=00000000',
      'GP cli v=0000000d e=00000000 cr2=00000000',
      'GP mov cr0 v=0000000d e=00000000 cr2=00000000',
      'iopl after popf=00000000',
      'GP in 81 v=0000000d e=00000000 cr2=00000000',
      'GP in 7f word v=0000000d e=00000000 cr2=00000000',
      'GP fs dpl0 v=0000000d e=00000010 cr2=00000000',
      'GP ss dpl0 v=0000000d e=00000010 cr2=00000000',
      'after gate cs=0000001b',
      'after gate ss=00000023',
      'after gate esp=00000000',
      'gate cs=00000008',
      'gate ss=00000010',
      'gate param=1234abcd',
      'gate old cs=0000001b',
      'gate old ss=00000023',
      'back in ring 0 cs=00000008',
      'faults=00000008',
    ]);
    expect(run.status).toBe(1);
  });
});

describe('task switching programs', () => {
  it('switches tasks through CALL, IRET, task gates and exceptions', async () => {
    const run = await runKernel(assemble('tasks'));
    expect(run.message).toBe('');
    expect(lines(run.output)).toEqual([
      'B via call',
      'nt=00004000',
      'back link=00000028',
      'str=00000048',
      'cr0.ts=00000008',
      'type A=0000000b',
      'A after call',
      'str=00000028',
      'nt=00000000',
      'cr0.ts=00000008',
      'type B=00000009',
      'type A=0000000b',
      'B saved eip delta=00000000',
      'B via task gate',
      'nt=00000000',
      'type A=00000009',
      'A after jmp',
      'nt=00000000',
      'type B=00000009',
      'A after GP task',
      'GP error code=000001f8',
      'type C=00000009',
    ]);
    expect(run.status).toBe(1);
  });
});

describe('virtual-8086 programs', () => {
  it('runs V86 code under a ring-0 monitor with IOPL and I/O bitmap checks', async () => {
    const run = await runKernel(assemble('v86'));
    expect(run.message).toBe('');
    const gp = (op: string): string[] => [
      `GP opcode=000000${op}`,
      '  vm=00020000',
      '  saved ds=00000040',
      '  handler ds=00000000',
    ];
    expect(lines(run.output)).toEqual([
      ...gp('cd'),
      ...gp('e6'),
      ...gp('9c'),
      ...gp('f4'),
      '53',
      ...gp('f4'),
      'faults=00000005',
    ]);
    expect(run.status).toBe(1);
    // With a compile threshold of 0 every block ran as a generated function.
    expect(run.machine.engine.stats.compiledBlocks).toBeGreaterThan(20);
  });
});

describe('double and triple faults', () => {
  it('turns a fault during delivery into #DF and a fault during #DF into a shutdown', async () => {
    const run = await runKernel(assemble('double-fault'));
    expect(lines(run.output)).toEqual(['DF v=00000008 e=00000000 cr2=00000000', 'going for a triple fault']);
    expect(run.end).toBe('shutdown');
    expect(run.status).toBe(126);
    expect(run.message).toMatch(
      /^plex86: triple fault: #GP while delivering a double fault at 0008:[0-9a-f]{8}; the machine shut down$/,
    );
  });
});

describe('BIOS image from the reset vector', () => {
  it('switches real -> 32-bit -> 16-bit protected -> real mode and keeps a 4 GiB limit (unreal mode)', async () => {
    const run = await runRom(assemble('rom-modes'));
    expect(run.message).toBe('');
    expect(lines(run.output)).toEqual([
      'real mode, signature',
      '00000619',
      '32-bit protected mode',
      '16-bit protected mode',
      'real mode again, unreal read',
      'cafef00d',
      '00000000',
    ]);
    expect(run.status).toBe(0x21);
  });
});

describe('single-step', () => {
  it('traps after each instruction while TF is set, except where the SDM says not to', async () => {
    const image = assemble('single-step');
    const run = await runKernel(image);
    expect(run.message).toBe('');
    // Trap EIPs are the instructions after NOP, MOV, the instruction after INT 0x80's return... as addresses.
    const out = lines(run.output);
    expect(out[0]).toBe('traps=00000004');
    const eips = out.slice(1, 5).map((l) => parseInt(l.split('=')[1], 16));
    // step2 (after nop), step3 (after mov), step5 (after add: INT and its handler do not trap), step6.
    const deltas = eips.map((e) => e - eips[0]);
    expect(deltas).toEqual([0, 5, 5 + 2 + 3, 5 + 2 + 3 + 1]);
    expect(out.slice(5)).toEqual(['dr6.bs=00004000', 'tf=00000000']);
    expect(run.status).toBe(1);
  });
});

describe('self-modifying code', () => {
  for (const blocks of ['sbe', 'decode'] as const) {
    it(`runs the new bytes after a store into code (${blocks} blocks, compiled or not)`, async () => {
      const run = await runKernel(assemble('smc'), undefined, undefined, { blocks, compileThreshold: 8 });
      expect(run.message).toBe('');
      expect(lines(run.output)).toEqual(['before=11111111', 'after=22222222', 'same block=33333333']);
      expect(run.machine.engine.stats.compiledBlocks).toBeGreaterThan(0);
    });
  }
});
