import { CODE_INFO } from '../generated/code-tables.js';
import * as tables from '../generated/decoder-tables.js';
import { CodeAttr } from './attributes.js';
import { DecodeStatus, MAX_INSTRUCTION_LENGTH, type Bitness } from './decode-status.js';
import type { InstructionDecoder } from './decoder-api.js';
import type { Instruction } from './instruction.js';
import { OpKind } from './op-kind.js';
import { Prefix } from './prefixes.js';
import { Register } from './register.js';

const OPCODE_MAP = tables.OPCODE_MAP;
const NODES = tables.NODES;

// The hot path compares against these as literals (same-file const enums are inlined); the values are
// checked against the generated tables and the public enums when the module loads.

/** Table word kinds and flags (decoder-tables.ts NODE_*). */
const enum N {
  LEAF = 1,
  PREFIX = 2,
  MOD = 3,
  REG = 4,
  RM = 5,
  OPSIZE = 6,
  ADDRSIZE = 7,
  ESCAPE = 8,
  PREFIX_BYTE = 9,
}

/** Table word flags and the payload position. */
const enum F {
  CONSUME = 16,
  MODRM = 32,
  NOMOD = 64,
}
const enum Shift {
  PAYLOAD = 7,
}

/** Operand template kinds (decoder-tables.ts OT_*). */
const enum T {
  RM = 1,
  REG = 2,
  MEM = 3,
  RMREG = 4,
  OPREG = 5,
  FIXED = 6,
  IMM8 = 7,
  IMM16 = 8,
  IMM32 = 9,
  IMM8S16 = 10,
  IMM8S32 = 11,
  IMM8_2ND = 12,
  REL8_16 = 13,
  REL8_32 = 14,
  REL16 = 15,
  REL32 = 16,
  FAR16 = 17,
  FAR32 = 18,
  MOFFS = 19,
  STR_SRC = 20,
  STR_DST = 21,
  ONE = 22,
  XLAT = 23,
  MASKMOV = 24,
}

/** OpKind values. */
const enum K {
  None = 0,
  Register = 1,
  Memory = 2,
  Immediate8 = 3,
  Immediate16 = 4,
  Immediate32 = 5,
  Immediate8to16 = 6,
  Immediate8to32 = 7,
  Immediate8Second = 8,
  NearBranch16 = 9,
  NearBranch32 = 10,
  FarBranch16 = 11,
  FarBranch32 = 12,
  MemorySegSI = 13,
  MemorySegESI = 14,
  MemoryESDI = 15,
  MemoryESEDI = 16,
  MemorySegDI = 17,
  MemorySegEDI = 18,
}

/** Register values. */
const enum R {
  None = 0,
  AL = 1,
  BX = 12,
  BP = 14,
  SI = 15,
  DI = 16,
  EAX = 17,
  EBX = 20,
  ESP = 21,
  EBP = 22,
  ESI = 23,
  EDI = 24,
  ES = 25,
  SS = 27,
  DS = 28,
}

/** DecodeStatus values. */
const enum S {
  OK = 0,
  INVALID = 1,
  NEED_MORE = 2,
  TOO_LONG = 3,
}

/** Prefix bits. */
const enum P {
  LOCK = 1,
  REP = 2,
  REPNE = 4,
  OSIZE = 8,
  ASIZE = 16,
  SEG = 32,
}

/** CodeAttr bits. */
const enum A {
  LOCKABLE = 512,
}

