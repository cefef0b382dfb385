/**
 * Intel-syntax text for decoded instructions, close to `objdump -M intel`: lower-case mnemonics padded to
 * six columns, `SIZE PTR seg:[base+index*scale+disp]` memory operands, hexadecimal immediates and
 * absolute branch targets. This is for people and tests; nothing on a hot path formats text.
 */
import { CodeAttr } from '../decoder/attributes.js';
import type { Instruction } from '../decoder/instruction.js';
import { MemorySize } from '../decoder/memory-size.js';
import { OpKind } from '../decoder/op-kind.js';
import { Prefix } from '../decoder/prefixes.js';
import { Register, registerName } from '../decoder/register.js';
import { CODE_OPERANDS } from '../generated/code-tables.js';
import { OT_FIXED, OT_ONE } from '../generated/decoder-tables.js';
import { MNEMONIC_NAMES } from '../generated/mnemonic.js';

const PTR: Readonly<Partial<Record<MemorySize, string>>> = {
  [MemorySize.Byte]: 'BYTE PTR ',
  [MemorySize.Word]: 'WORD PTR ',
  [MemorySize.Dword]: 'DWORD PTR ',
  [MemorySize.Qword]: 'QWORD PTR ',
  [MemorySize.Xmmword]: 'XMMWORD PTR ',
  [MemorySize.FarPtr16]: 'DWORD PTR ',
  [MemorySize.FarPtr32]: 'FWORD PTR ',
  [MemorySize.Bound16]: 'DWORD PTR ',
  [MemorySize.Bound32]: 'QWORD PTR ',
  [MemorySize.Float32]: 'DWORD PTR ',
  [MemorySize.Float64]: 'QWORD PTR ',
  [MemorySize.Float80]: 'TBYTE PTR ',
  [MemorySize.Int16]: 'WORD PTR ',
  [MemorySize.Int32]: 'DWORD PTR ',
  [MemorySize.Int64]: 'QWORD PTR ',
  [MemorySize.Bcd80]: 'TBYTE PTR ',
};

/** String instructions print without their size suffix (`movs BYTE PTR es:[edi],BYTE PTR ds:[esi]`). */
const STRING_MNEMONIC: Readonly<Record<string, string>> = {
  movsb: 'movs',
  movsw: 'movs',
  movsd: 'movs',
  cmpsb: 'cmps',
  cmpsw: 'cmps',
  cmpsd: 'cmps',
  stosb: 'stos',
  stosw: 'stos',
  stosd: 'stos',
  lodsb: 'lods',
  lodsw: 'lods',
  lodsd: 'lods',
  scasb: 'scas',
  scasw: 'scas',
  scasd: 'scas',
  insb: 'ins',
  insw: 'ins',
  insd: 'ins',
  outsb: 'outs',
  outsw: 'outs',
  outsd: 'outs',
};

const hex = (n: number): string => `0x${n.toString(16)}`;

/** x87 registers: `st` for the implied stack top, `st(i)` for one named by ModRM. */
function register(reg: Register, fixed: boolean): string {
  if (reg >= Register.ST0 && reg <= Register.ST7) return fixed ? 'st' : `st(${reg - Register.ST0})`;
  return registerName(reg);
}

function memory(ins: Instruction, seg: string): string {
  const size = PTR[ins.memSize as MemorySize] ?? '';
  const mask = ins.addressSize === 16 ? 0xffff : 0xffffffff;
  if (ins.memBase === Register.None && ins.memIndex === Register.None) {
    return `${size}${seg || registerName(ins.memSegment)}:${hex((ins.memDisplacement & mask) >>> 0)}`;
  }
  let inner = registerName(ins.memBase);
  if (ins.memIndex !== Register.None) {
    const index = registerName(ins.memIndex);
    // 16-bit addressing has no scale.
    if (ins.addressSize === 16) inner += `+${index}`;
    else inner += `${inner ? '+' : ''}${index}*${ins.memScale}`;
  }
  if (ins.memDisplSize !== 0) {
    const d = ins.memDisplacement;
    inner += d < 0 ? `-${hex(-d)}` : `+${hex(d)}`;
  }
  return `${size}${seg ? `${seg}:` : ''}[${inner}]`;
}

function stringSize(ins: Instruction): string {
  return PTR[ins.memSize as MemorySize] ?? '';
}

