/**
 * Specialised code for the most frequent instruction forms. Each form has one template: code that
 * reaches its operands through an `Operands` view. Instantiated with field reads of the record, a
 * template becomes a handler (one function per operation, size and operand form, with the masks and
 * lazy-flag words as literals, so V8 optimises each on its own); instantiated with the record's
 * register numbers, immediates and displacement as literals, it becomes straight-line code that
 * the block compiler (engine/compile.ts) inlines into a hot block. Semantics are the generic
 * handlers' (arith.ts, control.ts, stack.ts); the 80286 suite and the program tests run through these.
 *
 * Template code uses the locals `st`, `r32`, `r16` and `r8` (the CPU's state words and register
 * views; generatedFunction declares those the code uses) and declares its own temporaries, so each
 * instance goes into a block of its own. It reaches registers and state words only through those
 * views, and calls only Cpu methods that do not read them besides the flag getters: a page function
 * holds the literal view's registers and state words in locals (engine/state-locals.ts). The handler
 * view reads the record `ins`, the packed view its packed form (packed.ts), which the interpreter
 * uses.
 */

import { OpKind, Prefix, type Instruction } from '@plex86/x86';
import { SegAccess, ST_FLAGS, ST_LAZY, ST_OPA, ST_OPB, ST_RES, type Cpu } from '../cpu.js';
import { LazyKind, lazyWord } from '../flags.js';
import { ARITH_FLAGS, Flag } from '../registers.js';
import { ea } from './operands.js';
import { eaPacked, MemWord, Packed, RECORDLESS, type PackedHandler } from './packed.js';
import { codeNamed, type Handler } from './table.js';

type Size = 8 | 16 | 32;

/** r8 byte offset for Register.AL..BH (index 0 unused), as in operands.ts. */
const R8 = Uint8Array.of(0, 0, 4, 8, 12, 1, 5, 9, 13);

/** How a template reaches the instruction's operands. */
export interface Operands {
  /** Register operand `n` as an assignable expression of `size` bits. */
  reg(size: Size, n: 0 | 1): string;
  /** The immediate, masked (8/16) or as int32 (32). */
  imm(size: Size): string;
  /** Effective address (offset in the segment) of the memory operand. */
  ea(): string;
  /** Segment register number of the memory operand. */
  seg(): string;
  /**
   * True where the code may take ES, SS and DS to be flat read/write segments based at 0, SS to be a
   * 32-bit stack and CS to have no limit below 4 GiB (Cpu.flatSegments): the caller checks that
   * before it runs the code.
   */
  readonly flat: boolean;
  /**
   * True where no later code can read the arithmetic flags the record leaves (deadFlags in
   * engine/compile.ts): the shifts and rotates, whose CF and OF cost more than their result, then
   * leave them as they were.
   */
  readonly flagsDead: boolean;
  /** Branch target EIP, wrapped to `bits`. */
  target(bits: 16 | 32): string;
  /** The IP of the next record (which EIP holds while the record runs). */
  nextIp(): string;
  /** Condition code `cc` (the low nibble of a Jcc opcode) as a boolean expression. */
  condition(cc: number): string;
  /** CF before the record, as 0 or 1. */
  carry(): string;
}

/** The lazy-flag state an instance leaves with its kind and size known when the code is generated. */
export interface FlagSource {
  kind: LazyKind;
  size: Size;
  /**
   * INC and DEC: CF is the one from before them (the lazy word's incDec form), so the conditions
   * that read CF cannot be taken from the operands.
   */
  keepsCf?: boolean;
}

/** What an instance does to the arithmetic flags: leaves them, sets them from a known source, or other. */
export type FlagEffect = FlagSource | 'keeps' | 'changes';

type Template = (o: Operands) => string;

function regField(size: Size, field: string): string {
  if (size === 32) return `r32[${field} - 17]`;
  if (size === 16) return `r16[(${field} - 9) << 1]`;
  return `r8[R8[${field}]]`;
}

/** The handler view: everything read from the record `ins`. */
const FIELDS: Operands = {
  reg: (size, n) => regField(size, `ins.op${n}Register`),
  imm: (size) => (size === 32 ? 'ins.rawImmediate | 0' : `ins.rawImmediate & ${size === 16 ? 0xffff : 0xff}`),
  ea: () => 'ea(cpu, ins)',
  seg: () => 'ins.memSegment - 25',
  flat: false,
  flagsDead: false,
  target: (bits) =>
    bits === 16
      ? '(cpu.eip + ins.rawBranchTarget - ins.rawIp - ins.length) & 0xffff'
      : '(cpu.eip + ins.rawBranchTarget - ins.rawIp - ins.length) | 0',
  nextIp: () => 'st[0]',
  condition: (cc) => CONDITIONS[cc],
  carry: () => 'cpu.getCf()',
};

/** The handler view for 32-bit [base + displacement] operands, the commonest memory form. */
const BASE_DISP_FIELDS: Operands = { ...FIELDS, ea: () => '((r32[ins.memBase - 17] + ins.rawDisplacement) | 0)' };

/** The interpreter's view: everything read from the packed record at `_pk[_po]` (packed.ts). */
const PACKED: Operands = {
  reg: (size, n) => regField(size, `_pk[_po + ${n === 0 ? Packed.OP0 : Packed.OP1}]`),
  imm: (size) =>
    size === 32 ? `_pk[_po + ${Packed.IMM}]` : `_pk[_po + ${Packed.IMM}] & ${size === 16 ? 0xffff : 0xff}`,
  ea: () => 'eaPacked(cpu, _pk, _po)',
  seg: () => `((_pk[_po + ${Packed.MEM}] >>> ${MemWord.SEG_SHIFT}) & 7)`,
  flat: false,
  flagsDead: false,
  target: (bits) => `(cpu.eip + _pk[_po + ${Packed.IMM}]) ${bits === 16 ? '& 0xffff' : '| 0'}`,
  nextIp: () => 'st[0]',
  condition: (cc) => CONDITIONS[cc],
  carry: () => 'cpu.getCf()',
};

/** The packed view for 32-bit [base + displacement] operands. */
const BASE_DISP_PACKED: Operands = {
  ...PACKED,
  ea: () => `((r32[(_pk[_po + ${Packed.MEM}] & 0xff) - 17] + _pk[_po + ${Packed.DISP}]) | 0)`,
};

/** A number as a source literal that is safe next to any operator. */
function lit(v: number): string {
  return v < 0 ? `(${v})` : `${v}`;
}

/**
 * The literal view of one record running at its own IP, with EIP set to `next` (the following IP as
 * the code size wraps it): branch targets become constants.
 */
class LiteralOperands implements Operands {
  constructor(
    private readonly ins: Instruction,
    private readonly next: number,
    private readonly flags: FlagSource | undefined,
    readonly flat: boolean,
    readonly flagsDead: boolean,
  ) {}

  reg(size: Size, n: 0 | 1): string {
    const r = n === 0 ? this.ins.op0Register : this.ins.op1Register;
    if (size === 32) return `r32[${r - 17}]`;
    if (size === 16) return `r16[${(r - 9) << 1}]`;
    return `r8[${R8[r]}]`;
  }

  imm(size: Size): string {
    const v = this.ins.immediate;
    return lit(size === 32 ? v | 0 : v & (size === 16 ? 0xffff : 0xff));
  }

  ea(): string {
    const ins = this.ins;
    const parts: string[] = [];
    if (ins.addressSize === 16) {
      if (ins.memBase !== 0) parts.push(`r16[${(ins.memBase - 9) << 1}]`);
      if (ins.memIndex !== 0) parts.push(`r16[${(ins.memIndex - 9) << 1}]`);
      const disp = ins.rawDisplacement & 0xffff;
      if (parts.length === 0) return lit(disp);
      if (disp !== 0) parts.push(lit(disp));
      return `((${parts.join(' + ')}) & 0xffff)`;
    }
    if (ins.memBase !== 0) parts.push(`r32[${ins.memBase - 17}]`);
    if (ins.memIndex !== 0) {
      const shift = 31 - Math.clz32(ins.memScale);
      parts.push(shift === 0 ? `r32[${ins.memIndex - 17}]` : `(r32[${ins.memIndex - 17}] << ${shift})`);
    }
    const disp = ins.rawDisplacement | 0;
    if (parts.length === 0) return lit(disp);
    if (disp !== 0) parts.push(lit(disp));
    return parts.length === 1 ? parts[0] : `((${parts.join(' + ')}) | 0)`;
  }

