import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CODE_FEATURE, Decoder, DecodeStatus, Instruction } from '../src/index.js';
import { checkAttributes, describeForVector, featureName, parseVectors, VectorError } from '../src/testing/index.js';

const DIR = join(import.meta.dirname, '..', 'test-vectors');
const files = readdirSync(DIR)
  .filter((f) => f.endsWith('.txt'))
  .sort();

describe('decoder test vectors', () => {
  it('has vector files', () => {
    expect(files.length).toBeGreaterThanOrEqual(4);
  });

  describe.each(files)('%s', (file) => {
    const vectors = parseVectors(readFileSync(join(DIR, file), 'utf8'), file);
    it(`decodes all ${vectors.length} vectors as expected`, () => {
      expect(vectors.length).toBeGreaterThan(0);
      const decoder = new Decoder();
      const ins = new Instruction();
      const failures: string[] = [];
      for (const v of vectors) {
        const ip = v.expect.has('ip') ? parseInt(v.expect.get('ip') as string, 16) : 0x1000;
        const status = decoder.decode(v.bytes, 0, v.bytes.length, ip, v.bitness, ins);
        const got = describeForVector(ins, DecodeStatus[status]);
        const expected = new Map(v.expect);
        if (!expected.has('status')) expected.set('status', 'Ok');
        for (const [key, want] of expected) {
          if (key === 'ip') continue;
          if (key === 'attrs') {
            const bad = checkAttributes(ins.attributes, want);
            if (bad.length)
              failures.push(`${v.where}: attrs ${bad.join(',')} (attributes 0x${ins.attributes.toString(16)})`);
            continue;
          }
          const actual = key === 'feature' ? featureName(CODE_FEATURE[ins.code] ?? -1) : got.get(key);
          if (actual !== want) failures.push(`${v.where}: ${key}=${actual ?? '?'}, expected ${want}`);
        }
      }
      expect(failures).toEqual([]);
    });
  });
});

describe('vector parser', () => {
  it('parses bitness, bytes and keys', () => {
    const [v] = parseVectors('# c\n32 | 0f 0b | code=Ud2 len=2\n', 'x.txt');
    expect(v?.bitness).toBe(32);
    expect(Array.from(v?.bytes ?? [])).toEqual([0x0f, 0x0b]);
    expect(v?.expect.get('code')).toBe('Ud2');
    expect(v?.where).toBe('x.txt:2');
  });

  it.each([
    ['64 | 90 | len=1', /bitness/],
    ['32 | 9 | len=1', /hex/],
    ['32 | 90 | size=1', /unknown key/],
    ['32 | 90 | len', /key=value/],
    ['32 | 90', /BITNESS/],
    ['32 | 90 | len=1 len=1', /twice/],
  ])('rejects %s', (line, message) => {
    expect(() => parseVectors(line, 'bad.txt')).toThrow(VectorError);
    expect(() => parseVectors(line, 'bad.txt')).toThrow(message);
  });
});
