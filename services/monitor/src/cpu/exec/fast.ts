/**
 * Specialised handlers for the most frequent instruction forms. Each (operation, size, operand form)
 * gets its own function, generated from a template with the operation, size, masks and lazy-flag
 * words as literals, so V8 optimises each one on its own (a shared generic handler would see every
 * operation and stay slow). The block decoder picks one of these when the form matches (register or
 * memory operand), and the table's generic handler otherwise. Semantics are the generic handlers'
 * (arith.ts, control.ts); the 80286 suite and the program tests run through these.
 */

import { Code, OpKind, type Instruction } from '@plex86/x86';
import { ST_LAZY, ST_OPA, ST_OPB, ST_RES } from '../cpu.js';
import { LazyKind, lazyWord } from '../flags.js';
import { ea } from './operands.js';
import type { Handler } from './table.js';

type Size = 8 | 16 | 32;

/** r8 byte offset for Register.AL..BH (index 0 unused), as in operands.ts. */
const R8 = Uint8Array.of(0, 0, 4, 8, 12, 1, 5, 9, 13);

function reg(size: Size, field: string): string {
  if (size === 32) return `cpu.r32[${field} - 17]`;
  if (size === 16) return `cpu.r16[(${field} - 9) << 1]`;
  return `cpu.r8[R8[${field}]]`;
}

function mask(size: Size, expr: string): string {
  return size === 32 ? `(${expr}) | 0` : `(${expr}) & ${size === 16 ? 0xffff : 0xff}`;
}

function imm(size: Size): string {
  return size === 32 ? 'ins.immediate | 0' : `ins.immediate & ${size === 16 ? 0xffff : 0xff}`;
}

const SEG = 'ins.memSegment - 25';

function read(size: Size, seg: string, off: string): string {
  return `cpu.read${size}(${seg}, ${off})`;
}

const LAZY = (size: Size, kind: LazyKind, incDec = false): number => lazyWord(kind, size, incDec);

/** Code computing `res` from `a` and `b` for group-1 operation `op`, recording the lazy flags. */
function aluCode(op: number, size: Size): string {
  const setAll = (kind: LazyKind): string =>
    `st[${ST_LAZY}] = ${LAZY(size, kind)}; st[${ST_RES}] = res; st[${ST_OPA}] = a; st[${ST_OPB}] = b;`;
  const setLogic = `st[${ST_LAZY}] = ${LAZY(size, LazyKind.LOGIC)}; st[${ST_RES}] = res;`;
  switch (op) {
    case 0:
      return `const res = ${mask(size, 'a + b')}; ${setAll(LazyKind.ADD)}`;
    case 1:
      return `const res = a | b; ${setLogic}`;
    case 2:
      return `const c = cpu.getCf(); const res = ${mask(size, 'a + b + c')};
        st[${ST_LAZY}] = c !== 0 ? ${LAZY(size, LazyKind.ADC)} : ${LAZY(size, LazyKind.ADD)};
        st[${ST_RES}] = res; st[${ST_OPA}] = a; st[${ST_OPB}] = b;`;
    case 3:
      return `const c = cpu.getCf(); const res = ${mask(size, 'a - b - c')};
        st[${ST_LAZY}] = c !== 0 ? ${LAZY(size, LazyKind.SBB)} : ${LAZY(size, LazyKind.SUB)};
        st[${ST_RES}] = res; st[${ST_OPA}] = a; st[${ST_OPB}] = b;`;
    case 4:
      return `const res = a & b; ${setLogic}`;
    case 6:
      return `const res = a ^ b; ${setLogic}`;
    default:
      return `const res = ${mask(size, 'a - b')}; ${setAll(LazyKind.SUB)}`;
  }
}

let compiled = 0;

function compile(body: string): Handler {
  compiled++;
  const factory = new Function('R8', 'ea', `"use strict"; return function fastHandler(cpu, ins) {\n${body}\n};`) as (
    r8: Uint8Array,
    eaFn: typeof ea,
  ) => Handler;
  return factory(R8, ea);
}

/**
 * Handler sources for a code: one for a register r/m operand and one for memory; the memory one is
 * also built with the effective address inlined for the common 32-bit [base + displacement] form.
 * Each is compiled the first time a record needs it.
 */
class FastEntry {
  private regFn: Handler | undefined;
  private memFn: Handler | undefined;
  private baseFn: Handler | undefined;
  constructor(
    private readonly regBody: string | undefined,
    private readonly memBody: string | undefined,
  ) {}