  seg(): string {
    return `${this.ins.memSegment - 25}`;
  }

  target(bits: 16 | 32): string {
    const ins = this.ins;
    const t = this.next + ins.branchTarget - ins.ip - ins.length;
    return lit(bits === 16 ? t & 0xffff : t | 0);
  }

  nextIp(): string {
    return lit(this.next);
  }

  condition(cc: number): string {
    return (this.flags !== undefined ? fusedCondition(cc, this.flags) : undefined) ?? CONDITIONS[cc];
  }

  carry(): string {
    const below = this.flags !== undefined ? fusedCondition(2, this.flags) : undefined;
    return below === undefined ? 'cpu.getCf()' : `(${below} ? 1 : 0)`;
  }
}

/**
 * Condition `cc` straight from the operands and result an ADD, SUB/CMP or logic operation of a known
 * size left in the state words (the flag getters would decode the lazy word to find out the same),
 * or undefined for the conditions that gain nothing (parity, overflow after ADD/SUB) and for those
 * that read CF after INC or DEC.
 */
function fusedCondition(cc: number, src: FlagSource): string | undefined {
  if (src.keepsCf === true && (cc === 2 || cc === 3 || cc === 6 || cc === 7)) return undefined;
  const size = src.size;
  const r = `st[${ST_RES}]`;
  const a = `st[${ST_OPA}]`;
  const b = `st[${ST_OPB}]`;
  const sign = size === 32 ? `${r} < 0` : `(${r} & ${size === 16 ? 0x8000 : 0x80}) !== 0`;
  const zero = `${r} === 0`;
  const base: (string | undefined)[] = [undefined, undefined];
  if (src.kind === LazyKind.LOGIC) {
    // CF = OF = 0.
    base.push('false', 'true', zero, `${r} !== 0`, zero, `${r} !== 0`, sign, `!(${sign})`);
    base.push(undefined, undefined, sign, `!(${sign})`, `(${zero} || ${sign})`, `!(${zero} || ${sign})`);
    return base[cc];
  }
  if (src.kind === LazyKind.ADD) {
    // CF: the result wrapped below the first operand.
    const carry = size === 32 ? `(${r} >>> 0) < (${a} >>> 0)` : `${r} < ${a}`;
    base.push(carry, `!(${carry})`, zero, `${r} !== 0`, `(${carry} || ${zero})`, `!(${carry} || ${zero})`);
    base.push(sign, `!(${sign})`);
    return base[cc];
  }
  if (src.kind !== LazyKind.SUB) return undefined;
  const ua = size === 32 ? `(${a} >>> 0)` : a;
  const ub = size === 32 ? `(${b} >>> 0)` : b;
  const sx = (v: string): string => (size === 32 ? v : `((${v} << ${32 - size}) >> ${32 - size})`);
  const sa = sx(a);
  const sb = sx(b);
  base.push(`${ua} < ${ub}`, `${ua} >= ${ub}`, zero, `${r} !== 0`, `${ua} <= ${ub}`, `${ua} > ${ub}`);
  base.push(sign, `!(${sign})`, undefined, undefined, `${sa} < ${sb}`, `${sa} >= ${sb}`);
  base.push(`${sa} <= ${sb}`, `${sa} > ${sb}`);
  return base[cc];
}

/**
 * Sets the flags in `mask` (a number) to `values` (an expression), as Cpu.setFlagBits does: those that
 * are status flags stop being lazy.
 */
function flagBitsCode(mask: number, values: string): string {
  return `st[${ST_LAZY}] &= ${~((mask & ARITH_FLAGS) << 16)}; st[${ST_FLAGS}] = (st[${ST_FLAGS}] & ${~mask}) | ((${values}) & ${mask});`;
}

const LAZY = (size: Size, kind: LazyKind, incDec = false): number => lazyWord(kind, size, incDec);

function mask(size: Size, expr: string): string {
  return size === 32 ? `(${expr}) | 0` : `(${expr}) & ${size === 16 ? 0xffff : 0xff}`;
}

/**
 * Code computing `res` from `a` and `b` for group-1 operation `op`, recording the lazy flags; ADC and
 * SBB add `carry` (CF as 0 or 1).
 */
