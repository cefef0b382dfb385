import { Code, CODE_ATTRIBUTES, CODE_COUNT, CODE_FEATURE, CodeAttr, Feature } from '@plex86/x86';
import { describe, expect, it } from 'vitest';
import './index.js';
import { isImplemented } from './table.js';

/** Integer instructions of the table a P6 without SSE deliberately answers with #UD. */
const UNDEFINED_HERE = new Set([
  'Invalid',
  'Ud0_r16_rm16',
  'Ud0_r32_rm32',
  'Ud1_r16_rm16',
  'Ud1_r32_rm32',
  'Ud2',
  // Outside system-management mode RSM is #UD.
  'Rsm',
  // CPUID describes a model without SEP (like the Pentium Pro), so SYSENTER/SYSEXIT are #UD.
  'Sysenter',
  'Sysexit',
]);

describe('dispatch table', () => {
  it('has a handler for every 8086..P6 integer instruction of the decoder', () => {
    const missing: string[] = [];
    for (let code = 0; code < CODE_COUNT; code++) {
      const name = Code[code];
      const feature = CODE_FEATURE[code];
      if (feature > Feature.P6 || (CODE_ATTRIBUTES[code] & CodeAttr.X87) !== 0) continue;
      if (!isImplemented(code) && !UNDEFINED_HERE.has(name)) missing.push(name);
    }
    expect(missing).toEqual([]);
  });

  it('implements nothing from the MMX and SSE extensions but FXSAVE/FXRSTOR (x87 state only)', () => {
    const present: string[] = [];
    for (let code = 0; code < CODE_COUNT; code++) {
      if (CODE_FEATURE[code] >= Feature.Mmx && isImplemented(code)) present.push(Code[code]);
    }
    expect(present).toEqual(['Fxsave_m512byte', 'Fxrstor_m512byte']);
  });
});