  reg(): Handler | undefined {
    if (this.regFn === undefined && this.regBody !== undefined) this.regFn = compile(this.regBody);
    return this.regFn;
  }

  mem(baseDisp32: boolean): Handler | undefined {
    if (this.memBody === undefined) return undefined;
    if (baseDisp32) {
      this.baseFn ??= compile(
        this.memBody.replaceAll('ea(cpu, ins)', '((cpu.r32[ins.memBase - 17] + ins.memDisplacement) | 0)'),
      );
      return this.baseFn;
    }
    this.memFn ??= compile(this.memBody);
    return this.memFn;
  }
}

const FAST = new Map<number, FastEntry>();

function code(name: string): number {
  const c = (Code as unknown as Record<string, number | undefined>)[name];
  if (typeof c !== 'number') throw new Error(`unknown instruction code ${name}`);
  return c;
}

function define(name: string, regBody: string | undefined, memBody: string | undefined): void {
  FAST.set(code(name), new FastEntry(regBody, memBody));
}

const OPS = ['Add', 'Or', 'Adc', 'Sbb', 'And', 'Sub', 'Xor', 'Cmp'];
const SIZES: Size[] = [8, 16, 32];

for (let op = 0; op < 8; op++) {
  const n = OPS[op];
  const store = op !== 7;
  for (const size of SIZES) {
    const alu = aluCode(op, size);
    const bytes = size >>> 3;
    // op0 = r/m, op1 = register
    define(
      `${n}_rm${size}_r${size}`,
      `const st = cpu.st; const a = ${reg(size, 'ins.op0Register')}; const b = ${reg(size, 'ins.op1Register')};
       ${alu} ${store ? `${reg(size, 'ins.op0Register')} = res;` : ''}`,
      store
        ? `const st = cpu.st; const lin = cpu.prepareWrite(${SEG}, ea(cpu, ins), ${bytes});
           const a = cpu.readLin${size}(lin); const b = ${reg(size, 'ins.op1Register')}; ${alu} cpu.writeLin${size}(lin, res);`
        : `const st = cpu.st; const a = ${read(size, SEG, 'ea(cpu, ins)')}; const b = ${reg(size, 'ins.op1Register')}; ${alu}`,
    );
    // op0 = register, op1 = r/m
    define(
      `${n}_r${size}_rm${size}`,
      `const st = cpu.st; const a = ${reg(size, 'ins.op0Register')}; const b = ${reg(size, 'ins.op1Register')};
       ${alu} ${store ? `${reg(size, 'ins.op0Register')} = res;` : ''}`,
      `const st = cpu.st; const b = ${read(size, SEG, 'ea(cpu, ins)')}; const a = ${reg(size, 'ins.op0Register')};
       ${alu} ${store ? `${reg(size, 'ins.op0Register')} = res;` : ''}`,
    );
    // op0 = r/m, op1 = immediate
    const rmImm = (name: string): void =>
      define(
        name,
        `const st = cpu.st; const a = ${reg(size, 'ins.op0Register')}; const b = ${imm(size)};
         ${alu} ${store ? `${reg(size, 'ins.op0Register')} = res;` : ''}`,
        store
          ? `const st = cpu.st; const lin = cpu.prepareWrite(${SEG}, ea(cpu, ins), ${bytes});
             const a = cpu.readLin${size}(lin); const b = ${imm(size)}; ${alu} cpu.writeLin${size}(lin, res);`
          : `const st = cpu.st; const a = ${read(size, SEG, 'ea(cpu, ins)')}; const b = ${imm(size)}; ${alu}`,
      );
    rmImm(`${n}_rm${size}_imm${size}`);
    if (size !== 8) rmImm(`${n}_rm${size}_imm8`);
  }
  define(
    `${n}_EAX_imm32`,
    `const st = cpu.st; const a = cpu.r32[0]; const b = ins.immediate | 0; ${aluCode(op, 32)} ${store ? 'cpu.r32[0] = res;' : ''}`,
    undefined,
  );
  define(
    `${n}_AX_imm16`,
    `const st = cpu.st; const a = cpu.r16[0]; const b = ins.immediate & 0xffff; ${aluCode(op, 16)} ${store ? 'cpu.r16[0] = res;' : ''}`,
    undefined,
  );
  define(
    `${n}_AL_imm8`,
    `const st = cpu.st; const a = cpu.r8[0]; const b = ins.immediate & 0xff; ${aluCode(op, 8)} ${store ? 'cpu.r8[0] = res;' : ''}`,
    undefined,
  );
}

