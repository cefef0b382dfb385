import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTables, NODE_FLAG, NODE_KIND } from './build.js';
import { BANNER } from './emit.js';
import { checkGenerated, defaultPaths, generateSources, loadEnums, type GeneratorPaths } from './generate.js';
import type { RuntimeEnums } from './operands.js';
import { IsaError, parseRow, parseSections } from './parse.js';

const FLAGS = new Set(['lock', 'w', 'r', 'rw', 'osz', 'sw', 'sr', 'nomem', 'priv', 'sens', 'jcc', 'nomod']);
const paths = defaultPaths();
let enums: RuntimeEnums;

beforeAll(async () => {
  enums = await loadEnums(paths.decoderDir);
});

describe('row parser', () => {
  it('reads maps, mandatory prefixes, groups, ModRM forms and flags', () => {
    const row = parseRow('66 0F 38 20 /r | PMOVSXBW Vdq,Udq/Mq | w', 'Sse41', [], FLAGS);
    expect(row).toMatchObject({ map: 2, opcodes: [0x20], prefix: '66', modrm: true, reg: null, mod: null });
    expect(row.operands).toEqual(['Vdq', 'Udq/Mq']);
    expect([...row.flags]).toEqual(['w']);

    expect(parseRow('NP 0F AE F8+i | SFENCE |', 'Sse', [], FLAGS)).toMatchObject({
      map: 1,
      opcodes: [0xae],
      prefix: 'NP',
      mod: 'reg',
      reg: 7,
      rm: null,
    });
    expect(parseRow('D9 E8 | FLD1 |', 'X87', ['x87'], new Set([...FLAGS, 'x87']))).toMatchObject({
      opcodes: [0xd9],
      mod: 'reg',
      reg: 5,
      rm: 0,
    });
    expect(parseRow('40+r | INC Zv |', 'I8086', [], FLAGS).opcodes).toEqual([
      0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47,
    ]);
    expect(parseRow('0F 01 /2 mem | LGDT Ms | r', 'I286', [], FLAGS)).toMatchObject({ reg: 2, mod: 'mem' });
    expect(parseRow('a16 E3 | JCXZ Jb | jcc', 'I8086', [], FLAGS)).toMatchObject({ asize: 16 });
    expect(parseRow('60 | PUSHA/PUSHAD | osz', 'I186', [], FLAGS)).toMatchObject({
      mnemonic16: 'PUSHA',
      mnemonic32: 'PUSHAD',
    });
  });

  it.each([
    ['00 /r | ADD Eb,Gb | shiny', /unknown flag/],
    ['00 /9 | ADD Eb,Gb |', /bad opcode token/],
    ['0F 01 10 | SGDT Ms |', /mod 11b/],
    ['41+r | INC Zv |', /low three bits/],
    ['00 /r', /OPCODE \| INSTRUCTION/],
    ['00 /r | add Eb,Gb |', /bad mnemonic/],
    ['00 /r | ADD Eb,Gb,Ib,Ib,Ib |', /four operands/],
  ])('rejects %s', (line, message) => {
    expect(() => parseRow(line, 'I8086', [], FLAGS)).toThrow(IsaError);
    expect(() => parseRow(line, 'I8086', [], FLAGS)).toThrow(message);
  });

  it('skips comments and blank lines', () => {
    const rows = parseSections([{ feature: 'I8086', rows: '\n# a comment\n90 | NOP | # trailing\n\n' }], FLAGS);
    expect(rows).toHaveLength(1);
  });
});

describe('table builder', () => {
  const build = (text: string) => buildTables(parseSections([{ feature: 'I386', rows: text }], FLAGS), enums);

  it('expands operand-size forms into one Code each and names them', () => {
    const t = build('01 /r | ADD Ev,Gv | lock\n06 | PUSH ES | osz sw\n70 | JO Jb | jcc');
    expect(t.codes.map((c) => c.name)).toEqual([
      'Add_rm16_r16',
      'Add_rm32_r32',
      'Push_ES_16',
      'Push_ES_32',
      'Jo_rel8_16',
      'Jo_rel8_32',
    ]);
    const add = t.opcodeMap[0x01] as number;
    expect(add & NODE_FLAG.MODRM).toBe(NODE_FLAG.MODRM);
    expect(add & 15).toBe(NODE_KIND.OPSIZE);
  });

  it('shares one Code between identical rows', () => {
    const t = build('80 /0 | ADD Eb,Ib | lock\n82 /0 | ADD Eb,Ib | lock');
    expect(t.codes).toHaveLength(1);
    expect(t.codes[0]?.rows).toHaveLength(2);
  });

  it('prefers a row selected by a mandatory prefix and marks the prefix consumed', () => {
    const t = build('90 | NOP |\nF3 90 | PAUSE |');
    const root = t.opcodeMap[0x90] as number;
    expect(root & 15).toBe(NODE_KIND.PREFIX);
    const children = Array.from(
      t.nodes.subarray(root >>> NODE_FLAG.PAYLOAD_SHIFT, (root >>> NODE_FLAG.PAYLOAD_SHIFT) + 4),
    );
    const names = children.map((w) => t.codes[(w >>> NODE_FLAG.PAYLOAD_SHIFT) - 1]?.name);
    expect(names).toEqual(['Nop', 'Nop', 'Pause', 'Nop']);
    expect((children[2] as number) & NODE_FLAG.CONSUME).toBe(NODE_FLAG.CONSUME);
    expect((children[3] as number) & NODE_FLAG.CONSUME).toBe(0);
  });

  it('rejects ambiguous encodings, mixed ModRM use and prefixes used as opcodes', () => {
    expect(() => build('00 /r | ADD Eb,Gb |\n00 /r | SUB Eb,Gb |')).toThrow(/ambiguous encoding at opcode 00/);
    expect(() => build('00 /0 | ADD Eb,Ib |\n00 | DAA |')).toThrow(/mixes rows with and without ModRM/);
    expect(() => build('F0 | NOP |')).toThrow(/prefix or escape/);
    expect(() => build('0F 38 | NOP |')).toThrow(/prefix or escape/);
    expect(() => build('66 0F 58 /r | ADDPD Vv,Wv |')).toThrow(/cannot depend on the operand size/);
  });
});

describe('generated sources', () => {
  let dir: string;
  let tmpPaths: GeneratorPaths;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gen-x86-'));
    tmpPaths = { ...paths, outputDir: join(dir, 'generated') };
    await cp(paths.outputDir, tmpPaths.outputDir, { recursive: true });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('are deterministic and carry the banner', async () => {
    const first = await generateSources(paths);
    const second = await generateSources(paths);
    expect([...first]).toEqual([...second]);
    for (const text of first.values()) expect(text.startsWith(BANNER)).toBe(true);
  });

  it('match the committed files in libs/x86/src/generated', async () => {
    expect(await checkGenerated(paths)).toEqual([]);
  });

  it('check names changed, missing and stale files', async () => {
    const codeFile = join(tmpPaths.outputDir, 'code.ts');
    await writeFile(codeFile, `${await readFile(codeFile, 'utf8')}\n// edited\n`);
    await rm(join(tmpPaths.outputDir, 'mnemonic.ts'));
    await writeFile(join(tmpPaths.outputDir, 'old.ts'), BANNER);
    expect((await checkGenerated(tmpPaths)).sort()).toEqual([
      'code.ts (differs)',
      'mnemonic.ts (missing)',
      'old.ts (not generated any more)',
    ]);
  });
});
