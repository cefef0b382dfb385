/**
 * Random single-instruction cases for the differential test against the host CPU: each case is a
 * random register and flag state, one instruction from a list of templates, and the mask of the
 * status flags that instruction defines (the others are undefined in the SDM and may differ).
 */

const REGS = ['eax', 'ebx', 'ecx', 'edx', 'esi', 'edi', 'ebp'];
const REGS16 = ['ax', 'bx', 'cx', 'dx', 'si', 'di', 'bp'];
const REGS8 = ['al', 'bl', 'cl', 'dl', 'ah', 'bh', 'ch', 'dh'];

const CF = 0x1;
const PF = 0x4;
const AF = 0x10;
const ZF = 0x40;
const SF = 0x80;
const OF = 0x800;
const ALL = CF | PF | AF | ZF | SF | OF;

export interface Case {
  /** Initial EAX EBX ECX EDX ESI EDI EBP (uint32). */
  regs: number[];
  /** Initial status flags. */
  flags: number;
  /** Initial 16 bytes of the data buffer. */
  buffer: number[];
  /** The instruction in nasm syntax (`[buf + n]` names the buffer). */
  asm: string;
  /** Status flags the instruction defines. */
  mask: number;
}

export class Random {
  constructor(private seed: number) {}
  next(): number {
    this.seed = (Math.imul(this.seed ^ (this.seed >>> 15), 0x2c1b3c6d) + 0x297a2d39) | 0;
    let t = this.seed;
    t = Math.imul(t ^ (t >>> 13), 0x5bd1e995);
    return (t ^ (t >>> 16)) >>> 0;
  }
  below(n: number): number {
    return this.next() % n;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.below(xs.length)] as T;
  }
  /** A 32-bit value, often an edge value. */
  value(): number {
    const edges = [
      0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe,
    ];
    return this.below(4) === 0 ? this.pick(edges) : this.next();
  }
}

type Template = (r: Random) => { asm: string; mask: number };

const ALU = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];
const LOGIC = new Set(['or', 'and', 'xor']);
const SHIFTS = ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sar'];
const CCS = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];

function sized(r: Random): { reg: () => string; size: 'byte' | 'word' | 'dword'; bits: number } {
  const k = r.below(3);
  if (k === 0) return { reg: () => r.pick(REGS8), size: 'byte', bits: 8 };
  if (k === 1) return { reg: () => r.pick(REGS16), size: 'word', bits: 16 };
  return { reg: () => r.pick(REGS), size: 'dword', bits: 32 };
}

function mem(r: Random, size: string): string {
  return `${size} [buf + ${r.below(12)}]`;
}

function shiftMask(op: string, count: number, bits: number): number {
  const c = count & 31;
  if (c === 0) return ALL;
  let mask = op === 'rol' || op === 'ror' || op === 'rcl' || op === 'rcr' ? CF | OF : ALL & ~AF;
  if (c !== 1) mask &= ~OF;
  // CF is undefined for SHL/SHR/SAR by at least the operand width.
  if ((op === 'shl' || op === 'shr' || op === 'sar') && c >= bits) mask &= ~CF;
  return mask;
}

