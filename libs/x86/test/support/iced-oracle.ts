/**
 * Differential oracle: describes an instruction decoded by iced-x86 and one decoded by plex86 in the same
 * canonical text, so a test can compare them field by field.
 */
import {
  Code as IcedCode,
  CpuidFeature,
  Decoder as IcedDecoder,
  DecoderOptions,
  Instruction as IcedInstruction,
  MemorySize as IcedMemorySize,
  MemorySizeExt,
  Mnemonic as IcedMnemonic,
  OpKind as IcedOpKind,
  Register as IcedRegister,
} from 'iced-x86';
import { MNEMONIC_NAMES } from '../../src/generated/mnemonic.js';
import { Instruction, OpKind, Register, memorySizeBytes, Prefix } from '../../src/index.js';

export { CpuidFeature, IcedCode, IcedDecoder, IcedInstruction, DecoderOptions };

/** Canonical description of a decoded instruction. */
export interface Described {
  readonly valid: boolean;
  readonly length: number;
  readonly mnemonic: string;
  readonly operands: readonly string[];
  /** rep/repne/lock/segment prefix as decoded. */
  readonly prefixes: string;
}

const hex = (n: number | bigint): string => `0x${n.toString(16)}`;

function ourMemory(ins: Instruction): string {
  const mask = ins.addressSize === 16 ? 0xffff : 0xffffffff;
  const parts = [Register[ins.memSegment], Register[ins.memBase]];
  if (ins.memIndex !== Register.None) parts.push(`${Register[ins.memIndex]}*${ins.memScale}`);
  else parts.push('-');
  parts.push(hex((ins.memDisplacement & mask) >>> 0), String(memorySizeBytes(ins.memSize)));
  return `mem:${parts.join(':')}`;
}

export function describeOurs(ins: Instruction, ok: boolean): Described {
  if (!ok) return { valid: false, length: ins.length, mnemonic: '', operands: [], prefixes: '' };
  const operands: string[] = [];
  for (let i = 0; i < ins.opCount; i++) {
    const kind = ins.opKind(i);
    switch (kind) {
      case OpKind.Register:
        operands.push(`reg:${Register[ins.opRegister(i)]}`);
        break;
      case OpKind.Memory:
        operands.push(ourMemory(ins));
        break;
      case OpKind.Immediate8:
      case OpKind.Immediate16:
      case OpKind.Immediate32:
      case OpKind.Immediate8to16:
      case OpKind.Immediate8to32:
        operands.push(`${OpKind[kind]}:${hex(ins.immediate)}`);
        break;
      case OpKind.Immediate8Second:
        operands.push(`Immediate8_2nd:${hex(ins.immediate2)}`);
        break;
      case OpKind.NearBranch16:
      case OpKind.NearBranch32:
        operands.push(`${OpKind[kind]}:${hex(ins.branchTarget)}`);
        break;
      case OpKind.FarBranch16:
      case OpKind.FarBranch32:
        operands.push(`${OpKind[kind]}:${hex(ins.farSelector)}:${hex(ins.branchTarget)}`);
        break;
      case OpKind.MemorySegSI:
      case OpKind.MemorySegESI:
      case OpKind.MemorySegDI:
      case OpKind.MemorySegEDI:
        operands.push(`${OpKind[kind]}:${Register[ins.memSegment]}`);
        break;
      default:
        operands.push(OpKind[kind]);
    }
  }
  const p = ins.prefixes;
  const prefixes = [
    p & Prefix.Lock ? 'lock' : '',
    p & Prefix.Rep ? 'rep' : '',
    p & Prefix.Repne ? 'repne' : '',
    ins.segmentPrefix !== Register.None ? Register[ins.segmentPrefix] : '',
  ]
    .filter(Boolean)
    .join(' ');
  return { valid: true, length: ins.length, mnemonic: MNEMONIC_NAMES[ins.mnemonic] ?? '?', operands, prefixes };
}