function mirrorsMatch(): boolean {
  const t = tables;
  const pairs: [number, number][] = [
    [N.LEAF, t.NODE_LEAF],
    [N.PREFIX, t.NODE_PREFIX],
    [N.MOD, t.NODE_MOD],
    [N.REG, t.NODE_REG],
    [N.RM, t.NODE_RM],
    [N.OPSIZE, t.NODE_OPSIZE],
    [N.ADDRSIZE, t.NODE_ADDRSIZE],
    [N.ESCAPE, t.NODE_ESCAPE],
    [N.PREFIX_BYTE, t.NODE_PREFIX_BYTE],
    [F.CONSUME, t.NODE_CONSUME],
    [F.MODRM, t.NODE_MODRM],
    [F.NOMOD, t.NODE_NOMOD],
    [Shift.PAYLOAD, t.NODE_PAYLOAD_SHIFT],
    [T.RM, t.OT_RM],
    [T.REG, t.OT_REG],
    [T.MEM, t.OT_MEM],
    [T.RMREG, t.OT_RMREG],
    [T.OPREG, t.OT_OPREG],
    [T.FIXED, t.OT_FIXED],
    [T.IMM8, t.OT_IMM8],
    [T.IMM16, t.OT_IMM16],
    [T.IMM32, t.OT_IMM32],
    [T.IMM8S16, t.OT_IMM8S16],
    [T.IMM8S32, t.OT_IMM8S32],
    [T.IMM8_2ND, t.OT_IMM8_2ND],
    [T.REL8_16, t.OT_REL8_16],
    [T.REL8_32, t.OT_REL8_32],
    [T.REL16, t.OT_REL16],
    [T.REL32, t.OT_REL32],
    [T.FAR16, t.OT_FAR16],
    [T.FAR32, t.OT_FAR32],
    [T.MOFFS, t.OT_MOFFS],
    [T.STR_SRC, t.OT_STR_SRC],
    [T.STR_DST, t.OT_STR_DST],
    [T.ONE, t.OT_ONE],
    [T.XLAT, t.OT_XLAT],
    [T.MASKMOV, t.OT_MASKMOV],
    [K.Register, OpKind.Register],
    [K.Memory, OpKind.Memory],
    [K.Immediate8, OpKind.Immediate8],
    [K.Immediate16, OpKind.Immediate16],
    [K.Immediate32, OpKind.Immediate32],
    [K.Immediate8to16, OpKind.Immediate8to16],
    [K.Immediate8to32, OpKind.Immediate8to32],
    [K.Immediate8Second, OpKind.Immediate8Second],
    [K.NearBranch16, OpKind.NearBranch16],
    [K.NearBranch32, OpKind.NearBranch32],
    [K.FarBranch16, OpKind.FarBranch16],
    [K.FarBranch32, OpKind.FarBranch32],
    [K.MemorySegSI, OpKind.MemorySegSI],
    [K.MemorySegESI, OpKind.MemorySegESI],
    [K.MemoryESDI, OpKind.MemoryESDI],
    [K.MemoryESEDI, OpKind.MemoryESEDI],
    [K.MemorySegDI, OpKind.MemorySegDI],
    [K.MemorySegEDI, OpKind.MemorySegEDI],
    [R.AL, Register.AL],
    [R.BX, Register.BX],
    [R.BP, Register.BP],
    [R.SI, Register.SI],
    [R.DI, Register.DI],
    [R.EAX, Register.EAX],
    [R.EBX, Register.EBX],
    [R.ESP, Register.ESP],
    [R.EBP, Register.EBP],
    [R.ESI, Register.ESI],
    [R.EDI, Register.EDI],
    [R.ES, Register.ES],
    [R.SS, Register.SS],
    [R.DS, Register.DS],
    [S.OK, DecodeStatus.Ok],
    [S.INVALID, DecodeStatus.Invalid],
    [S.NEED_MORE, DecodeStatus.NeedMoreBytes],
    [S.TOO_LONG, DecodeStatus.TooLong],
    [P.LOCK, Prefix.Lock],
    [P.REP, Prefix.Rep],
    [P.REPNE, Prefix.Repne],
    [P.OSIZE, Prefix.OperandSize],
    [P.ASIZE, Prefix.AddressSize],
    [P.SEG, Prefix.Segment],
    [A.LOCKABLE, CodeAttr.LOCKABLE],
  ];
  return pairs.every(([mirror, value]) => mirror === value);
}

