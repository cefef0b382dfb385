/**
 * Text decoder test vectors (libs/x86/test-vectors/*.txt), one per line:
 *
 *   BITNESS | HEX BYTES | key=value ...
 *
 * `#` starts a comment. The bytes are decoded at offset 0 with `end` = their count and IP 0x1000 (or
 * `ip=HEX`). Keys (each is checked only when present):
 *   status=Ok|Invalid|NeedMoreBytes|TooLong (default Ok)   len=N   code=Code name   mnemonic=text
 *   ops=op,op,...   operands in order (see formatOperand), `ops=` for none
 *   prefixes=lock,rep,repne,osize,asize,seg=es   exactly these (none: `prefixes=`)
 *   attrs=BIT,!BIT,...   CodeAttr bits that must (not) be set   flow=FlowControl name
 *   osize=16|32   asize=16|32   feature=Feature name
 */

export interface DecoderVector {
  /** File and line, for messages. */
  readonly where: string;
  readonly bitness: 16 | 32;
  readonly bytes: Uint8Array;
  readonly expect: ReadonlyMap<string, string>;
}

const KEYS = new Set([
  'status',
  'len',
  'code',
  'mnemonic',
  'ops',
  'prefixes',
  'attrs',
  'flow',
  'osize',
  'asize',
  'feature',
  'ip',
]);

/** Malformed vector text. */
export class VectorError extends Error {}

/** Parses a vector file; `name` prefixes every `where`. */
export function parseVectors(text: string, name: string): DecoderVector[] {
  const vectors: DecoderVector[] = [];
  text.split('\n').forEach((raw, i) => {
    const where = `${name}:${i + 1}`;
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) return;
    const parts = line.split('|').map((p) => p.trim());
    if (parts.length !== 3) throw new VectorError(`${where}: expected BITNESS | BYTES | EXPECTATIONS`);
    const [bitsText, hexText, expectText] = parts as [string, string, string];
    if (bitsText !== '16' && bitsText !== '32') throw new VectorError(`${where}: bitness must be 16 or 32`);
    const hex = hexText.replace(/\s+/g, '');
    if (!/^([0-9a-fA-F]{2})*$/.test(hex) || hex.length === 0) throw new VectorError(`${where}: bad hex bytes`);
    const bytes = Uint8Array.from(hex.match(/../g) as string[], (h) => parseInt(h, 16));
    const expect = new Map<string, string>();
    for (const token of expectText.split(/\s+/).filter(Boolean)) {
      const eq = token.indexOf('=');
      if (eq <= 0) throw new VectorError(`${where}: expected key=value, got "${token}"`);
      const key = token.slice(0, eq);
      if (!KEYS.has(key)) throw new VectorError(`${where}: unknown key "${key}"`);
      if (expect.has(key)) throw new VectorError(`${where}: "${key}" given twice`);
      expect.set(key, token.slice(eq + 1));
    }
    vectors.push({ where, bitness: bitsText === '16' ? 16 : 32, bytes, expect });
  });
  return vectors;
}