function icedMemory(ins: IcedInstruction, addressSize: number): string {
  const mask = addressSize === 16 ? 0xffffn : 0xffffffffn;
  const parts = [IcedRegister[ins.memorySegment], IcedRegister[ins.memoryBase]];
  if (ins.memoryIndex !== IcedRegister.None) parts.push(`${IcedRegister[ins.memoryIndex]}*${ins.memoryIndexScale}`);
  else parts.push('-');
  parts.push(hex(ins.memoryDisplacement & mask), String(MemorySizeExt.size(ins.memorySize)));
  return `mem:${parts.join(':')}`;
}

/** iced names the "no base" register None; ours prints 'None' too. Address size is inferred from registers. */
export function describeIced(ins: IcedInstruction, bitness: 16 | 32, addressSize32: boolean): Described {
  if (ins.code === IcedCode.INVALID)
    return { valid: false, length: ins.length, mnemonic: '', operands: [], prefixes: '' };
  const operands: string[] = [];
  for (let i = 0; i < ins.opCount; i++) {
    const kind = ins.opKind(i);
    switch (kind) {
      case IcedOpKind.Register:
        operands.push(`reg:${IcedRegister[ins.opRegister(i)]}`);
        break;
      case IcedOpKind.Memory:
        operands.push(icedMemory(ins, addressSize32 ? 32 : 16));
        break;
      case IcedOpKind.Immediate8:
      case IcedOpKind.Immediate16:
      case IcedOpKind.Immediate32:
      case IcedOpKind.Immediate8to16:
      case IcedOpKind.Immediate8to32: {
        // iced sign-extends Immediate8toN to 64 bits; keep the operand's width.
        const width = kind === IcedOpKind.Immediate8to16 ? 0xffffn : 0xffffffffn;
        operands.push(`${IcedOpKind[kind]}:${hex(ins.immediate(i) & width)}`);
        break;
      }
      case IcedOpKind.Immediate8_2nd:
        operands.push(`Immediate8_2nd:${hex(ins.immediate(i))}`);
        break;
      case IcedOpKind.NearBranch16:
        operands.push(`NearBranch16:${hex(ins.nearBranch16)}`);
        break;
      case IcedOpKind.NearBranch32:
        operands.push(`NearBranch32:${hex(ins.nearBranch32)}`);
        break;
      case IcedOpKind.FarBranch16:
        operands.push(`FarBranch16:${hex(ins.farBranchSelector)}:${hex(ins.farBranch16)}`);
        break;
      case IcedOpKind.FarBranch32:
        operands.push(`FarBranch32:${hex(ins.farBranchSelector)}:${hex(ins.farBranch32)}`);
        break;
      case IcedOpKind.MemorySegSI:
      case IcedOpKind.MemorySegESI:
      case IcedOpKind.MemorySegDI:
      case IcedOpKind.MemorySegEDI:
        operands.push(`${IcedOpKind[kind]}:${IcedRegister[ins.memorySegment]}`);
        break;
      default:
        operands.push(IcedOpKind[kind] as string);
    }
  }
  const prefixes = [
    ins.hasLockPrefix ? 'lock' : '',
    ins.hasRepePrefix ? 'rep' : '',
    ins.hasRepnePrefix ? 'repne' : '',
    ins.segmentPrefix !== IcedRegister.None ? IcedRegister[ins.segmentPrefix] : '',
  ]
    .filter(Boolean)
    .join(' ');
  void bitness;
  const mnemonic = (IcedMnemonic[ins.mnemonic] as string).toLowerCase();
  return { valid: true, length: ins.length, mnemonic: MNEMONIC_ALIASES[mnemonic] ?? mnemonic, operands, prefixes };
}

/** CPUID feature names of an iced instruction. */
export function icedFeatures(ins: IcedInstruction): string[] {
  return Array.from(ins.cpuidFeatures(), (f) => CpuidFeature[f] as string);
}