if (!mirrorsMatch()) {
  throw new Error('libs/x86 decoder constants disagree with src/generated; regenerate with nx run gen-x86:generate');
}

/** Template bit: ModRM can make the operand memory (RM, MEM). */
const MEMORY_CAPABLE = 1 << 28;

/** Segment register selected by each override prefix byte (0 for other bytes). */
const SEGMENT_OF_PREFIX = new Uint8Array(256);
SEGMENT_OF_PREFIX[0x26] = Register.ES;
SEGMENT_OF_PREFIX[0x2e] = Register.CS;
SEGMENT_OF_PREFIX[0x36] = Register.SS;
SEGMENT_OF_PREFIX[0x3e] = Register.DS;
SEGMENT_OF_PREFIX[0x64] = Register.FS;
SEGMENT_OF_PREFIX[0x65] = Register.GS;

/** 16-bit addressing (SDM vol. 2 Table 2-1): base and index register by ModRM.rm. */
const BASE16 = Uint8Array.of(R.BX, R.BX, R.BP, R.BP, R.None, R.None, R.BP, R.BX);
const INDEX16 = Uint8Array.of(R.SI, R.DI, R.SI, R.DI, R.SI, R.DI, R.None, R.None);

/**
 * Table-driven IA-32 decoder for 16- and 32-bit code. One instance can be shared; it keeps no state
 * between calls.
 */
export class Decoder implements InstructionDecoder {
  decode(bytes: Uint8Array, offset: number, end: number, ip: number, bitness: Bitness, out: Instruction): DecodeStatus {
    return decodeInstruction(bytes, offset, end, ip, bitness, out);
  }
}

/**
 * Decodes the instruction at `bytes[offset]` into `out` without reading at or past `end` (clamped to
 * the array) and returns its status. See {@link InstructionDecoder}.
 */
