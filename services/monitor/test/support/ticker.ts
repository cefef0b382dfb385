/** The snapshot tests' program, test/programs/ticker.asm; nasm must be installed. */

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assemble } from './programs.js';

/** The ticker program's debug console output with the CMOS seconds (fourth column) masked: they follow the host's clock. */
export function withoutHostTime(text: string): string {
  return text.replace(/^((?:[0-9a-f]{8} ){3})[0-9a-f]{8}/gm, '$1--------');
}

/** Assembles the ticker and also writes it to `dir`/ticker.bin, for runs that take a file. */
export function assembleTicker(dir: string): Uint8Array {
  const image = assemble('ticker');
  writeFileSync(join(dir, 'ticker.bin'), image);
  return image;
}