for (const size of SIZES) {
  const test = aluCode(4, size);
  define(
    `Test_rm${size}_r${size}`,
    `const st = cpu.st; const a = ${reg(size, 'ins.op0Register')}; const b = ${reg(size, 'ins.op1Register')}; ${test}`,
    `const st = cpu.st; const a = ${read(size, SEG, 'ea(cpu, ins)')}; const b = ${reg(size, 'ins.op1Register')}; ${test}`,
  );
  define(
    `Test_rm${size}_imm${size}`,
    `const st = cpu.st; const a = ${reg(size, 'ins.op0Register')}; const b = ${imm(size)}; ${test}`,
    `const st = cpu.st; const a = ${read(size, SEG, 'ea(cpu, ins)')}; const b = ${imm(size)}; ${test}`,
  );
  // MOV
  define(
    `Mov_rm${size}_r${size}`,
    `${reg(size, 'ins.op0Register')} = ${reg(size, 'ins.op1Register')};`,
    `cpu.write${size}(${SEG}, ea(cpu, ins), ${reg(size, 'ins.op1Register')});`,
  );
  define(
    `Mov_r${size}_rm${size}`,
    `${reg(size, 'ins.op0Register')} = ${reg(size, 'ins.op1Register')};`,
    `${reg(size, 'ins.op0Register')} = ${read(size, SEG, 'ea(cpu, ins)')};`,
  );
  define(`Mov_r${size}_imm${size}`, `${reg(size, 'ins.op0Register')} = ${imm(size)};`, undefined);
  define(
    `Mov_rm${size}_imm${size}`,
    `${reg(size, 'ins.op0Register')} = ${imm(size)};`,
    `cpu.write${size}(${SEG}, ea(cpu, ins), ${imm(size)});`,
  );
  // INC / DEC of a r/m operand keep CF: it is made concrete first.
  for (const [name, kind, delta] of [
    ['Inc', LazyKind.ADD, '+'],
    ['Dec', LazyKind.SUB, '-'],
  ] as const) {
    const lz = LAZY(size, kind, true);
    const body = (get: string, put: (v: string) => string): string =>
      `const st = cpu.st; const cf = cpu.getCf(); const a = ${get}; const res = ${mask(size, `a ${delta} 1`)};
       st[1] = (st[1] & ~1) | cf; st[${ST_LAZY}] = ${lz}; st[${ST_RES}] = res; st[${ST_OPA}] = a; st[${ST_OPB}] = 1;
       ${put('res')}`;
    define(
      `${name}_rm${size}`,
      body(reg(size, 'ins.op0Register'), (v) => `${reg(size, 'ins.op0Register')} = ${v};`),
      `const lin = cpu.prepareWrite(${SEG}, ea(cpu, ins), ${size >>> 3});
       ${body(`cpu.readLin${size}(lin)`, (v) => `cpu.writeLin${size}(lin, ${v});`)}`,
    );
    if (size !== 8) {
      define(
        `${name}_r${size}`,
        body(reg(size, 'ins.op0Register'), (v) => `${reg(size, 'ins.op0Register')} = ${v};`),
        undefined,
      );
    }
  }
}

define('Lea_r32_m', undefined, 'cpu.r32[ins.op0Register - 17] = ea(cpu, ins);');
define(
  'Movzx_r32_rm8',
  `cpu.r32[ins.op0Register - 17] = ${reg(8, 'ins.op1Register')};`,
  `cpu.r32[ins.op0Register - 17] = ${read(8, SEG, 'ea(cpu, ins)')};`,
);
define(
  'Movzx_r32_rm16',
  `cpu.r32[ins.op0Register - 17] = ${reg(16, 'ins.op1Register')};`,
  `cpu.r32[ins.op0Register - 17] = ${read(16, SEG, 'ea(cpu, ins)')};`,
);
define(
  'Movsx_r32_rm8',
  `cpu.r32[ins.op0Register - 17] = (${reg(8, 'ins.op1Register')} << 24) >> 24;`,
  `cpu.r32[ins.op0Register - 17] = (${read(8, SEG, 'ea(cpu, ins)')} << 24) >> 24;`,
);
define(
  'Movsx_r32_rm16',
  `cpu.r32[ins.op0Register - 17] = (${reg(16, 'ins.op1Register')} << 16) >> 16;`,
  `cpu.r32[ins.op0Register - 17] = (${read(16, SEG, 'ea(cpu, ins)')} << 16) >> 16;`,
);