export function decodeInstruction(
  bytes: Uint8Array,
  offset: number,
  end: number,
  ip: number,
  bitness: Bitness,
  out: Instruction,
): DecodeStatus {
  if (end > bytes.length) end = bytes.length;
  if (!(offset >= 0 && offset < end)) {
    // Nothing to read at offset (including an offset outside the array).
    fail(out, offset, 0, ip, bitness);
    return S.NEED_MORE as number;
  }
  const limit = offset + MAX_INSTRUCTION_LENGTH;
  // Bytes at or past `stop` cannot be read; which status that gives is decided by `truncated`.
  const stop = end < limit ? end : limit;
  const is32 = bitness !== 16;
  let pos = offset;
  let prefixes = 0;
  let segment: number = R.None;
  let rep = 0; // last of F3 (2) / F2 (3): the mandatory-prefix index used by PREFIX nodes
  let b = 0;
  let entry = 0;

  // Legacy prefixes, any number and order; the last segment override and the last F2/F3 win.
  for (;;) {
    if (pos >= stop) return truncated(out, offset, pos + 1, end, limit, ip, bitness);
    b = bytes[pos++] as number;
    entry = OPCODE_MAP[b] as number;
    if ((entry & 15) !== N.PREFIX_BYTE) break;
    switch (b) {
      case 0x66:
        prefixes |= P.OSIZE;
        break;
      case 0x67:
        prefixes |= P.ASIZE;
        break;
      case 0xf0:
        prefixes |= P.LOCK;
        break;
      case 0xf2:
        rep = 3;
        break;
      case 0xf3:
        rep = 2;
        break;
      default:
        prefixes |= P.SEG;
        segment = SEGMENT_OF_PREFIX[b] as number;
    }
  }
  // 0F, 0F 38, 0F 3A escapes.
  while ((entry & 15) === N.ESCAPE) {
    if (pos >= stop) return truncated(out, offset, pos + 1, end, limit, ip, bitness);
    b = bytes[pos++] as number;
    entry = OPCODE_MAP[((entry >>> Shift.PAYLOAD) << 8) | b] as number;
  }
  const opcode = b;
  let osize32 = is32 !== ((prefixes & P.OSIZE) !== 0);
  const asize32 = is32 !== ((prefixes & P.ASIZE) !== 0);

  let mod = 3;
  let reg = 0;
  let rm = 0;
  if ((entry & F.MODRM) !== 0) {
    if (pos >= stop) return truncated(out, offset, pos + 1, end, limit, ip, bitness);
    const modrm = bytes[pos++] as number;
    mod = (entry & F.NOMOD) !== 0 ? 3 : modrm >>> 6;
    reg = (modrm >>> 3) & 7;
    rm = modrm & 7;
  }

  // Walk the decision tree to a Code.
  let node = entry;
  let kind = node & 15;
  while (kind !== N.LEAF) {
    let index: number;
    switch (kind) {
      case N.PREFIX:
        index = rep !== 0 ? rep : (prefixes & P.OSIZE) !== 0 ? 1 : 0;
        break;
      case N.MOD:
        index = mod === 3 ? 1 : 0;
        break;
      case N.REG:
        index = reg;
        break;
      case N.RM:
        index = rm;
        break;
      case N.OPSIZE:
        index = osize32 ? 1 : 0;
        break;
      case N.ADDRSIZE:
        index = asize32 ? 1 : 0;
        break;
      default:
        return invalid(out, offset, pos, ip, bitness);
    }
    node = NODES[(node >>> Shift.PAYLOAD) + index] as number;
    kind = node & 15;
  }
  const code = node >>> Shift.PAYLOAD;
  if ((node & F.CONSUME) !== 0) {
    // The selecting prefix is part of the opcode: 66 no longer sets the operand size, F2/F3 are no REP.
    if (rep === 0) osize32 = is32;
    else rep = 0;
  }
  const info = code << 3;
  const attributes = CODE_INFO[info] as number;
  if ((prefixes & P.LOCK) !== 0 && ((attributes & A.LOCKABLE) === 0 || mod === 3)) {
    return invalid(out, offset, pos, ip, bitness);
  }
  if (rep === 2) prefixes |= P.REP;
  else if (rep === 3) prefixes |= P.REPNE;

  // ModRM memory operand (SDM vol. 2 §2.1.5).
  let memBase: number = R.None;
  let memIndex: number = R.None;
  let memScale = 1;
  let disp = 0;
  let dispSize = 0;
  let memSegment: number = R.None;
  if (mod !== 3) {
    if (!asize32) {
      if (mod === 0 && rm === 6) {
        dispSize = 2;
      } else {
        memBase = BASE16[rm] as number;
        memIndex = rm < 4 ? (INDEX16[rm] as number) : R.None;
        if (rm === 4 || rm === 5) memBase = INDEX16[rm] as number;
        dispSize = mod === 1 ? 1 : mod === 2 ? 2 : 0;
      }
      memSegment = memBase === R.BP ? R.SS : R.DS;
    } else {
      let base = rm;
      if (rm === 4) {
        if (pos >= stop) return truncated(out, offset, pos + 1, end, limit, ip, bitness);
        const sib = bytes[pos++] as number;
        const index = (sib >>> 3) & 7;
        base = sib & 7;
        if (index !== 4) {
          memIndex = R.EAX + index;
          memScale = 1 << (sib >>> 6);
        }
        if (base === 5 && mod === 0) base = -1;
      } else if (rm === 5 && mod === 0) {
        base = -1;
      }
      if (base >= 0) memBase = R.EAX + base;
      dispSize = mod === 1 ? 1 : mod === 2 || base < 0 ? 4 : 0;
      memSegment = memBase === R.ESP || memBase === R.EBP ? R.SS : R.DS;
    }
    if (dispSize !== 0) {
      if (pos + dispSize > stop) return truncated(out, offset, pos + dispSize, end, limit, ip, bitness);
      if (dispSize === 1) {
        disp = ((bytes[pos] as number) << 24) >> 24;
      } else if (dispSize === 2) {
        disp = (bytes[pos] as number) | ((bytes[pos + 1] as number) << 8);
        if (memBase !== R.None) disp = (disp << 16) >> 16;
      } else {
        disp =
          (bytes[pos] as number) |
          ((bytes[pos + 1] as number) << 8) |
          ((bytes[pos + 2] as number) << 16) |
          ((bytes[pos + 3] as number) << 24);
        if (memBase === R.None && memIndex === R.None) disp >>>= 0;
      }
      pos += dispSize;
    }
    if (segment !== R.None) memSegment = segment;
  }

  // Operands, in encoding order (immediates follow the ModRM bytes).
  let memSize = 0;
  let immediate = 0;
  let immediate2 = 0;
  let branchTarget = 0;
  let farSelector = 0;
  let haveStringSource = false;
  const mnemonicAndCount = CODE_INFO[info + 1] as number;
  const opCount = mnemonicAndCount >>> 16;
  let k0 = 0;
  let k1 = 0;
  let k2 = 0;
  let k3 = 0;
  let r0 = 0;
  let r1 = 0;
  let r2 = 0;
  let r3 = 0;
  // Which optional fields this instruction sets (others keep their previous values).
  let hasMemory = mod !== 3;
  let hasImmediate = false;
  let hasImmediate2 = false;
  let hasBranch = false;
  // rm | reg << 4 | opcode register << 8; bits 12-15 stay zero for fixed registers.
  const fields = rm | (reg << 4) | ((opcode & 7) << 8);
  for (let i = 0; i < opCount; i++) {
    const t = CODE_INFO[info + 2 + i] as number;
    let opKind: number = K.Register;
    let opReg: number = R.None;
    const kind = t & 0xff;
    if (kind <= T.FIXED) {
      // ModRM/opcode register or memory operands: no dispatch, the template says which field numbers it.
      if ((t & MEMORY_CAPABLE) !== 0 && mod !== 3) {
        opKind = K.Memory;
        memSize = (t >>> 16) & 0xff;
      } else {
        opReg = ((t >>> 8) & 0xff) + ((fields >>> ((t >>> 24) & 15)) & 15);
      }
    } else
      switch (kind) {
        case T.IMM8:
        case T.IMM8S16:
        case T.IMM8S32:
        case T.IMM8_2ND: {
          if (pos >= stop) return truncated(out, offset, pos + 1, end, limit, ip, bitness);
          const v = bytes[pos++] as number;
          const ot = t & 0xff;
          if (ot === T.IMM8) {
            opKind = K.Immediate8;
            immediate = v;
            hasImmediate = true;
          } else if (ot === T.IMM8_2ND) {
            opKind = K.Immediate8Second;
            immediate2 = v;
            hasImmediate2 = true;
          } else {
            hasImmediate = true;
            if (ot === T.IMM8S16) {
              opKind = K.Immediate8to16;
              immediate = ((v << 24) >> 24) & 0xffff;
            } else {
              opKind = K.Immediate8to32;
              immediate = ((v << 24) >> 24) >>> 0;
            }
          }
          break;
        }
        case T.IMM16:
          hasImmediate = true;
          if (pos + 2 > stop) return truncated(out, offset, pos + 2, end, limit, ip, bitness);
          opKind = K.Immediate16;
          immediate = (bytes[pos] as number) | ((bytes[pos + 1] as number) << 8);
          pos += 2;
          break;
        case T.IMM32:
          hasImmediate = true;
          if (pos + 4 > stop) return truncated(out, offset, pos + 4, end, limit, ip, bitness);
          opKind = K.Immediate32;
          immediate =
            ((bytes[pos] as number) |
              ((bytes[pos + 1] as number) << 8) |
              ((bytes[pos + 2] as number) << 16) |
              ((bytes[pos + 3] as number) << 24)) >>>
            0;
          pos += 4;
          break;
        case T.REL8_16:
        case T.REL8_32: {
          hasBranch = true;
          if (pos >= stop) return truncated(out, offset, pos + 1, end, limit, ip, bitness);
          const rel = ((bytes[pos++] as number) << 24) >> 24;
          const target = ip + (pos - offset) + rel;
          if ((t & 0xff) === T.REL8_16) {
            opKind = K.NearBranch16;
            branchTarget = target & 0xffff;
          } else {
            opKind = K.NearBranch32;
            branchTarget = target >>> 0;
          }
          break;
        }
        case T.REL16: {
          hasBranch = true;
          if (pos + 2 > stop) return truncated(out, offset, pos + 2, end, limit, ip, bitness);
          const rel = (((bytes[pos] as number) | ((bytes[pos + 1] as number) << 8)) << 16) >> 16;
          pos += 2;
          opKind = K.NearBranch16;
          branchTarget = (ip + (pos - offset) + rel) & 0xffff;
          break;
        }
        case T.REL32: {
          hasBranch = true;
          if (pos + 4 > stop) return truncated(out, offset, pos + 4, end, limit, ip, bitness);
          const rel =
            (bytes[pos] as number) |
            ((bytes[pos + 1] as number) << 8) |
            ((bytes[pos + 2] as number) << 16) |
            ((bytes[pos + 3] as number) << 24);
          pos += 4;
          opKind = K.NearBranch32;
          branchTarget = (ip + (pos - offset) + rel) >>> 0;
          break;
        }
        case T.FAR16:
          hasBranch = true;
          if (pos + 4 > stop) return truncated(out, offset, pos + 4, end, limit, ip, bitness);
          opKind = K.FarBranch16;
          branchTarget = (bytes[pos] as number) | ((bytes[pos + 1] as number) << 8);
          farSelector = (bytes[pos + 2] as number) | ((bytes[pos + 3] as number) << 8);
          pos += 4;
          break;
        case T.FAR32:
          hasBranch = true;
          if (pos + 6 > stop) return truncated(out, offset, pos + 6, end, limit, ip, bitness);
          opKind = K.FarBranch32;
          branchTarget =
            ((bytes[pos] as number) |
              ((bytes[pos + 1] as number) << 8) |
              ((bytes[pos + 2] as number) << 16) |
              ((bytes[pos + 3] as number) << 24)) >>>
            0;
          farSelector = (bytes[pos + 4] as number) | ((bytes[pos + 5] as number) << 8);
          pos += 6;
          break;
        case T.MOFFS: {
          hasMemory = true;
          const n = asize32 ? 4 : 2;
          if (pos + n > stop) return truncated(out, offset, pos + n, end, limit, ip, bitness);
          disp = (bytes[pos] as number) | ((bytes[pos + 1] as number) << 8);
          if (asize32) disp = (disp | ((bytes[pos + 2] as number) << 16) | ((bytes[pos + 3] as number) << 24)) >>> 0;
          pos += n;
          dispSize = n;
          opKind = K.Memory;
          memSize = (t >>> 16) & 0xff;
          memSegment = segment !== R.None ? segment : R.DS;
          break;
        }
        case T.STR_SRC:
          hasMemory = true;
          opKind = asize32 ? K.MemorySegESI : K.MemorySegSI;
          memSize = (t >>> 16) & 0xff;
          memBase = asize32 ? R.ESI : R.SI;
          memSegment = segment !== R.None ? segment : R.DS;
          haveStringSource = true;
          break;
        case T.STR_DST:
          hasMemory = true;
          opKind = asize32 ? K.MemoryESEDI : K.MemoryESDI;
          memSize = (t >>> 16) & 0xff;
          if (!haveStringSource) {
            memBase = asize32 ? R.EDI : R.DI;
            memSegment = R.ES;
          }
          break;
        case T.ONE:
          hasImmediate = true;
          opKind = K.Immediate8;
          immediate = 1;
          break;
        case T.XLAT:
          hasMemory = true;
          opKind = K.Memory;
          memSize = (t >>> 16) & 0xff;
          memBase = asize32 ? R.EBX : R.BX;
          memIndex = R.AL;
          memSegment = segment !== R.None ? segment : R.DS;
          break;
        case T.MASKMOV:
          hasMemory = true;
          opKind = asize32 ? K.MemorySegEDI : K.MemorySegDI;
          memSize = (t >>> 16) & 0xff;
          memBase = asize32 ? R.EDI : R.DI;
          memSegment = segment !== R.None ? segment : R.DS;
          break;
      }
    if (i === 0) {
      k0 = opKind;
      r0 = opReg;
    } else if (i === 1) {
      k1 = opKind;
      r1 = opReg;
    } else if (i === 2) {
      k2 = opKind;
      r2 = opReg;
    } else {
      k3 = opKind;
      r3 = opReg;
    }
  }

  out.ip = ip;
  out.length = pos - offset;
  out.bitness = bitness;
  out.code = code;
  out.mnemonic = mnemonicAndCount & 0xffff;
  out.attributes = attributes;
  out.operandSize = osize32 ? 32 : 16;
  out.addressSize = asize32 ? 32 : 16;
  out.prefixes = prefixes;
  out.segmentPrefix = segment;
  out.opCount = opCount;
  out.op0Kind = k0;
  out.op1Kind = k1;
  out.op2Kind = k2;
  out.op3Kind = k3;
  out.op0Register = r0;
  out.op1Register = r1;
  out.op2Register = r2;
  out.op3Register = r3;
  if (hasMemory) {
    out.memBase = memBase;
    out.memIndex = memIndex;
    out.memScale = memScale;
    out.memDisplacement = disp;
    out.memDisplSize = dispSize;
    out.memSegment = memSegment;
    out.memSize = memSize;
  }
  if (hasImmediate) out.immediate = immediate;
  if (hasImmediate2) out.immediate2 = immediate2;
  if (hasBranch) {
    out.branchTarget = branchTarget;
    out.farSelector = farSelector;
  }
  return S.OK as number;
}