/**
 * iced CPUID features of the CPU plex86 decodes for: a P6-family IA-32 processor with MMX and SSE to SSE4.2
 * and POPCNT, without AVX. An iced instruction needing any other feature is outside the model.
 */
export const MODEL_FEATURES: ReadonlySet<string> = new Set([
  'INTEL8086',
  'INTEL8086_ONLY',
  'INTEL186',
  'INTEL286',
  'INTEL286_ONLY',
  'INTEL386',
  'INTEL386_ONLY',
  'INTEL386_A0_ONLY',
  'INTEL486',
  'INTEL486_A_ONLY',
  'FPU',
  'FPU287',
  'FPU287XL_ONLY',
  'FPU387',
  'FPU387SL_ONLY',
  'CPUID',
  'TSC',
  'MSR',
  'CX8',
  'CMOV',
  'SEP',
  'RDPMC',
  'FXSR',
  'SMM',
  'MMX',
  'SSE',
  'SSE2',
  'SSE3',
  'SSSE3',
  'SSE4_1',
  'SSE4_2',
  'POPCNT',
  'MONITOR',
  'PAUSE',
  'CLFSH',
  'MULTIBYTENOP',
]);

const outsideByCode = new Map<number, readonly string[]>();

/** Features of an iced instruction that are outside {@link MODEL_FEATURES} (cached per iced Code). */
export function outsideModel(ins: IcedInstruction): readonly string[] {
  const code = ins.code;
  let outside = outsideByCode.get(code);
  if (outside === undefined) {
    outside = code === IcedCode.INVALID ? [] : icedFeatures(ins).filter((f) => !MODEL_FEATURES.has(f));
    outsideByCode.set(code, outside);
  }
  return outside;
}

/** iced spells some mnemonics differently; these are names only, not different instructions. */
export const MNEMONIC_ALIASES: Readonly<Record<string, string>> = {
  // The 0F 0D/0F 18-0F 1F hint space: the SDM calls these NOP.
  reservednop: 'nop',
};

/**
 * Compares a plex86 decode with an iced decode without building strings (fast path of the differential
 * tests); when it reports a difference, describe both with describeOurs/describeIced.
 */
export class FastComparer {
  private readonly mnemonicMap: Int32Array;
  private readonly registerMap: Int32Array;
  private readonly kindMap: Int32Array;
  private readonly memoryBytes: Int32Array;

  constructor() {
    const ourMnemonics = new Map(MNEMONIC_NAMES.map((name, i) => [name, i]));
    const icedMnemonicNames = Object.keys(IcedMnemonic).filter((k) => Number.isNaN(Number(k)));
    this.mnemonicMap = new Int32Array(icedMnemonicNames.length + 1).fill(-1);
    for (const name of icedMnemonicNames) {
      const lower = name.toLowerCase();
      const ours = ourMnemonics.get(MNEMONIC_ALIASES[lower] ?? lower);
      if (ours !== undefined)
        this.mnemonicMap[(IcedMnemonic as unknown as Record<string, number>)[name] as number] = ours;
    }
    const icedRegisters = Object.keys(IcedRegister).filter((k) => Number.isNaN(Number(k)));
    this.registerMap = new Int32Array(icedRegisters.length + 1).fill(-2);
    for (const name of icedRegisters) {
      const ours = (Register as unknown as Record<string, number>)[name];
      if (ours !== undefined)
        this.registerMap[(IcedRegister as unknown as Record<string, number>)[name] as number] = ours;
    }
    const icedKinds = Object.keys(IcedOpKind).filter((k) => Number.isNaN(Number(k)));
    this.kindMap = new Int32Array(icedKinds.length + 1).fill(-3);
    for (const name of icedKinds) {
      const ours = (OpKind as unknown as Record<string, number>)[name === 'Immediate8_2nd' ? 'Immediate8Second' : name];
      if (ours !== undefined) this.kindMap[(IcedOpKind as unknown as Record<string, number>)[name] as number] = ours;
    }
    const sizes = Object.keys(IcedMemorySize).filter((k) => Number.isNaN(Number(k)));
    this.memoryBytes = new Int32Array(sizes.length + 1);
    for (const name of sizes) {
      const value = (IcedMemorySize as unknown as Record<string, number>)[name] as number;
      this.memoryBytes[value] = MemorySizeExt.size(value);
    }
  }