function operand(ins: Instruction, n: number): string {
  const kind = ins.opKind(n);
  const seg = (ins.prefixes & Prefix.Segment) !== 0 ? registerName(ins.segmentPrefix) : '';
  const a16 = ins.addressSize === 16;
  switch (kind) {
    case OpKind.Register:
      return register(ins.opRegister(n), ((CODE_OPERANDS[ins.code * 4 + n] ?? 0) & 0xff) === OT_FIXED);
    case OpKind.Memory:
      // XLAT: objdump shows [ebx] and leaves the AL index implied.
      if (ins.memIndex === Register.AL)
        return `${stringSize(ins)}${registerName(ins.memSegment)}:[${registerName(ins.memBase)}]`;
      return memory(ins, seg);
    case OpKind.Immediate8:
      if (((CODE_OPERANDS[ins.code * 4 + n] ?? 0) & 0xff) === OT_ONE) return '1';
      return hex(ins.immediate);
    case OpKind.Immediate16:
    case OpKind.Immediate32:
    case OpKind.Immediate8to16:
    case OpKind.Immediate8to32:
      return hex(ins.immediate);
    case OpKind.Immediate8Second:
      return hex(ins.immediate2);
    case OpKind.NearBranch16:
    case OpKind.NearBranch32:
      return hex(ins.branchTarget);
    case OpKind.FarBranch16:
    case OpKind.FarBranch32:
      return `${hex(ins.farSelector)}:${hex(ins.branchTarget)}`;
    case OpKind.MemorySegSI:
    case OpKind.MemorySegESI:
      return `${stringSize(ins)}${seg || 'ds'}:[${a16 ? 'si' : 'esi'}]`;
    case OpKind.MemoryESDI:
    case OpKind.MemoryESEDI:
      return `${stringSize(ins)}es:[${a16 ? 'di' : 'edi'}]`;
    case OpKind.MemorySegDI:
    case OpKind.MemorySegEDI:
      return `${stringSize(ins)}${seg || 'ds'}:[${a16 ? 'di' : 'edi'}]`;
    default:
      return '';
  }
}

/** The mnemonic as objdump spells it, with its prefixes. */
function mnemonicText(ins: Instruction, override?: string): string {
  const base = override ?? MNEMONIC_NAMES[ins.mnemonic] ?? '(bad)';
  const isString = (ins.attributes & CodeAttr.STRING) !== 0;
  let name = isString ? (STRING_MNEMONIC[base] ?? base) : base === 'xlatb' ? 'xlat' : base;
  const p = ins.prefixes;
  if (isString) {
    const compares = name === 'cmps' || name === 'scas';
    if (p & Prefix.Rep) name = `${compares ? 'repz' : 'rep'} ${name}`;
    else if (p & Prefix.Repne) name = `repnz ${name}`;
  }
  if (p & Prefix.Lock) name = `lock ${name}`;
  let usesMemory = false;
  for (let i = 0; i < ins.opCount; i++) if (isMemory(ins.opKind(i))) usesMemory = true;
  // objdump names a segment prefix that no operand uses (a branch hint, or padding).
  if (p & Prefix.Segment && !usesMemory) name = `${registerName(ins.segmentPrefix)} ${name}`;
  return name;
}

function isMemory(kind: OpKind): boolean {
  return kind === OpKind.Memory || kind >= OpKind.MemorySegSI;
}

/**
 * Intel-syntax text of a decoded instruction (`(bad)` for a record that holds no valid instruction).
 * `mnemonic` replaces the table's mnemonic (the disassembler's FWAIT forms).
 */
export function formatIntel(ins: Instruction, mnemonic?: string): string {
  if (ins.code === 0) return '(bad)';
  const name = mnemonicText(ins, mnemonic);
  const operands: string[] = [];
  for (let i = 0; i < ins.opCount; i++) operands.push(operand(ins, i));
  if (operands.length === 0) return name;
  return `${name.padEnd(6)} ${operands.join(',')}`;
}

/** The waiting form objdump prints when FWAIT precedes an x87 no-wait instruction. */
export const WAIT_FORMS: Readonly<Record<string, string>> = {
  fnstsw: 'fstsw',
  fnstcw: 'fstcw',
  fnclex: 'fclex',
  fninit: 'finit',
  fnsave: 'fsave',
  fnstenv: 'fstenv',
  fneni: 'feni',
  fndisi: 'fdisi',
  fnsetpm: 'fsetpm',
};