/**
 * The decoder needed the bytes up to (not including) `want` but may only read up to min(end, limit):
 * past the 15-byte limit the instruction is too long, otherwise the input ended early.
 */
function truncated(
  out: Instruction,
  offset: number,
  want: number,
  end: number,
  limit: number,
  ip: number,
  bitness: Bitness,
): DecodeStatus {
  const tooLong = want > limit;
  fail(out, offset, (tooLong ? limit : end) - offset, ip, bitness);
  return tooLong ? (S.TOO_LONG as number) : (S.NEED_MORE as number);
}

function invalid(out: Instruction, offset: number, pos: number, ip: number, bitness: Bitness): DecodeStatus {
  fail(out, offset, pos - offset, ip, bitness);
  return S.INVALID as number;
}

function fail(out: Instruction, _offset: number, length: number, ip: number, bitness: Bitness): void {
  out.ip = ip;
  out.length = length;
  out.bitness = bitness;
  out.code = 0;
  out.mnemonic = 0;
  out.attributes = 0;
  out.opCount = 0;
  out.op0Kind = K.None as number;
  out.op1Kind = K.None as number;
  out.op2Kind = K.None as number;
  out.op3Kind = K.None as number;
  out.op0Register = R.None as number;
  out.op1Register = R.None as number;
  out.op2Register = R.None as number;
  out.op3Register = R.None as number;
  out.memBase = R.None as number;
  out.memIndex = R.None as number;
  out.memSize = 0;
  out.prefixes = 0;
  out.segmentPrefix = R.None as number;
}