function aluCode(op: number, size: Size, carry = 'cpu.getCf()'): string {
  const setAll = (kind: LazyKind): string =>
    `st[${ST_LAZY}] = ${LAZY(size, kind)}; st[${ST_RES}] = res; st[${ST_OPA}] = a; st[${ST_OPB}] = b;`;
  const setLogic = `st[${ST_LAZY}] = ${LAZY(size, LazyKind.LOGIC)}; st[${ST_RES}] = res;`;
  switch (op) {
    case 0:
      return `const res = ${mask(size, 'a + b')}; ${setAll(LazyKind.ADD)}`;
    case 1:
      return `const res = a | b; ${setLogic}`;
    case 2:
      return `const c = ${carry}; const res = ${mask(size, 'a + b + c')};
        st[${ST_LAZY}] = c !== 0 ? ${LAZY(size, LazyKind.ADC)} : ${LAZY(size, LazyKind.ADD)};
        st[${ST_RES}] = res; st[${ST_OPA}] = a; st[${ST_OPB}] = b;`;
    case 3:
      return `const c = ${carry}; const res = ${mask(size, 'a - b - c')};
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

const FLAT_READ = SegAccess.FLAT | SegAccess.READ;
const FLAT_WRITE = SegAccess.FLAT | SegAccess.WRITE;

/**
 * A read of `size` bits through `seg` at offset `ea`, as an expression. For a dword, the common case
 * is inline: a flat segment and an aligned dword (which never crosses a page) whose page the TLB
 * allows; the rest goes through cpu.read32, which checks the same conditions first. Generated
 * functions are too large for V8 to inline that call, and it cost more than the access: the copy
 * loop of plex86 bench cpu runs 15-20% faster this way. Bytes and words are inline only in flat code
 * (Operands.flat) through ES, SS and DS, whose accesses need no segment check or base: elsewhere the
 * larger code cost as much as it saved.
 *
 * In a page function, the call is also where V8 deoptimises most: a call and a property access that
 * never ran before V8 optimised the function deoptimise it the first time they run, and a slow path
 * runs first long after that (a TLB miss after a context switch, an unaligned word). On the bench
 * workload these were 60-70% of page functions' deoptimisations. Two ways around it were measured and
 * not kept. Leaving the function at a TLB miss instead of calling (by reading a `let` binding in its
 * temporal dead zone, which throws without type feedback), for the run loop to run the record through
 * its handler, halved the deoptimisations (per step: sort 55 to 24, gzip 29 to 11, the forking loop
 * 22 to 4), but the sort and the forking loop switch processes all the time (20 000 CR3 loads in the
 * sort step typed at the interactive shell, as sort and md5sum take turns at the pipe; run from a
 * script by a non-interactive shell, as the bench runs it, the step leaves the run loop for
 * sensitive and privileged instructions 25 000 times instead of 233 000, runs 992 million
 * instructions instead of 1 121 million, and takes 0.57 of the time), each switch flushes the TLB,
 * and the way out and back at the misses after it took them about a fifth longer. With a function
 * made again with calls once it had left 256 times, and the rest of the member interpreted after a
 * miss, the bench workload took as long as without it (0.986x, four rounds in turns; medians: sort
 * 1.001x, the forking loop 0.981x, gzip 0.76 s in both builds, though 0.80 s against 1.15 s in runs
 * that pause between the steps). Running each new function's first eight calls with every access on
 * its slow path, so that the calls had feedback before V8 optimised it, cut the deoptimisations as
 * much and made the steps 14-31% slower but gzip, which took 19% less (one run each). Running each
 * member of a new function once as it was made, on a scratch Cpu that its handlers and slow paths
 * worked on (the guest's registers, state words, TLB and one RAM page, which the function reaches
 * directly, put back after), once with every access on its fast path and once on its slow path:
 * the page functions' deoptimisations over the boot and the awk generator fell from 168 to 71 (at
 * slow-path property accesses from 72 to 10), and the steps took 1.05-1.15x as long (one run each);
 * the fast-path run alone left the deoptimisations at 153 and the steps at 0.99-1.04x, the slow-path
 * run alone made them 1.03-1.08x as long (two runs each in turns).
 *
 * The call's result is made an int32 (`| 0`), as the element of the inline path is, here and in the
 * read-modify-write forms (readLinear): a value the call returns is of no known type to V8, and a
 * register local that may hold it is then kept tagged, checked and untagged at every use in the
 * function.
 */
function readCode(size: Size, seg: string, ea: string, flat: boolean): string {
  if (size !== 32 && !flatSegment(seg, flat)) return `(cpu.read${size}(${seg}, ${ea}) | 0)`;
  const [aligned, element] = ramElement(size);
  return `((_mo = ${ea}, ${segmentCheck(seg, FLAT_READ, flat)}) &&
    (((_me = tlb[(_ml = ${linear(seg, flat)}) >>> 12]) & readMask) === readWant) &&
    ${aligned} ? ${element} : cpu.read${size}(${seg}, _mo) | 0)`;
}

/**
 * A write, as a statement: inline as readCode's read. The TLB allows no direct write to a page that
 * holds scanned code (TlbBit.CODE): those take the CPU's path, which reports them.
 */
function writeCode(size: Size, seg: string, ea: string, value: string, flat: boolean): string {
  if (size !== 32 && !flatSegment(seg, flat)) return `cpu.write${size}(${seg}, ${ea}, ${value});`;
  const [aligned, element] = ramElement(size);
  return `if ((_mo = ${ea}, ${segmentCheck(seg, FLAT_WRITE, flat)}) &&
    (((_me = tlb[(_ml = ${linear(seg, flat)}) >>> 12]) & writeMask) === writeWant) &&
    ${aligned}) ${element} = ${value};
    else cpu.write${size}(${seg}, _mo, ${value});`;
}

/**
 * The test that the RAM address `_mp` of an access of `size` bits (found from the TLB entry `_me`
 * and the linear address `_ml`) is aligned, so that it lies in one page, and the RAM element there.
 */
function ramElement(size: Size): [string, string] {
  const address = '(_mp = (_me & ~0xfff) | (_ml & 0xfff))';
  if (size === 8) return [`(${address}, true)`, 'ram[_mp]'];
  const view = size === 16 ? 'ram16' : 'ram32';
  return [`(${address} & ${(size >>> 3) - 1}) === 0`, `${view}[_mp >>> ${size === 16 ? 1 : 2}]`];
}

/**
 * A read-modify-write form's read of `size` bits at the linear address in `lin`, an int32 as
 * readCode's result is. The forms reach their operand through cpu.prepareWrite, which checks the
 * segment and makes the pages writable before the read. Inline instead, where readCode and writeCode
 * are (the TLB entry tested for both ways, an aligned element read and written in place): the
 * workload 1.007x, the boot 1.008x (`plex86 bench boot --against`, four rounds in turns; gzip 1.065x,
 * shell arithmetic 1.020x, the awk sum 0.955x with every round slower); not kept.
 */
function readLinear(size: Size): string {
  return `(cpu.readLin${size}(lin) | 0)`;
}

/** readCode for the memory operand of the record `o` views. */
function readOperand(o: Operands, size: Size): string {
  return readCode(size, o.seg(), o.ea(), o.flat);
}

/** writeCode for the memory operand of the record `o` views. */
function writeOperand(o: Operands, size: Size, value: string): string {
  return writeCode(size, o.seg(), o.ea(), value, o.flat);
}

/** Whether `seg` (a literal or an expression) is one of ES, SS and DS, which flat code takes as flat. */
function flatSegment(seg: string, flat: boolean): boolean {
  return flat && (seg === '0' || seg === '2' || seg === '3');
}

/** The test that `seg` allows `need` (FLAT_READ or FLAT_WRITE) without a limit check. */
function segmentCheck(seg: string, need: number, flat: boolean): string {
  return flatSegment(seg, flat) ? 'true' : `(segAccess[${seg}] & ${need}) === ${need}`;
}

/** The linear address of offset `_mo` through `seg`. */
function linear(seg: string, flat: boolean): string {
  return flatSegment(seg, flat) ? '_mo' : `(segBase[${seg}] + _mo) | 0`;
}

/**
 * `stack32` with ESP, else `stack16` with SP; flat code (Operands.flat) runs on a 32-bit stack and
 * needs only the first.
 */
function onStack(o: Operands, stack32: string, stack16: string): string {
  return o.flat ? `{ ${stack32} }` : `if (cpu.stack32) { ${stack32} } else { ${stack16} }`;
}

let compiled = 0;

/** The Cpu's arrays that template code reaches by their names, each a template local. */
const CPU_ARRAYS = ['st', 'r32', 'r16', 'r8', 'segAccess', 'segBase', 'tlb', 'ram32', 'ram', 'ram16'] as const;
const ARRAY_USE = CPU_ARRAYS.map((name) => [name, new RegExp(`\\b${name}\\[`)] as const);
/** The Cpu's TLB permission masks, read and write, each with its wanted bits. */
const MASK_USE = [
  ['readMask', 'readWant', /\breadMask\b/],
  ['writeMask', 'writeWant', /\bwriteMask\b/],
] as const;

/** The Cpu a generated function is made for (generatedFunction). */
export interface MadeFor {
  readonly cpu: Cpu;
  /**
   * Whether it is made for the CPU's current privilege too: its TLB permission masks are then
   * literals. Those change only with the CPL, which no instruction inside a page function changes.
   */
  readonly privilege: boolean;
}

/**
 * The declarations of the template locals that `code` uses. Code made for a Cpu has its arrays as
 * constants of the function's scope (generatedFunction), and its TLB permission masks as literals
 * when it is made for the CPU's privilege too; other code reads them from `cpu` when it is called.
 */
function templateLocals(code: string, madeFor?: MadeFor): string {
  let decl = '';
  if (madeFor === undefined) {
    for (const [name, re] of ARRAY_USE) if (re.test(code)) decl += `const ${name} = cpu.${name}; `;
  }
  for (const [mask, want, re] of MASK_USE) {
    if (!re.test(code)) continue;
    decl +=
      madeFor?.privilege === true
        ? `const ${mask} = ${madeFor.cpu[mask]}, ${want} = ${madeFor.cpu[want]}; `
        : `const ${mask} = cpu.${mask}, ${want} = cpu.${want}; `;
  }
  if (/\b_mo\b/.test(code)) decl += 'let _mo = 0, _ml = 0, _me = 0, _mp = 0; ';
  return decl;
}

/** The names template code in the field and packed views uses besides the template locals. */
const TEMPLATE_SCOPE: Readonly<Record<string, unknown>> = { R8, ea, eaPacked };

/**
 * A function of generated code, `function name(params) { locals; body }`: the template locals the
 * body uses are declared first, and the names template code uses and those in `scope` are in scope.
 *
 * A function made for a Cpu (`madeFor`) runs only with that Cpu, and one made for its privilege only
 * while its TLB masks are those it has now. Its arrays are constants of the function's scope, which V8 folds
 * into the optimised code as it does the scope of a function made once: their maps and lengths are
 * known, so the map check before each access and the bounds check of an index below a length go.
 * Measured on the sort step of the bench workload (two alternating pairs of two rounds): 9.60 s to
 * 8.97 s for the first round, 7.30 s to 6.68 s for the second.
 *
 * The function expression is in parentheses: V8 then compiles it with its factory instead of
 * pre-parsing it there and parsing it again at its first call. Making and first calling 40 page
 * functions of the default guest (13.6 KB of source each) took 0.44 ms each instead of 0.63-0.68.
 */
export function generatedFunction(
  name: string,
  params: string,
  body: string,
  scope: Readonly<Record<string, unknown>> = {},
  madeFor?: MadeFor,
): unknown {
  const arrays =
    madeFor === undefined ? {} : Object.fromEntries(CPU_ARRAYS.map((array) => [array, madeFor.cpu[array]]));
  const names = { ...TEMPLATE_SCOPE, ...arrays, ...scope };
  const factory = new Function(
    ...Object.keys(names),
    `"use strict"; return (function ${name}(${params}) {\n${templateLocals(body, madeFor)}\n${body}\n});`,
  ) as (...values: unknown[]) => unknown;
  return factory(...Object.values(names));
}

/** A handler from a template's code: with `packed`, one that reads the packed record (packed.ts). */
function compile(body: string, packed: true): PackedHandler;
function compile(body: string, packed?: false): Handler;
function compile(body: string, packed = false): Handler | PackedHandler {
  compiled++;
  if (!packed) return generatedFunction('fastHandler', 'cpu, ins', body) as Handler;
  // A twin has no `ins` to read: the interpreter calls it without the record.
  const twin = generatedFunction('fastHandler', 'cpu, _record, _pk, _po', body) as PackedHandler;
  RECORDLESS.add(twin);
  return twin;
}

/** What the block compiler must do around an inlined instance. */
export const enum Effect {
  /** Registers and flags only: cannot fault, cannot end the block. */
  NONE = 0,
  /** Can fault (memory access, segment limit): the faulting EIP must be set first. */
  FAULTS = 1,
  /**
   * Writes memory: a write into a code page or a device may ask the block to stop, which must take
   * effect before the next record (exitsIfWrites clears it for records that only read).
   */
  EXITS = 2,
  /** A branch: sets EIP itself when taken. */
  BRANCH = 4,
}

/** Straight-line code for one record, and what it may do besides. */
export interface InlineCode {
  code: string;
  effect: Effect;
  flags: FlagEffect;
}

/** Which handler of a form: a register operand, a memory operand, or the 32-bit [base + displacement] form. */
export type FormVariant = 'reg' | 'mem' | 'base';

/** The operand views of each variant: [through the record's fields, through its packed form]. */
const VIEWS: Record<FormVariant, readonly [Operands, Operands]> = {
  reg: [FIELDS, PACKED],
  mem: [FIELDS, PACKED],
  base: [BASE_DISP_FIELDS, BASE_DISP_PACKED],
};

/**
 * The templates of a code, one for a register r/m operand and one for memory, and their handlers:
 * per variant (the memory template also with the effective address inlined for the common 32-bit
 * [base + displacement] form), one reading the record's fields and a twin reading its packed form.
 * Each is compiled the first time a record needs it.
 */
class FastEntry {
  private readonly handlers = new Map<FormVariant, Handler>();
  private readonly twins = new Map<FormVariant, PackedHandler>();
  constructor(
    readonly regT: Template | undefined,
    readonly memT: Template | undefined,
    readonly regEffect: Effect,
    readonly memEffect: Effect,
    readonly flags: FlagEffect,
    /** The records of the code the templates are for (all when undefined); the others run generic handlers. */
    readonly accepts: ((ins: Instruction) => boolean) | undefined,
  ) {}

  template(variant: FormVariant): Template | undefined {
    return variant === 'reg' ? this.regT : this.memT;
  }

  handler(variant: FormVariant): Handler | undefined {
    let fn = this.handlers.get(variant);
    const t = this.template(variant);
    if (fn === undefined && t !== undefined) {
      fn = compile(t(VIEWS[variant][0]));
      this.handlers.set(variant, fn);
    }
    return fn;
  }

  twin(variant: FormVariant): PackedHandler | undefined {
    let fn = this.twins.get(variant);
    const t = this.template(variant);
    if (fn === undefined && t !== undefined) {
      fn = compile(t(VIEWS[variant][1]), true);
      this.twins.set(variant, fn);
    }
    return fn;
  }
}

const FAST = new Map<number, FastEntry>();

const MEM_EFFECT = Effect.FAULTS | Effect.EXITS;

function define(
  name: string,
  regT: Template | undefined,
  memT: Template | undefined,
  regEffect = Effect.NONE,
  memEffect = MEM_EFFECT,
  flags: FlagEffect = 'changes',
  accepts?: (ins: Instruction) => boolean,
): void {
  FAST.set(codeNamed(name), new FastEntry(regT, memT, regEffect, memEffect, flags, accepts));
}

/** The templates of the record's code, when they are for records such as this one. */
function entryFor(ins: Instruction): FastEntry | undefined {
  const entry = FAST.get(ins.code);
  return entry !== undefined && (entry.accepts === undefined || entry.accepts(ins)) ? entry : undefined;
}

/**
 * A form with one r/m32 source that leaves the flags alone (PUSH, CALL, JMP): `code` takes the
 * register operand, or the dword read from memory.
 */
function defineRm32(
  name: string,
  code: (o: Operands, source: string) => string,
  regEffect: Effect,
  memEffect: Effect,
): void {
  define(
    name,
    (o) => code(o, o.reg(32, 0)),
    (o) => code(o, readOperand(o, 32)),
    regEffect,
    memEffect,
    'keeps',
  );
}

/** What group-1 operation `op` of `size` leaves in the lazy flags (ADC/SBB pick their kind at run time). */
function aluFlags(op: number, size: Size): FlagEffect {
  if (op === 2 || op === 3) return 'changes';
  return { kind: op === 0 ? LazyKind.ADD : op === 5 || op === 7 ? LazyKind.SUB : LazyKind.LOGIC, size };
}

const OPS = ['Add', 'Or', 'Adc', 'Sbb', 'And', 'Sub', 'Xor', 'Cmp'];
const SIZES: Size[] = [8, 16, 32];

for (let op = 0; op < 8; op++) {
  const n = OPS[op];
  const store = op !== 7;
  for (const size of SIZES) {
    const alu = (o: Operands): string => aluCode(op, size, o.carry());
    const flags = aluFlags(op, size);
    const bytes = size >>> 3;
    const regReg: Template = (o) =>
      `const a = ${o.reg(size, 0)}; const b = ${o.reg(size, 1)}; ${alu(o)} ${store ? `${o.reg(size, 0)} = res;` : ''}`;
    // op0 = r/m, op1 = register
    define(
      `${n}_rm${size}_r${size}`,
      regReg,
      store
        ? (o) => `const lin = cpu.prepareWrite(${o.seg()}, ${o.ea()}, ${bytes});
           const a = ${readLinear(size)}; const b = ${o.reg(size, 1)}; ${alu(o)} cpu.writeLin${size}(lin, res);`
        : (o) => `const a = ${readOperand(o, size)}; const b = ${o.reg(size, 1)}; ${alu(o)}`,
      Effect.NONE,
      MEM_EFFECT,
      flags,
    );
    // op0 = register, op1 = r/m
    define(
      `${n}_r${size}_rm${size}`,
      regReg,
      (o) => `const b = ${readOperand(o, size)}; const a = ${o.reg(size, 0)};
       ${alu(o)} ${store ? `${o.reg(size, 0)} = res;` : ''}`,
      Effect.NONE,
      MEM_EFFECT,
      flags,
    );
    // op0 = r/m, op1 = immediate
    const rmImm = (name: string): void =>
      define(
        name,
        (o) => `const a = ${o.reg(size, 0)}; const b = ${o.imm(size)};
         ${alu(o)} ${store ? `${o.reg(size, 0)} = res;` : ''}`,
        store
          ? (o) => `const lin = cpu.prepareWrite(${o.seg()}, ${o.ea()}, ${bytes});
             const a = ${readLinear(size)}; const b = ${o.imm(size)}; ${alu(o)} cpu.writeLin${size}(lin, res);`
          : (o) => `const a = ${readOperand(o, size)}; const b = ${o.imm(size)}; ${alu(o)}`,
        Effect.NONE,
        MEM_EFFECT,
        flags,
      );
    rmImm(`${n}_rm${size}_imm${size}`);
    if (size !== 8) rmImm(`${n}_rm${size}_imm8`);
  }
  define(
    `${n}_EAX_imm32`,
    (o) => `const a = r32[0]; const b = ${o.imm(32)}; ${aluCode(op, 32, o.carry())} ${store ? 'r32[0] = res;' : ''}`,
    undefined,
    Effect.NONE,
    MEM_EFFECT,
    aluFlags(op, 32),
  );
  define(
    `${n}_AX_imm16`,
    (o) => `const a = r16[0]; const b = ${o.imm(16)}; ${aluCode(op, 16, o.carry())} ${store ? 'r16[0] = res;' : ''}`,
    undefined,
    Effect.NONE,
    MEM_EFFECT,
    aluFlags(op, 16),
  );
  define(
    `${n}_AL_imm8`,
    (o) => `const a = r8[0]; const b = ${o.imm(8)}; ${aluCode(op, 8, o.carry())} ${store ? 'r8[0] = res;' : ''}`,
    undefined,
    Effect.NONE,
    MEM_EFFECT,
    aluFlags(op, 8),
  );
}

for (const size of SIZES) {
  const test = aluCode(4, size);
  define(
    `Test_rm${size}_r${size}`,
    (o) => `const a = ${o.reg(size, 0)}; const b = ${o.reg(size, 1)}; ${test}`,
    (o) => `const a = ${readOperand(o, size)}; const b = ${o.reg(size, 1)}; ${test}`,
    Effect.NONE,
    MEM_EFFECT,
    { kind: LazyKind.LOGIC, size },
  );
  define(
    `Test_rm${size}_imm${size}`,
    (o) => `const a = ${o.reg(size, 0)}; const b = ${o.imm(size)}; ${test}`,
    (o) => `const a = ${readOperand(o, size)}; const b = ${o.imm(size)}; ${test}`,
    Effect.NONE,
    MEM_EFFECT,
    { kind: LazyKind.LOGIC, size },
  );
  // MOV
  define(
    `Mov_rm${size}_r${size}`,
    (o) => `${o.reg(size, 0)} = ${o.reg(size, 1)};`,
    (o) => writeOperand(o, size, o.reg(size, 1)),
    Effect.NONE,
    MEM_EFFECT,
    'keeps',
  );
  define(
    `Mov_r${size}_rm${size}`,
    (o) => `${o.reg(size, 0)} = ${o.reg(size, 1)};`,
    (o) => `${o.reg(size, 0)} = ${readOperand(o, size)};`,
    Effect.NONE,
    MEM_EFFECT,
    'keeps',
  );
  define(`Mov_r${size}_imm${size}`, (o) => `${o.reg(size, 0)} = ${o.imm(size)};`, undefined, Effect.NONE, 0, 'keeps');
  define(
    `Mov_rm${size}_imm${size}`,
    (o) => `${o.reg(size, 0)} = ${o.imm(size)};`,
    (o) => writeOperand(o, size, o.imm(size)),
    Effect.NONE,
    MEM_EFFECT,
    'keeps',
  );
  // INC / DEC of a r/m operand keep CF: it is made concrete first. A Jcc after them takes ZF, SF and
  // OF from the operands as after ADD or SUB of 1, and CF from the flags.
  for (const [name, kind, delta] of [
    ['Inc', LazyKind.ADD, '+'],
    ['Dec', LazyKind.SUB, '-'],
  ] as const) {
    const lz = LAZY(size, kind, true);
    const body = (o: Operands, get: string, put: (v: string) => string): string =>
      `const cf = ${o.carry()}; const a = ${get}; const res = ${mask(size, `a ${delta} 1`)};
       st[1] = (st[1] & ~1) | cf; st[${ST_LAZY}] = ${lz}; st[${ST_RES}] = res; st[${ST_OPA}] = a; st[${ST_OPB}] = 1;
       ${put('res')}`;
    const regT: Template = (o) => body(o, o.reg(size, 0), (v) => `${o.reg(size, 0)} = ${v};`);
    const flags: FlagSource = { kind, size, keepsCf: true };
    define(
      `${name}_rm${size}`,
      regT,
      (o) => `const lin = cpu.prepareWrite(${o.seg()}, ${o.ea()}, ${size >>> 3});
       ${body(o, readLinear(size), (v) => `cpu.writeLin${size}(lin, ${v});`)}`,
      Effect.NONE,
      MEM_EFFECT,
      flags,
    );
    if (size !== 8) define(`${name}_r${size}`, regT, undefined, Effect.NONE, MEM_EFFECT, flags);
  }
}

// BSF/BSR: ZF set and the destination kept for a zero source, else ZF clear and the index of the
// lowest or highest set bit (64-bit division helpers run BSR).
for (const size of [16, 32] as const) {
  for (const [name, index] of [
    ['Bsf', '31 - Math.clz32(v & -v)'],
    ['Bsr', '31 - Math.clz32(v)'],
  ] as const) {
    const body = (o: Operands, source: string): string =>
      `const v = ${source}; if (v === 0) { ${flagBitsCode(Flag.ZF, String(Flag.ZF))} }
       else { ${flagBitsCode(Flag.ZF, '0')} ${o.reg(size, 0)} = ${index}; }`;
    define(
      `${name}_r${size}_rm${size}`,
      (o) => body(o, o.reg(size, 1)),
      (o) => body(o, readOperand(o, size)),
      Effect.NONE,
      MEM_EFFECT,
    );
  }
}
// CMPXCHG r/m32, r32: flags as CMP EAX, dest; the destination is always written (with itself when
// they differ, and EAX then takes it). The kernel's locks and atomics run it.
const cmpxchgFlags = aluCode(7, 32);
define(
  'Cmpxchg_rm32_r32',
  (o) => `const a = r32[0]; const src = ${o.reg(32, 1)}; const b = ${o.reg(32, 0)}; ${cmpxchgFlags}
     if (a === b) ${o.reg(32, 0)} = src; else r32[0] = b;`,
  (o) => `const lin = cpu.prepareWrite(${o.seg()}, ${o.ea()}, 4); const a = r32[0]; const src = ${o.reg(32, 1)};
     const b = ${readLinear(32)}; ${cmpxchgFlags} cpu.writeLin32(lin, a === b ? src : b); if (a !== b) r32[0] = b;`,
  Effect.NONE,
  MEM_EFFECT,
  { kind: LazyKind.SUB, size: 32 },
);
// SAHF: SF, ZF, AF, PF and CF from AH (x87 comparisons go through FNSTSW AX and SAHF).
define('Sahf', () => flagBitsCode(0xd5, 'r8[1]'), undefined, Effect.NONE, Effect.NONE);

// NOPs, the hinting forms with a ModRM operand too (which touch no memory), and CLD/STD, which only
// set EFLAGS.DF: compilers pad loops with NOPs, and string copies start with CLD.
for (const name of ['Nop', 'Nop_rm16', 'Nop_rm32', 'Nop_rm16_r16', 'Nop_rm32_r32']) {
  define(
    name,
    () => '',
    () => '',
    Effect.NONE,
    Effect.NONE,
    'keeps',
  );
}
define('Cld', () => `st[${ST_FLAGS}] &= ${~Flag.DF};`, undefined, Effect.NONE, Effect.NONE, 'keeps');
define('Std', () => `st[${ST_FLAGS}] |= ${Flag.DF};`, undefined, Effect.NONE, Effect.NONE, 'keeps');

// String instructions without REP/REPNE and with 32-bit addressing (ESI, EDI): one element, then ESI
// and EDI step by its size, down with EFLAGS.DF. The source is DS:ESI or its override, the
// destination ES:EDI; each access comes before any register changes, so a fault leaves them as they
// were. A repeated or 16-bit-addressed form runs its generic handler (string.ts), which also
// takes interrupts between slices of a long repeat. The kernel's string routines loop over the single
// forms; string.ts gives what the templates measured.
const singleString = (ins: Instruction): boolean =>
  (ins.prefixes & (Prefix.Rep | Prefix.Repne)) === 0 && ins.addressSize === 32;
const accumulator = (size: Size): string => (size === 32 ? 'r32[0]' : size === 16 ? 'r16[0]' : 'r8[0]');
const step = (size: Size): string => `((st[${ST_FLAGS}] & ${Flag.DF}) !== 0 ? ${-(size >>> 3)} : ${size >>> 3})`;
/** Each element size: the code names' suffix and accumulator, and its size in bits. */
const STRING_FORMS: readonly (readonly [string, string, Size])[] = [
  ['b', 'AL', 8],
  ['w', 'AX', 16],
  ['d', 'EAX', 32],
];
for (const [suffix, acc, size] of STRING_FORMS) {
  const m = `m${size}`;
  const string = (name: string, code: Template, flags: FlagEffect): void =>
    define(name, code, undefined, MEM_EFFECT, MEM_EFFECT, flags, singleString);
  string(
    `Lods${suffix}_${acc}_${m}`,
    (o) => `const si = r32[6]; const v = ${readCode(size, o.seg(), 'si', o.flat)};
      ${accumulator(size)} = v; r32[6] = (si + ${step(size)}) | 0;`,
    'keeps',
  );
  string(
    `Stos${suffix}_${m}_${acc}`,
    (o) => `const di = r32[7]; ${writeCode(size, '0', 'di', accumulator(size), o.flat)}
      r32[7] = (di + ${step(size)}) | 0;`,
    'keeps',
  );
  string(
    `Movs${suffix}_${m}_${m}`,
    (o) => `const si = r32[6], di = r32[7]; const v = ${readCode(size, o.seg(), 'si', o.flat)};
      ${writeCode(size, '0', 'di', 'v', o.flat)} const d = ${step(size)}; r32[6] = (si + d) | 0; r32[7] = (di + d) | 0;`,
    'keeps',
  );
  string(
    `Scas${suffix}_${acc}_${m}`,
    (o) => `const di = r32[7]; const b = ${readCode(size, '0', 'di', o.flat)}; const a = ${accumulator(size)};
      ${aluCode(7, size)} r32[7] = (di + ${step(size)}) | 0;`,
    aluFlags(7, size),
  );
  string(
    `Cmps${suffix}_${m}_${m}`,
    (o) => `const si = r32[6], di = r32[7]; const a = ${readCode(size, o.seg(), 'si', o.flat)};
      const b = ${readCode(size, '0', 'di', o.flat)}; ${aluCode(7, size)} const d = ${step(size)};
      r32[6] = (si + d) | 0; r32[7] = (di + d) | 0;`,
    aluFlags(7, size),
  );
}

// LEA computes the address without touching memory: nothing faults.
define('Lea_r32_m', undefined, (o) => `${o.reg(32, 0)} = ${o.ea()};`, Effect.NONE, Effect.NONE, 'keeps');
define(
  'Movzx_r32_rm8',
  (o) => `${o.reg(32, 0)} = ${o.reg(8, 1)};`,
  (o) => `${o.reg(32, 0)} = ${readOperand(o, 8)};`,
  Effect.NONE,
  MEM_EFFECT,
  'keeps',
);
define(
  'Movzx_r32_rm16',
  (o) => `${o.reg(32, 0)} = ${o.reg(16, 1)};`,
  (o) => `${o.reg(32, 0)} = ${readOperand(o, 16)};`,
  Effect.NONE,
  MEM_EFFECT,
  'keeps',
);
define(
  'Movsx_r32_rm8',
  (o) => `${o.reg(32, 0)} = (${o.reg(8, 1)} << 24) >> 24;`,
  (o) => `${o.reg(32, 0)} = (${readOperand(o, 8)} << 24) >> 24;`,
  Effect.NONE,
  MEM_EFFECT,
  'keeps',
);
define(
  'Movsx_r32_rm16',
  (o) => `${o.reg(32, 0)} = (${o.reg(16, 1)} << 16) >> 16;`,
  (o) => `${o.reg(32, 0)} = (${readOperand(o, 16)} << 16) >> 16;`,
  Effect.NONE,
  MEM_EFFECT,
  'keeps',
);

// IMUL r, r/m[, imm]: the truncated product; CF = OF = the truncation lost significant bits, SF, ZF
// and PF follow the result and AF is cleared (as setMulFlags does). A 32-bit product is exact as a
// double below 2^53 and cannot equal the truncated one above it, so comparing the two tells the loss.
for (const size of [16, 32] as const) {
  const product = (a: string, b: string): string =>
    size === 32
      ? `const x = ${a}; const y = ${b}; const res = Math.imul(x, y); const lost = x * y !== res;`
      : `const p = ((${a}) << 16 >> 16) * ((${b}) << 16 >> 16); const res = p & 0xffff; const lost = p !== p << 16 >> 16;`;
  const flags =
    `st[${ST_FLAGS}] = (st[${ST_FLAGS}] & ${~(Flag.CF | Flag.OF | Flag.AF)}) | (lost ? ${Flag.CF | Flag.OF} : 0);` +
    ` st[${ST_LAZY}] = ${LAZY(size, LazyKind.RESULT)}; st[${ST_RES}] = res; st[${ST_OPA}] = 0; st[${ST_OPB}] = 0;`;
  const imul =
    (a: (o: Operands) => string, b: (o: Operands) => string): Template =>
    (o) =>
      `${product(a(o), b(o))} ${flags} ${o.reg(size, 0)} = res;`;
  const memory = (o: Operands): string => readOperand(o, size);
  define(
    `Imul_r${size}_rm${size}`,
    imul(
      (o) => o.reg(size, 0),
      (o) => o.reg(size, 1),
    ),
    imul((o) => o.reg(size, 0), memory),
  );
  for (const imm of [`imm${size}`, 'imm8']) {
    define(
      `Imul_r${size}_rm${size}_${imm}`,
      imul(
        (o) => o.reg(size, 1),
        (o) => o.imm(size),
      ),
      imul(memory, (o) => o.imm(size)),
    );
  }
}

// PUSH/POP of a dword through SS with ESP or SP (SS.B). The value is read first (a PUSH of memory
// addresses it with ESP as it was), and the push writes before ESP moves, so a faulting push leaves
// ESP as it was; POP ESP loads the popped value after the increment.
const pushCode = (o: Operands, value: string): string =>
  `const v = ${value}; ${onStack(
    o,
    `const sp = (r32[4] - 4) | 0; ${writeCode(32, '2', 'sp', 'v', o.flat)} r32[4] = sp;`,
    `const sp = (r16[8] - 4) & 0xffff; ${writeCode(32, '2', 'sp', 'v', o.flat)} r16[8] = sp;`,
  )}`;
define('Push_r32', (o) => pushCode(o, o.reg(32, 0)), undefined, MEM_EFFECT, MEM_EFFECT, 'keeps');
defineRm32('Push_rm32', pushCode, MEM_EFFECT, MEM_EFFECT);
for (const name of ['Push_imm32', 'Push_imm8_32']) {
  define(name, (o) => pushCode(o, o.imm(32)), undefined, MEM_EFFECT, MEM_EFFECT, 'keeps');
}
define(
  'Pop_r32',
  (o) =>
    `let v; ${onStack(
      o,
      `const sp = r32[4]; v = ${readCode(32, '2', 'sp', o.flat)}; r32[4] = (sp + 4) | 0;`,
      `const sp = r16[8]; v = ${readCode(32, '2', 'sp', o.flat)}; r16[8] = (sp + 4) & 0xffff;`,
    )} ${o.reg(32, 0)} = v;`,
  undefined,
  MEM_EFFECT,
  MEM_EFFECT,
  'keeps',
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
/** Condition-code suffixes of Jcc, SETcc and CMOVcc, by the low nibble of the opcode. */
export const CC = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];
/** The #GP(0) of a jump to `t` beyond the CS limit; flat code (Operands.flat) has none (4 GiB). */
const limitCheck = (o: Operands): string =>
  o.flat ? '' : 'if ((t >>> 0) > (cpu.segLimit[1] >>> 0)) cpu.raise(13, 0);';
/** A jump to `target` (an expression, evaluated once), checked against the CS limit. */
const jumpCode = (o: Operands, target: string): string => `const t = ${target}; ${limitCheck(o)} st[0] = t;`;
/**
 * A conditional jump in flat code (no limit check) as one store of the target or the next IP. V8
 * optimises a page function for the paths that ran before and leaves the optimised code (a deopt)
 * the first time a path runs with an array access it never saw, as `st[0] = t` in a branch first
 * taken after optimisation was; here the store is on both paths, which differ only in a value. A
 * page function, whose EIP is a local, takes the jump apart (selectParts) to set EIP and its next
 * member on each path (region.ts branchEnd).
 */
const selectCode = (o: Operands, condition: string, target: string): string =>
  `st[0] = (${condition}) ? ${target} : ${o.nextIp()};`;

/** A conditional jump's parts: the condition, the target and the next IP (code, each). */
export interface BranchParts {
  readonly condition: string;
  readonly target: string;
  readonly next: string;
}

/** The parts of inline code that is one conditional jump's selectCode, or undefined for other code. */
export function selectParts(code: string): BranchParts | undefined {
  const m = /^st\[0\] = \((.*)\) \? (\S+) : (\S+);$/s.exec(code.trim());
  return m === null ? undefined : { condition: m[1] as string, target: m[2] as string, next: m[3] as string };
}

const BRANCH = Effect.FAULTS | Effect.BRANCH;
for (let cc = 0; cc < 16; cc++) {
  for (const [suffix, bits] of [
    ['rel8_16', 16],
    ['rel8_32', 32],
    ['rel16', 16],
    ['rel32', 32],
  ] as const) {
    define(
      `J${CC[cc]}_${suffix}`,
      (o) =>
        o.flat
          ? selectCode(o, o.condition(cc), o.target(bits))
          : `if (${o.condition(cc)}) { ${jumpCode(o, o.target(bits))} }`,
      undefined,
      BRANCH,
      0,
      'keeps',
    );
  }
}
define('Jmp_rel8_32', (o) => jumpCode(o, o.target(32)), undefined, BRANCH, 0, 'keeps');
define('Jmp_rel32', (o) => jumpCode(o, o.target(32)), undefined, BRANCH, 0, 'keeps');
define('Jmp_rel8_16', (o) => jumpCode(o, o.target(16)), undefined, BRANCH, 0, 'keeps');
define('Jmp_rel16', (o) => jumpCode(o, o.target(16)), undefined, BRANCH, 0, 'keeps');

// CALL rel32 and RET: the return address is EIP (the next instruction); the target is checked against
// the CS limit before anything is pushed or ESP moves.
const CALL = Effect.FAULTS | Effect.EXITS | Effect.BRANCH;
const callCode = (o: Operands, target: string): string =>
  `const t = ${target}; ${limitCheck(o)} ${pushCode(o, 'st[0]')} st[0] = t;`;
define('Call_rel32', (o) => callCode(o, o.target(32)), undefined, CALL, 0, 'keeps');
define(
  'Ret_32',
  (o) =>
    onStack(
      o,
      `const sp = r32[4]; const t = ${readCode(32, '2', 'sp', o.flat)}; ${limitCheck(o)}
       st[0] = t; r32[4] = (sp + 4) | 0;`,
      `const sp = r16[8]; const t = ${readCode(32, '2', 'sp', o.flat)}; ${limitCheck(o)}
       st[0] = t; r16[8] = (sp + 4) & 0xffff;`,
    ),
  undefined,
  CALL,
  0,
  'keeps',
);

// CALL r/m32: the register, or the dword read with ESP as it was.
defineRm32('Call_rm32', callCode, CALL, CALL);

// JMP r/m32: to the register or the dword read. LEAVE: ESP from EBP, then EBP popped.
defineRm32('Jmp_rm32', jumpCode, BRANCH, CALL);
define(
  'Leave_32',
  (o) =>
    onStack(
      o,
      `const bp = r32[5]; const v = ${readCode(32, '2', 'bp', o.flat)}; r32[4] = (bp + 4) | 0; r32[5] = v;`,
      `const bp = r16[10]; const v = ${readCode(32, '2', 'bp', o.flat)}; r16[8] = (bp + 4) & 0xffff; r32[5] = v;`,
    ),
  undefined,
  MEM_EFFECT,
  MEM_EFFECT,
  'keeps',
);

// NEG of a 32-bit register: SUB from 0. BT of a dword with an immediate bit offset: CF only.
define(
  'Neg_rm32',
  (o) => `const a = 0; const b = ${o.reg(32, 0)}; ${aluCode(5, 32)} ${o.reg(32, 0)} = res;`,
  undefined,
  Effect.NONE,
  MEM_EFFECT,
  { kind: LazyKind.SUB, size: 32 },
);
define(
  'Bt_rm32_imm8',
  (o) => flagBitsCode(Flag.CF, `${o.reg(32, 0)} >>> ((${o.imm(8)}) & 31)`),
  (o) => flagBitsCode(Flag.CF, `${readOperand(o, 32)} >>> ((${o.imm(8)}) & 31)`),
);

// SHL/SHR/SAR of a 32-bit register by an immediate or 1: CF, OF, AF in the flags word, SF/ZF/PF lazy
// (all six change, so nothing older needs evaluating). OF follows the count-1 rule for every count.
const LZ_RESULT32 = LAZY(32, LazyKind.RESULT);
for (const [name, expr, cfExpr, ofExpr] of [
  ['Shl', 'a << c', '(a >>> (32 - c)) & 1', '((res >>> 31) ^ cf) !== 0'],
  ['Shr', '(a >>> c) | 0', '(a >>> (c - 1)) & 1', '(((res << 1) ^ res) >>> 31) !== 0'],
  ['Sar', 'a >> c', '(a >> (c - 1)) & 1', 'false'],
] as const) {
  const body = (o: Operands, count: string): string =>
    o.flagsDead
      ? `const c = ${count}; if (c !== 0) { const a = ${o.reg(32, 0)}; ${o.reg(32, 0)} = ${expr}; }`
      : `const c = ${count}; if (c !== 0) { const a = ${o.reg(32, 0)};
     const res = ${expr}; const cf = ${cfExpr};
     st[1] = (st[1] & ~0x811) | cf | (${ofExpr} ? 0x800 : 0);
     st[${ST_LAZY}] = ${LZ_RESULT32}; st[${ST_RES}] = res; ${o.reg(32, 0)} = res; }`;
  define(`${name}_rm32_imm8`, (o) => body(o, `(${o.imm(8)}) & 31`), undefined);
  define(`${name}_rm32_1`, (o) => body(o, '1'), undefined);
  define(`${name}_rm32_CL`, (o) => body(o, 'r8[4] & 31'), undefined);
}

// SHLD/SHRD of a 32-bit register: the bits shifted in come from the second register; flags as a
// shift's, OF from the sign change (64-bit shifts in compiled code run them).
for (const [name, expr, cfExpr] of [
  ['Shld', '(a << c) | (b >>> (32 - c))', '(a >>> (32 - c)) & 1'],
  ['Shrd', '(a >>> c) | (b << (32 - c))', '(a >>> (c - 1)) & 1'],
] as const) {
  const body = (o: Operands, count: string): string =>
    `const c = ${count}; if (c !== 0) { const a = ${o.reg(32, 0)}; const b = ${o.reg(32, 1)};
     const res = ${expr}; const cf = ${cfExpr};
     st[1] = (st[1] & ~0x811) | cf | (((res ^ a) >>> 31) !== 0 ? 0x800 : 0);
     st[${ST_LAZY}] = ${LZ_RESULT32}; st[${ST_RES}] = res; ${o.reg(32, 0)} = res; }`;
  define(`${name}_rm32_r32_imm8`, (o) => body(o, `(${o.imm(8)}) & 31`), undefined);
  define(`${name}_rm32_r32_CL`, (o) => body(o, 'r8[4] & 31'), undefined);
}

// ROL/ROR of a 32-bit register: CF and OF only (OF by the count-1 rule for every count), nothing for 0.
for (const [name, expr, cfExpr, ofExpr] of [
  ['Rol', '(a << c) | (a >>> (32 - c))', 'res & 1', '((res >>> 31) & 1) ^ cf'],
  ['Ror', '(a >>> c) | (a << (32 - c))', '(res >>> 31) & 1', 'cf ^ ((res >>> 30) & 1)'],
] as const) {
  const body = (o: Operands, count: string): string =>
    o.flagsDead
      ? `const c = ${count}; if (c !== 0) { const a = ${o.reg(32, 0)}; ${o.reg(32, 0)} = (${expr}) | 0; }`
      : `const c = ${count}; if (c !== 0) { const a = ${o.reg(32, 0)}; const res = (${expr}) | 0; const cf = ${cfExpr};
     ${flagBitsCode(Flag.CF | Flag.OF, `cf | (${ofExpr} ? 0x800 : 0)`)} ${o.reg(32, 0)} = res; }`;
  define(`${name}_rm32_imm8`, (o) => body(o, `(${o.imm(8)}) & 31`), undefined);
  define(`${name}_rm32_1`, (o) => body(o, '1'), undefined);
  define(`${name}_rm32_CL`, (o) => body(o, 'r8[4] & 31'), undefined);
}

// TEST with the accumulator, NOT of a register (no flags), MOV between EAX and a direct address.
for (const [name, acc, size] of [
  ['Test_EAX_imm32', 'r32[0]', 32],
  ['Test_AX_imm16', 'r16[0]', 16],
  ['Test_AL_imm8', 'r8[0]', 8],
] as const) {
  define(name, (o) => `const a = ${acc}; const b = ${o.imm(size)}; ${aluCode(4, size)}`, undefined, Effect.NONE, 0, {
    kind: LazyKind.LOGIC,
    size,
  });
}
define('Not_rm32', (o) => `${o.reg(32, 0)} = ~${o.reg(32, 0)};`, undefined, Effect.NONE, 0, 'keeps');
define('Mov_EAX_moffs32', undefined, (o) => `r32[0] = ${readOperand(o, 32)};`, Effect.NONE, MEM_EFFECT, 'keeps');
define('Mov_moffs32_EAX', undefined, (o) => writeOperand(o, 32, 'r32[0]'), Effect.NONE, MEM_EFFECT, 'keeps');

// CMOVcc: the source is read (and may fault) whatever the condition; the destination is written back
// either way, so that neither path holds an access the other lacks (see selectCode).
for (let cc = 0; cc < 16; cc++) {
  define(
    `Cmov${CC[cc]}_r32_rm32`,
    (o) => `const v = ${o.reg(32, 1)}, d = ${o.reg(32, 0)}; ${o.reg(32, 0)} = (${o.condition(cc)}) ? v : d;`,
    (o) => `const v = ${readOperand(o, 32)}, d = ${o.reg(32, 0)}; ${o.reg(32, 0)} = (${o.condition(cc)}) ? v : d;`,
    Effect.NONE,
    MEM_EFFECT,
    'keeps',
  );
}

// SETcc: 1 or 0 by the condition.
for (let cc = 0; cc < 16; cc++) {
  define(
    `Set${CC[cc]}_rm8`,
    (o) => `${o.reg(8, 0)} = ${o.condition(cc)} ? 1 : 0;`,
    (o) => writeOperand(o, 8, `${o.condition(cc)} ? 1 : 0`),
    Effect.NONE,
    MEM_EFFECT,
    'keeps',
  );
}

/** Whether the record has a memory operand (its form's memory template and effect apply). */
function hasMemoryOperand(ins: Instruction): boolean {
  return ins.op0Kind === OpKind.Memory || ins.op1Kind === OpKind.Memory;
}

/** The variant of its form's handlers that a record needs. */
function variantOf(ins: Instruction): FormVariant {
  if (!hasMemoryOperand(ins)) return 'reg';
  return ins.addressSize === 32 && ins.memBase !== 0 && ins.memIndex === 0 ? 'base' : 'mem';
}

/** A specialised handler for the record, or undefined when the generic one must run. */
export function fastHandler(ins: Instruction): Handler | undefined {
  return entryFor(ins)?.handler(variantOf(ins));
}

/**
 * When `handler` is the record's specialised handler, its twin that reads the record's packed form
 * (packed.ts) for the interpreter; otherwise undefined.
 */
export function packedTwin(handler: Handler, ins: Instruction): PackedHandler | undefined {
  const entry = entryFor(ins);
  const variant = variantOf(ins);
  return entry !== undefined && handler === entry.handler(variant) ? entry.twin(variant) : undefined;
}

/**
 * A form's packed twin and its template's code in the packed view, for a generated function that
 * runs the form inline (see generatedFunction): the code reads the packed record at `_pk[_po]`.
 * Undefined when the form has no such handler.
 */
export function packedForm(
  name: string,
  variant: FormVariant,
): { twin: PackedHandler; code: string; effect: Effect } | undefined {
  const entry = FAST.get(codeNamed(name));
  const template = entry?.template(variant);
  if (entry === undefined || template === undefined) return undefined;
  const code = template(VIEWS[variant][1]);
  const effect = exitsIfWrites(variant === 'reg' ? entry.regEffect : entry.memEffect, code);
  return { twin: entry.twin(variant) as PackedHandler, code, effect };
}

/**
 * Template code that writes memory. Code that only reads needs no test of `cpu.exitBlock` after it:
 * what a read's slow path may request (a device's stop; a page walk's accessed bit written into a
 * page with scanned code, which changes a page table and not the block running) can wait for the
 * block's end, where the run loop and page functions test it anyway. Without the test after every
 * read, a sort of 24 000 lines run again and again in the guest took 2-6 % less time a round; the
 * bench workload's sort step, which runs once, moved within the machine's noise (0.97-1.01x).
 */
const WRITES = /\bcpu\.(?:write(?:Lin)?(?:8|16|32)|prepareWrite)\(/;

/** A template's effect without Effect.EXITS when its code does not write memory (see WRITES). */
function exitsIfWrites(effect: Effect, code: string): Effect {
  return (effect & Effect.EXITS) !== 0 && !WRITES.test(code) ? effect & ~Effect.EXITS : effect;
}

/**
 * The record's template with its operands as literals, or undefined when its form has none. The code
 * is only valid where the record runs at its own IP (a block entered at its start) with EIP `next`,
 * in a function made by generatedFunction, which declares the template locals. `flags` is the state
 * the records before it left in the lazy flags, when known, for a conditional jump to test directly.
 */
export function inlineCode(
  ins: Instruction,
  next: number,
  flags?: FlagSource,
  flat = false,
  flagsDead = false,
): InlineCode | undefined {
  const entry = entryFor(ins);
  if (entry === undefined) return undefined;
  const memory = hasMemoryOperand(ins);
  const t = entry.template(memory ? 'mem' : 'reg');
  if (t === undefined) return undefined;
  const code = t(new LiteralOperands(ins, next, flags, flat, flagsDead));
  return { code, effect: exitsIfWrites(memory ? entry.memEffect : entry.regEffect, code), flags: entry.flags };
}

/** How a form's inline code may run and what it does with the arithmetic flags (flagUse). */
export interface FlagUse {
  readonly effect: Effect;
  readonly flags: FlagEffect;
  /** It reads the EFLAGS or lazy-flag words, other than as the target of a plain assignment. */
  readonly readsFlags: boolean;
}

/**
 * Code that reads the arithmetic flags: the EFLAGS and lazy-flag words other than as the target of a
 * plain assignment (`st[1] &= ...` reads too), or a flag getter.
 */
const READS_FLAGS = /\bst\[[1-5]\](?!\s*=(?!=))|\bcpu\.get[A-Z]f\(/;

/**
 * FlagUse by code, operand kind and whether the code's templates are for the record (code * 4, + 1
 * for a memory operand, + 2 for a record they are not for); null: no template.
 */
const FLAG_USE = new Map<number, FlagUse | null>();

/**
 * What the inline code of `ins` may do and does with the flags, the same for every record of its
 * form, or undefined when the form has no template. Known once per form: block compilers ask for
 * every record.
 */
export function flagUse(ins: Instruction): FlagUse | undefined {
  const key = ins.code * 4 + (hasMemoryOperand(ins) ? 1 : 0) + (entryFor(ins) === undefined ? 2 : 0);
  let use = FLAG_USE.get(key);
  if (use === undefined) {
    const inl = inlineCode(ins, (ins.ip + ins.length) | 0);
    use = inl === undefined ? null : { effect: inl.effect, flags: inl.flags, readsFlags: READS_FLAGS.test(inl.code) };
    FLAG_USE.set(key, use);
  }
  return use ?? undefined;
}

/** What the record's form does to the arithmetic flags, or undefined when it has no template. */
export function fastFlagEffect(ins: Instruction): FlagEffect | undefined {
  return entryFor(ins)?.flags;
}

/** Number of specialised handlers compiled (for tests and statistics). */
export function fastHandlerCount(): number {
  return compiled;
}

/** Codes that have a specialised handler. */
export function fastCodes(): number[] {
  return [...FAST.keys()];
}