  /** True when both decoders agree on validity and, for valid instructions, on every compared field. */
  same(ours: Instruction, ok: boolean, iced: IcedInstruction): boolean {
    const icedValid = iced.code !== IcedCode.INVALID;
    if (ok !== icedValid) return false;
    if (!ok) return true;
    if (ours.length !== iced.length) return false;
    if (this.mnemonicMap[iced.mnemonic] !== ours.mnemonic) return false;
    const count = iced.opCount;
    if (count !== ours.opCount) return false;
    for (let i = 0; i < count; i++) {
      const kind = this.kindMap[iced.opKind(i)] as number;
      if (kind !== ours.opKind(i)) return false;
      switch (kind) {
        case OpKind.Register:
          if (this.registerMap[iced.opRegister(i)] !== ours.opRegister(i)) return false;
          break;
        case OpKind.Memory: {
          if (this.registerMap[iced.memorySegment] !== ours.memSegment) return false;
          if (this.registerMap[iced.memoryBase] !== ours.memBase) return false;
          const index = this.registerMap[iced.memoryIndex] as number;
          if (index !== ours.memIndex) return false;
          if (index !== Register.None && iced.memoryIndexScale !== ours.memScale) return false;
          const mask = ours.addressSize === 16 ? 0xffffn : 0xffffffffn;
          if (Number(iced.memoryDisplacement & mask) !== (ours.memDisplacement & Number(mask)) >>> 0) return false;
          if (this.memoryBytes[iced.memorySize] !== memorySizeBytes(ours.memSize)) return false;
          break;
        }
        case OpKind.Immediate8:
          if (iced.immediate8 !== ours.immediate) return false;
          break;
        case OpKind.Immediate16:
          if (iced.immediate16 !== ours.immediate) return false;
          break;
        case OpKind.Immediate32:
          if (iced.immediate32 >>> 0 !== ours.immediate) return false;
          break;
        case OpKind.Immediate8to16:
          if ((iced.immediate8to16 & 0xffff) !== ours.immediate) return false;
          break;
        case OpKind.Immediate8to32:
          if (iced.immediate8to32 >>> 0 !== ours.immediate) return false;
          break;
        case OpKind.Immediate8Second:
          if (iced.immediate8_2nd !== ours.immediate2) return false;
          break;
        case OpKind.NearBranch16:
          if (iced.nearBranch16 !== ours.branchTarget) return false;
          break;
        case OpKind.NearBranch32:
          if (iced.nearBranch32 >>> 0 !== ours.branchTarget) return false;
          break;
        case OpKind.FarBranch16:
          if (iced.farBranch16 !== ours.branchTarget || iced.farBranchSelector !== ours.farSelector) return false;
          break;
        case OpKind.FarBranch32:
          if (iced.farBranch32 >>> 0 !== ours.branchTarget || iced.farBranchSelector !== ours.farSelector) return false;
          break;
        case OpKind.MemorySegSI:
        case OpKind.MemorySegESI:
        case OpKind.MemorySegDI:
        case OpKind.MemorySegEDI:
          if (this.registerMap[iced.memorySegment] !== ours.memSegment) return false;
          break;
      }
    }
    const p = ours.prefixes;
    if (iced.hasLockPrefix !== ((p & Prefix.Lock) !== 0)) return false;
    if (iced.hasRepePrefix !== ((p & Prefix.Rep) !== 0)) return false;
    if (iced.hasRepnePrefix !== ((p & Prefix.Repne) !== 0)) return false;
    if (this.registerMap[iced.segmentPrefix] !== ours.segmentPrefix) return false;
    return true;
  }
}
