/**
 * The guest's general registers and state words (EIP, EFLAGS and the lazy-flag words), and the start
 * of the instruction running (`cpu.insEip`, which the run loop reads after a fault), as locals of a
 * page function. Inlined template code (cpu/exec/fast.ts) reaches them as `r32[n]`, `r16[n]`,
 * `r8[n]` and `st[n]` with literal indexes; as elements of typed arrays, every access is a load or a
 * store that V8 keeps (any store to a typed array may alias any other), and an ALU operation stores
 * four lazy-flag words that the next one overwrites. As locals, they live in machine registers and
 * stores that nothing reads are gone, as QEMU keeps guest registers in host registers within a
 * translation block.
 *
 * The locals are the state while the function runs. They are loaded at entry and written back when
 * it returns or faults, before every handler call (a handler reads and writes the Cpu), and reloaded
 * after it. A handler that faults leaves the state as it made it: the write-back at the exit is
 * skipped while a handler runs. The Cpu's flag getters (`cpu.getCf()` and the others) become the
 * functions of flags.ts that compute the same flags from the locals. The other calls inline code
 * makes (memory slow paths, #GP) neither read nor change registers or state words;
 * holdStateInLocals refuses code that calls anything else on the Cpu.
 *
 * A 16- or 8-bit part of a register (`r16[n]`, `r8[n]`) is read from its register's local and
 * written by merging the value into it.
 */

import { ST_FLAGS, ST_LAZY, ST_OPA, ST_OPB, ST_RES } from '../cpu/cpu.js';
import { carryFlag, overflowFlag, parityFlag, signFlag, zeroFlag } from '../cpu/flags.js';

/** Marks where a handler is called in code given to holdStateInLocals: before the call and after it. */
export const BEFORE_HANDLER = '@before-handler@';
export const AFTER_HANDLER = '@after-handler@';

/** The state words held in locals: EIP, EFLAGS and the lazy-flag words (cpu.ts ST_*), 0 to ST_OPB. */
const STATE_WORDS = ST_OPB + 1;

/** Cpu methods inline code may call: they neither read nor write registers or state words. */
const STATE_FREE = new Set([
  'read8',
  'read16',
  'read32',
  'write8',
  'write16',
  'write32',
  'readLin8',
  'readLin16',
  'readLin32',
  'writeLin8',
  'writeLin16',
  'writeLin32',
  'prepareWrite',
  'raise',
  'raiseNoCode',
]);

/**
 * The Cpu's flag getters, each with the function of flags.ts that computes the same flag and the
 * state words it takes (their locals are its arguments).
 */
const FLAG_GETTERS: Readonly<Record<string, readonly [string, (...words: number[]) => unknown, readonly number[]]>> = {
  getCf: ['carryFlag', carryFlag, [ST_FLAGS, ST_LAZY, ST_RES, ST_OPA, ST_OPB]],
  getOf: ['overflowFlag', overflowFlag, [ST_FLAGS, ST_LAZY, ST_RES, ST_OPA, ST_OPB]],
  getZf: ['zeroFlag', zeroFlag, [ST_FLAGS, ST_LAZY, ST_RES]],
  getSf: ['signFlag', signFlag, [ST_FLAGS, ST_LAZY, ST_RES]],
  getPf: ['parityFlag', parityFlag, [ST_FLAGS, ST_LAZY, ST_RES]],
};

/** The functions the rewritten code calls, for the scope of its generatedFunction. */
export const STATE_LOCALS_SCOPE: Readonly<Record<string, unknown>> = Object.fromEntries(
  Object.values(FLAG_GETTERS).map(([name, fn]) => [name, fn]),
);

export interface StateLocals {
  /** The code with the registers and state words it reaches as locals, its handler calls synchronised. */
  readonly code: string;
  /** Declares and loads the locals (before the code's try block). */
  readonly load: string;
  /** Writes the locals back (in the code's finally block). */
  readonly store: string;
}

/**
 * Rewrites `code` (a page function's body between its entry and exit, whose handler calls are between
 * BEFORE_HANDLER and AFTER_HANDLER) to hold the state in locals. Throws on code that reaches the state
 * through a computed index or calls a Cpu method that may read it.
 */
