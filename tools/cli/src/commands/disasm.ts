import { readFile } from 'node:fs/promises';
import { disassemble, formatLine } from '@plex86/x86';
import { integerOption, stringOption, UsageError, type Command } from '../command.js';

/** Output is handed to the writer in pieces of about this many characters. */
const CHUNK = 1 << 16;

export const disasmCommand: Command = {
  name: 'disasm',
  summary: 'Disassemble a raw binary file in Intel syntax (16- or 32-bit code).',
  usage: 'plex86 disasm [--bits 16|32] [--base HEX] FILE',
  details:
    '  --bits 16|32   code size of the bytes (default 32)\n' +
    '  --base HEX     address of the first byte (default 0)\n' +
    '  FILE           raw machine code, disassembled from its first byte to its last\n\n' +
    'One instruction per line: ADDRESS<TAB>BYTES<TAB>TEXT, address and bytes in lower-case hex.\n' +
    'A byte that starts no valid instruction prints (bad) and the disassembly moves on by one byte.\n',
  options: {
    bits: { type: 'string' },
    base: { type: 'string' },
  },
  async run(values, positionals, io) {
    if (positionals.length === 0) throw new UsageError('missing FILE');
    if (positionals.length > 1) throw new UsageError(`expected one FILE, got ${positionals.length} arguments`);
    const bitsText = stringOption(values, 'bits') ?? '32';
    if (bitsText !== '16' && bitsText !== '32') throw new UsageError(`--bits must be 16 or 32, got "${bitsText}"`);
    const bits = bitsText === '16' ? 16 : 32;
    const base = integerOption(values, 'base', 16, 0);
    if (base > 0xffffffff) throw new UsageError(`--base must fit in 32 bits, got "${stringOption(values, 'base')}"`);
    const file = positionals[0] as string;
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(file));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new Error(`no such file: ${file}`);
      if (code === 'EISDIR') throw new Error(`${file} is a directory`);
      throw new Error(`cannot read ${file}: ${(e as Error).message}`);
    }
    let text = '';
    for (const line of disassemble(bytes, base, bits)) {
      text += `${formatLine(line, bytes)}\n`;
      if (text.length >= CHUNK) {
        io.out(text);
        text = '';
      }
    }
    if (text) io.out(text);
    return 0;
  },
};
