/**
 * Protected-mode behaviour checked with nasm-assembled programs: each prints what it observed
 * (vectors, error codes, CR2, selectors) to the debug console, and the transcript is compared
 * with what the SDM specifies.
 */

import { describe, expect, it } from 'vitest';
import { assemble, runKernel } from './support/programs.js';

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
  });
});

describe('privilege programs', () => {
  it('enters ring 3, switches stacks through gates and enforces CPL, IOPL and the I/O bitmap', async () => {
    const run = await runKernel(assemble('rings'));
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