const TEMPLATES: Template[] = [
  (r) => {
    const op = r.pick(ALU);
    const s = sized(r);
    const k = r.below(4);
    const asm =
      k === 0
        ? `${op} ${s.reg()}, ${s.reg()}`
        : k === 1
          ? `${op} ${s.reg()}, ${r.value() & (s.bits === 32 ? 0xffffffff : (1 << s.bits) - 1)}`
          : k === 2
            ? `${op} ${mem(r, s.size)}, ${s.reg()}`
            : `${op} ${s.reg()}, ${mem(r, s.size)}`;
    return { asm, mask: LOGIC.has(op) ? ALL & ~AF : ALL };
  },
  (r) => {
    const s = sized(r);
    return { asm: `${r.pick(['inc', 'dec'])} ${r.below(2) === 0 ? s.reg() : mem(r, s.size)}`, mask: (ALL & ~CF) | CF };
  },
  (r) => {
    const s = sized(r);
    return { asm: `${r.pick(['neg', 'not'])} ${r.below(2) === 0 ? s.reg() : mem(r, s.size)}`, mask: ALL };
  },
  (r) => {
    const s = sized(r);
    const op = r.pick(SHIFTS);
    const count = r.below(3) === 0 ? 1 : r.below(40);
    const dest = r.below(3) === 0 ? mem(r, s.size) : s.reg();
    if (r.below(2) === 0) return { asm: `mov cl, ${count}\n    ${op} ${dest}, cl`, mask: shiftMask(op, count, s.bits) };
    return { asm: `${op} ${dest}, ${count & 0xff}`, mask: shiftMask(op, count, s.bits) };
  },
  (r) => {
    const s = sized(r);
    const src = s.bits === 8 ? 'bl' : s.bits === 16 ? 'bx' : 'ebx';
    return { asm: `${r.pick(['mul', 'imul'])} ${r.below(2) === 0 ? src : mem(r, s.size)}`, mask: CF | OF };
  },
  (r) => {
    const bits = r.below(2) === 0 ? 16 : 32;
    const regs = bits === 16 ? REGS16 : REGS;
    const k = r.below(3);
    const asm =
      k === 0
        ? `imul ${r.pick(regs)}, ${r.pick(regs)}`
        : k === 1
          ? `imul ${r.pick(regs)}, ${r.pick(regs)}, ${(r.value() << 16) >> 16}`
          : `imul ${r.pick(regs)}, ${bits === 16 ? 'word' : 'dword'} [buf + ${r.below(12)}]`;
    return { asm, mask: CF | OF };
  },
  (r) => {
    const bits = r.below(2) === 0 ? 16 : 32;
    const regs = bits === 16 ? REGS16 : REGS;
    return { asm: `${r.pick(['bsf', 'bsr'])} ${r.pick(regs)}, ${r.pick(regs)}`, mask: ZF };
  },
  (r) => {
    const bits = r.below(2) === 0 ? 16 : 32;
    const regs = bits === 16 ? REGS16 : REGS;
    const op = r.pick(['bt', 'bts', 'btr', 'btc']);
    const asm = r.below(2) === 0 ? `${op} ${r.pick(regs)}, ${r.below(256)}` : `${op} ${r.pick(regs)}, ${r.pick(regs)}`;
    return { asm, mask: CF };
  },
  (r) => {
    const bits = r.below(2) === 0 ? 16 : 32;
    const regs = bits === 16 ? REGS16 : REGS;
    const count = r.below(3) === 0 ? 1 : r.below(bits === 16 ? 16 : 32);
    const op = r.pick(['shld', 'shrd']);
    const c = count & 31;
    let mask = c === 0 ? ALL : ALL & ~AF;
    if (c > 1) mask &= ~OF;
    return { asm: `${op} ${r.pick(regs)}, ${r.pick(regs)}, ${count}`, mask };
  },
  (r) => ({ asm: `bswap ${r.pick(REGS)}`, mask: ALL }),
  (r) => ({ asm: r.pick(['cbw', 'cwde', 'cwd', 'cdq', 'lahf', 'sahf', 'cmc', 'clc', 'stc', 'salc']), mask: ALL }),
  (r) => ({ asm: r.pick(['daa', 'das']), mask: ALL & ~OF }),
  (r) => ({ asm: r.pick(['aaa', 'aas']), mask: AF | CF }),
  (r) => ({ asm: `${r.pick(['aam', 'aad'])} ${1 + r.below(255)}`, mask: SF | ZF | PF }),
  (r) => {
    const bits = r.below(2) === 0 ? 16 : 32;
    const regs = bits === 16 ? REGS16 : REGS;
    const src = r.below(2) === 0 ? r.pick(regs) : `${bits === 16 ? 'word' : 'dword'} [buf + ${r.below(12)}]`;
    return { asm: `cmov${r.pick(CCS)} ${r.pick(regs)}, ${src}`, mask: ALL };
  },
  (r) => ({ asm: `set${r.pick(CCS)} ${r.below(2) === 0 ? r.pick(REGS8) : mem(r, 'byte')}`, mask: ALL }),
  (r) => {
    const k = r.below(4);
    const reg = r.pick(REGS);
    if (k === 0) return { asm: `movzx ${reg}, ${r.pick(REGS8)}`, mask: ALL };
    if (k === 1) return { asm: `movsx ${reg}, ${r.pick(REGS16)}`, mask: ALL };
    if (k === 2)
      return {
        asm: `lea ${reg}, [${r.pick(REGS)} + ${r.pick(REGS)} * ${r.pick([1, 2, 4, 8])} + ${(r.value() << 8) >> 8}]`,
        mask: ALL,
      };
    return { asm: `xchg ${reg}, ${r.pick(REGS)}`, mask: ALL };
  },
  (r) => {
    const s = sized(r);
    const dest = r.below(2) === 0 ? s.reg() : mem(r, s.size);
    return { asm: `${r.pick(['xadd', 'cmpxchg'])} ${dest}, ${s.reg()}`, mask: ALL };
  },
];

export function generateCases(seed: number, count: number): Case[] {
  const r = new Random(seed);
  const cases: Case[] = [];
  for (let i = 0; i < count; i++) {
    const t = TEMPLATES[r.below(TEMPLATES.length)] as Template;
    const { asm, mask } = t(r);
    cases.push({
      regs: REGS.map(() => r.value()),
      flags: r.next() & ALL,
      buffer: Array.from({ length: 16 }, () => r.below(256)),
      asm,
      mask,
    });
  }
  return cases;
}

/** Bytes of output per case: EAX EBX ECX EDX ESI EDI EBP, EFLAGS, then the 16-byte buffer. */
export const RECORD_BYTES = 8 * 4 + 16;

/**
 * The body shared by both harnesses: for each case, load the state, run the instruction, store the
 * state into `results`. `%1`-style details (how to exit, how to output) are the harness's.
 */
export function caseCode(cases: Case[]): string {
  const lines: string[] = [];
  cases.forEach((c, i) => {
    lines.push(`; case ${i}`);
    c.buffer.forEach((b, j) => lines.push(`    mov byte [buf + ${j}], ${b}`));
    lines.push(`    push dword ${c.flags | 0x2}`, '    popfd');
    REGS.forEach((reg, j) => lines.push(`    mov ${reg}, ${c.regs[j]}`));
    lines.push(`    ${c.asm}`);
    lines.push('    mov [save_esp], esp', `    mov esp, results + ${(i + 1) * RECORD_BYTES - 16}`);
    lines.push(
      '    pushfd',
      '    push ebp',
      '    push edi',
      '    push esi',
      '    push edx',
      '    push ecx',
      '    push ebx',
      '    push eax',
    );
    lines.push('    mov esp, [save_esp]');
    for (let j = 0; j < 16; j += 4)
      lines.push(`    mov eax, [buf + ${j}]`, `    mov [results + ${i * RECORD_BYTES + 32 + j}], eax`);
  });
  return lines.join('\n');
}
