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
