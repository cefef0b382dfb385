/** Assembles ticker.asm (the snapshot tests' program) into `dir`; nasm must be installed. */

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const TICKER_SOURCE = join(import.meta.dirname, 'ticker.asm');

/** The ticker program's debug console output with the CMOS seconds (fourth column) masked: they follow the host's clock. */
export function withoutHostTime(text: string): string {
  return text.replace(/^((?:[0-9a-f]{8} ){3})[0-9a-f]{8}/gm, '$1--------');
}

export function assembleTicker(dir: string): Uint8Array {
  const out = join(dir, 'ticker.bin');
  try {
    execFileSync('nasm', ['-Werror', '-f', 'bin', '-o', out, TICKER_SOURCE], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(
        'nasm is not installed: the snapshot tests assemble their program with it (apt-get install nasm)',
      );
    }
    throw e;
  }
  return new Uint8Array(readFileSync(out));
}
