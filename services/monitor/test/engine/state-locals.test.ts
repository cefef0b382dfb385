// The rewrite that holds a page function's registers and state words in locals
// (engine/state-locals.ts); region.test.ts runs the functions it makes against the interpreter.

import { describe, expect, it } from 'vitest';
import { AFTER_HANDLER, BEFORE_HANDLER, holdStateInLocals } from '../../src/engine/state-locals.js';

describe('state locals', () => {
  it('hold the registers and state words in locals, merging writes of 16- and 8-bit parts', () => {
    const { code, load, store } = holdStateInLocals(
      'r32[0] = (r32[3] + r8[4]) | 0; r8[5] = r32[0] + (r16[2] >> 1); r16[12] = 7; st[3] = r8[13]; st[9] = 1;',
    );
    expect(code).toBe(
      '_r0 = (_r3 + (_r1 & 255)) | 0; _r1 = (_r1 & -65281) | (((_r0 + ((_r1 & 65535) >> 1)) & 255) << 8);' +
        ' _r6 = (_r6 & -65536) | ((7) & 65535); _s3 = ((_r3 >> 8) & 255); st[9] = 1;',
    );
    expect(load).toContain('_r0 = r32[0], _r1 = r32[1], _r3 = r32[3], _r6 = r32[6];');
    expect(load).toContain('_s5 = st[5]');
    expect(store).toContain('r32[6] = _r6;');
    expect(store).toContain('st[0] = _s0;');
  });

  it('hold the start of the running instruction in a local', () => {
    const { code, load, store } = holdStateInLocals('cpu.insEip = 4096; r32[0] = cpu.read32(2, 0);');
    expect(code).toBe('_ie = 4096; _r0 = cpu.read32(2, 0);');
    expect(load).toContain('_ie = cpu.insEip');
    expect(store).toContain('cpu.insEip = _ie;');
    expect(() => holdStateInLocals('x = cpu.insEip;')).toThrow('reads cpu.insEip');
  });

  it('write the locals back around handler calls and compute flags from them', () => {
    const { code } = holdStateInLocals(
      `r32[2] = 1; ${BEFORE_HANDLER}h[0](cpu, r[0]);${AFTER_HANDLER} x = cpu.getCf();`,
    );
    expect(code).toMatch(
      /^_r2 = 1; .*r32\[2\] = _r2; _held = false; h\[0\]\(cpu, r\[0\]\); _held = true; .*_r2 = r32\[2\];/,
    );
    expect(code).toContain('x = carryFlag(_s1, _s2, _s3, _s4, _s5);');
  });

  it('refuse code that reaches the state at a computed index or calls the Cpu otherwise', () => {
    expect(() => holdStateInLocals('r32[n] = 0;')).toThrow('computed index: r32[n]');
    expect(() => holdStateInLocals('cpu.materializeFlags();')).toThrow('calls cpu.materializeFlags');
    expect(() => holdStateInLocals('cpu.getAf();')).toThrow('calls cpu.getAf');
    expect(() => holdStateInLocals('x = r8[2];')).toThrow('r8[2], which is no register');
    expect(() => holdStateInLocals('r8[4] += 1;')).toThrow('updates r8[4] with +=');
    expect(() => holdStateInLocals('{ r16[0] = 1 }')).toThrow("assigns r16[0] without a ';'");
  });
});