export function holdStateInLocals(code: string): StateLocals {
  for (const m of code.matchAll(/\b(r32|r16|r8|st)\[([^\]]*)\]/g)) {
    if (!/^\d+$/.test(m[2] as string))
      throw new Error(`page function code reaches ${m[1]} at a computed index: ${m[0]}`);
  }
  for (const m of code.matchAll(/\bcpu\.(\w+)\(/g)) {
    const name = m[1] as string;
    if (!STATE_FREE.has(name) && FLAG_GETTERS[name] === undefined)
      throw new Error(`page function code calls cpu.${name}, which may reach registers held in locals`);
  }
  const registers = new Set<number>();
  for (const m of code.matchAll(/\br32\[(\d+)\]/g)) registers.add(Number(m[1]));
  for (const m of code.matchAll(/\b(r16|r8)\[(\d+)\]/g)) registers.add(partOf(m[1] as string, Number(m[2])).register);
  const held = [...registers].sort((a, b) => a - b);

  const words = Array.from({ length: STATE_WORDS }, (_, n) => n);
  const storeAll = `cpu.insEip = _ie; ${words.map((n) => `st[${n}] = _s${n};`).join(' ')} ${held.map((n) => `r32[${n}] = _r${n};`).join(' ')}`;
  const reloadAll = `_ie = cpu.insEip; ${words.map((n) => `_s${n} = st[${n}];`).join(' ')} ${held.map((n) => `_r${n} = r32[${n}];`).join(' ')}`;

  let out = partialWrites(code);
  out = out.replace(/\b(r16|r8)\[(\d+)\]/g, (_, view: string, n: string) => {
    const { register, shift, mask } = partOf(view, Number(n));
    return shift === 0 ? `(_r${register} & ${mask})` : `((_r${register} >> ${shift}) & ${mask})`;
  });
  out = out.replace(/\br32\[(\d+)\]/g, '_r$1');
  out = out.replace(/\bst\[(\d+)\]/g, (m, n: string) => (Number(n) < STATE_WORDS ? `_s${n}` : m));
  out = out.replace(/\bcpu\.(get[A-Z]f)\(\)/g, (m, getter: string) => {
    const flag = FLAG_GETTERS[getter];
    return flag === undefined ? m : `${flag[0]}(${flag[2].map((n) => `_s${n}`).join(', ')})`;
  });
  out = out.replaceAll('cpu.insEip = ', '_ie = ');
  if (out.includes('cpu.insEip')) throw new Error('page function code reads cpu.insEip, which it holds in a local');
  out = out
    .replaceAll(BEFORE_HANDLER, `${storeAll} _held = false; `)
    .replaceAll(AFTER_HANDLER, ` _held = true; ${reloadAll}`);

  const load =
    `let _held = true, _ie = cpu.insEip, ${words.map((n) => `_s${n} = st[${n}]`).join(', ')}` +
    `${held.map((n) => `, _r${n} = r32[${n}]`).join('')};`;
  return { code: out, load, store: `if (_held) { ${storeAll} }` };
}

/** The register a 16- or 8-bit view's element is part of, and where in it the part lies. */
function partOf(view: string, n: number): { register: number; shift: number; mask: number } {
  if (view === 'r16' && (n & 1) === 0) return { register: n >> 1, shift: 0, mask: 0xffff };
  if (view === 'r8' && (n & 3) < 2) return { register: n >> 2, shift: (n & 3) * 8, mask: 0xff };
  throw new Error(`page function code reaches ${view}[${n}], which is no register's low word, low byte or high byte`);
}

/**
 * The assignments `r16[n] = value;` and `r8[n] = value;` in `code` as merges of the value into the
 * register's local (the value's end is the first `;` outside brackets), as the typed views truncate
 * and place it.
 */
function partialWrites(code: string): string {
  const assignment = /\b(r16|r8)\[(\d+)\]\s*(=(?!=)|[-+*/%&|^]=|<<=|>>>?=|\+\+|--)/g;
  let out = '';
  let from = 0;
  for (let m = assignment.exec(code); m !== null; m = assignment.exec(code)) {
    const [text, view, n, op] = m as unknown as [string, string, string, string];
    if (op !== '=') throw new Error(`page function code updates ${view}[${n}] with ${op}`);
    const start = m.index + text.length;
    let depth = 0;
    let end = start;
    for (; end < code.length; end++) {
      const c = code[end];
      if (c === '(' || c === '[' || c === '{') depth++;
      else if (c === ')' || c === ']' || c === '}') depth--;
      else if (c === ';' && depth === 0) break;
      if (depth < 0) break;
    }
    if (end === code.length || depth !== 0) throw new Error(`page function code assigns ${view}[${n}] without a ';'`);
    const { register, shift, mask } = partOf(view, Number(n));
    const value = code.slice(start, end).trim();
    const placed = shift === 0 ? `((${value}) & ${mask})` : `(((${value}) & ${mask}) << ${shift})`;
    out += `${code.slice(from, m.index)}_r${register} = (_r${register} & ${~(mask << shift)}) | ${placed}`;
    from = end;
    assignment.lastIndex = end;
  }
  return out + code.slice(from);
}
