/** Parses the rows of the instruction table in libs/x86/isa into structured rows. */

export interface IsaSectionInput {
  readonly feature: string;
  readonly flags?: string;
  readonly rows: string;
}

export type MandatoryPrefix = 'NP' | '66' | 'F3' | 'F2';

/** One table row after parsing; `source` is kept for error messages and name disambiguation. */
export interface ParsedRow {
  readonly source: string;
  readonly feature: string;
  /** 0 one-byte, 1 = 0F, 2 = 0F 38, 3 = 0F 3A. */
  readonly map: number;
  /** One opcode, or eight for `XX+r`. */
  readonly opcodes: readonly number[];
  readonly prefix: MandatoryPrefix | null;
  readonly osize: 16 | 32 | null;
  readonly asize: 16 | 32 | null;
  readonly modrm: boolean;
  readonly mod: 'mem' | 'reg' | null;
  readonly reg: number | null;
  /** Exact ModRM.rm, or null for any. */
  readonly rm: number | null;
  /** Mnemonic for 16-bit and 32-bit operand size (equal unless the row says `A/B`). */
  readonly mnemonic16: string;
  readonly mnemonic32: string;
  readonly operands: readonly string[];
  readonly flags: ReadonlySet<string>;
  /** Opcode bytes as written, e.g. `0F1F`, for disambiguating names. */
  readonly opcodeTag: string;
}

export class IsaError extends Error {}

const HEX_BYTE = /^([0-9A-F]{2})(\+[ri])?$/;

export function parseSections(sections: readonly IsaSectionInput[], knownFlags: ReadonlySet<string>): ParsedRow[] {
  const rows: ParsedRow[] = [];
  for (const section of sections) {
    const sectionFlags = (section.flags ?? '').split(/\s+/).filter(Boolean);
    for (const rawLine of section.rows.split('\n')) {
      const line = rawLine.replace(/#.*$/, '').trim();
      if (!line) continue;
      rows.push(parseRow(line, section.feature, sectionFlags, knownFlags));
    }
  }
  return rows;
}

export function parseRow(
  line: string,
  feature: string,
  sectionFlags: readonly string[],
  knownFlags: ReadonlySet<string>,
): ParsedRow {
  const fail = (why: string): never => {
    throw new IsaError(`${why}: "${line}"`);
  };
  const columns = line.split('|').map((c) => c.trim());
  if (columns.length < 2 || columns.length > 3) fail('expected OPCODE | INSTRUCTION | FLAGS');
  const [opcodeText, instructionText, flagText = ''] = columns as [string, string, string?];

  let map = 0;
  let prefix: MandatoryPrefix | null = null;
  let osize: 16 | 32 | null = null;
  let asize: 16 | 32 | null = null;
  let modrm = false;
  let mod: 'mem' | 'reg' | null = null;
  let reg: number | null = null;
  let rm: number | null = null;
  let opcodes: number[] | null = null;
  const tag: string[] = [];
  const tokens = opcodeText.split(/\s+/).filter(Boolean);
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] as string;
    if (token === 'NP') {
      if (opcodes || tag.length > 0 || prefix) fail('NP must come first');
      prefix = 'NP';
      continue;
    }
    if (token === 'o16' || token === 'o32') {
      osize = token === 'o16' ? 16 : 32;
      continue;
    }
    if (token === 'a16' || token === 'a32') {
      asize = token === 'a16' ? 16 : 32;
      continue;
    }
    if (token === 'mem' || token === 'reg') {
      if (!opcodes) fail('mem/reg before the opcode');
      modrm = true;
      mod = token;
      continue;
    }
    if (token === '/r') {
      modrm = true;
      continue;
    }
    const digit = /^\/([0-7])$/.exec(token);
    if (digit) {
      modrm = true;
      reg = Number(digit[1]);
      continue;
    }
    const hex = HEX_BYTE.exec(token);
    if (!hex) fail(`bad opcode token "${token}"`);
    const value = parseInt((hex as RegExpExecArray)[1] as string, 16);
    const plus = (hex as RegExpExecArray)[2];
    if (opcodes === null) {
      if (!plus && map === 0 && tag.length === 0 && (value === 0x66 || value === 0xf2 || value === 0xf3)) {
        if (prefix) fail('two mandatory prefixes');
        prefix = token === '66' ? '66' : token === 'F2' ? 'F2' : 'F3';
        continue;
      }
      if (map === 0 && value === 0x0f && !plus && tag.length === 0) {
        map = 1;
        tag.push(token);
        continue;
      }
      if (
        map === 1 &&
        tag.length === 1 &&
        (value === 0x38 || value === 0x3a) &&
        !plus &&
        i + 1 < tokens.length &&
        HEX_BYTE.test(tokens[i + 1] as string)
      ) {
        map = value === 0x38 ? 2 : 3;
        tag.push(token);
        continue;
      }
      if (plus === '+i') fail('+i only applies to a ModRM byte');
      opcodes = plus === '+r' ? [0, 1, 2, 3, 4, 5, 6, 7].map((n) => value + n) : [value];
      if (plus === '+r' && (value & 7) !== 0) fail('XX+r needs XX with low three bits clear');
      tag.push(token.replace('+r', ''));
      continue;
    }
    // A byte after the opcode is its ModRM byte (register form).
    if (value < 0xc0) fail('exact ModRM bytes must have mod 11b');
    if (plus === '+r') fail('+r only applies to an opcode byte');
    if (plus === '+i' && (value & 7) !== 0) fail('XX+i needs XX with low three bits clear');
    modrm = true;
    mod = 'reg';
    reg = (value >> 3) & 7;
    rm = plus === '+i' ? null : value & 7;
    tag.push(token.replace('+i', ''));
  }
  if (!opcodes) fail('no opcode byte');

  const instruction = instructionText.split(/\s+/);
  const mnemonicText = instruction[0] as string;
  const operandText = instruction.slice(1).join('');
  if (!/^[A-Z0-9]+(\/[A-Z0-9]+)?$/.test(mnemonicText)) fail(`bad mnemonic "${mnemonicText}"`);
  const [mnemonic16, mnemonic32 = mnemonic16] = mnemonicText.split('/') as [string, string?];
  const operands = operandText ? operandText.split(',') : [];
  if (operands.length > 4) fail('more than four operands');

  const flags = new Set<string>(sectionFlags);
  for (const flag of flagText.split(/\s+/).filter(Boolean)) {
    if (!knownFlags.has(flag)) fail(`unknown flag "${flag}"`);
    flags.add(flag);
  }
  return {
    source: line,
    feature,
    map,
    opcodes: opcodes as number[],
    prefix,
    osize,
    asize,
    modrm,
    mod,
    reg,
    rm,
    mnemonic16,
    mnemonic32,
    operands,
    flags,
    opcodeTag: tag.join(''),
  };
}