// Jcc: the condition straight from the flag getters, the target relative to the current EIP.
const CONDITIONS = [
  'cpu.getOf()',
  '!cpu.getOf()',
  'cpu.getCf() !== 0',
  'cpu.getCf() === 0',
  'cpu.getZf()',
  '!cpu.getZf()',
  '(cpu.getCf() !== 0 || cpu.getZf())',
  '!(cpu.getCf() !== 0 || cpu.getZf())',
  'cpu.getSf()',
  '!cpu.getSf()',
  'cpu.getPf()',
  '!cpu.getPf()',
  'cpu.getSf() !== cpu.getOf()',
  'cpu.getSf() === cpu.getOf()',
  '(cpu.getZf() || cpu.getSf() !== cpu.getOf())',
  '!(cpu.getZf() || cpu.getSf() !== cpu.getOf())',
];
const CC = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];
const jumpCode = (bits: 16 | 32): string =>
  `const t = ${bits === 16 ? '(cpu.eip + ins.branchTarget - ins.ip - ins.length) & 0xffff' : '(cpu.eip + ins.branchTarget - ins.ip - ins.length) | 0'};
   if ((t >>> 0) > (cpu.segLimit[1] >>> 0)) cpu.raise(13, 0);
   cpu.eip = t;`;
for (let cc = 0; cc < 16; cc++) {
  for (const [suffix, bits] of [
    ['rel8_16', 16],
    ['rel8_32', 32],
    ['rel16', 16],
    ['rel32', 32],
  ] as const) {
    define(`J${CC[cc]}_${suffix}`, `if (${CONDITIONS[cc]}) { ${jumpCode(bits)} }`, undefined);
  }
}
define('Jmp_rel8_32', jumpCode(32), undefined);
define('Jmp_rel32', jumpCode(32), undefined);
define('Jmp_rel8_16', jumpCode(16), undefined);
define('Jmp_rel16', jumpCode(16), undefined);

// SHL/SHR/SAR of a 32-bit register by an immediate or 1: CF, OF, AF in the flags word, SF/ZF/PF lazy
// (all six change, so nothing older needs evaluating). OF follows the count-1 rule for every count.
const LZ_RESULT32 = LAZY(32, LazyKind.RESULT);
for (const [name, expr, cfExpr, ofExpr] of [
  ['Shl', 'a << c', '(a >>> (32 - c)) & 1', '((res >>> 31) ^ cf) !== 0'],
  ['Shr', '(a >>> c) | 0', '(a >>> (c - 1)) & 1', '(((res << 1) ^ res) >>> 31) !== 0'],
  ['Sar', 'a >> c', '(a >> (c - 1)) & 1', 'false'],
] as const) {
  const body = (count: string): string =>
    `const c = ${count}; if (c === 0) return; const r = ins.op0Register - 17; const a = cpu.r32[r];
     const res = ${expr}; const cf = ${cfExpr}; const st = cpu.st;
     st[1] = (st[1] & ~0x811) | cf | (${ofExpr} ? 0x800 : 0);
     st[${ST_LAZY}] = ${LZ_RESULT32}; st[${ST_RES}] = res; cpu.r32[r] = res;`;
  define(`${name}_rm32_imm8`, body('ins.immediate & 31'), undefined);
  define(`${name}_rm32_1`, body('1'), undefined);
}

const MEMORY = OpKind.Memory;

/** A specialised handler for the record, or undefined when the generic one must run. */
export function fastHandler(ins: Instruction): Handler | undefined {
  const entry = FAST.get(ins.code);
  if (entry === undefined) return undefined;
  if (ins.op0Kind !== MEMORY && ins.op1Kind !== MEMORY) return entry.reg();
  return entry.mem(ins.addressSize === 32 && ins.memBase !== 0 && ins.memIndex === 0);
}

/** Number of specialised handlers compiled (for tests and statistics). */
export function fastHandlerCount(): number {
  return compiled;
}

/** Codes that have a specialised handler. */
export function fastCodes(): number[] {
  return [...FAST.keys()];
}
