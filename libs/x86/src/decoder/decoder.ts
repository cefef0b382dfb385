import { CODE_ATTRIBUTES, CODE_MNEMONIC, CODE_OP_COUNT, CODE_OPERANDS } from '../generated/code-tables.js';
import {
  NODES,
  NODE_ADDRSIZE,
  NODE_CONSUME,
  NODE_ESCAPE,
  NODE_LEAF,
  NODE_MOD,
  NODE_MODRM,
  NODE_NOMOD,
  NODE_OPSIZE,
  NODE_PREFIX,
  NODE_PREFIX_BYTE,
  NODE_REG,
  NODE_RM,
  OPCODE_MAP,
  OT_FAR16,
  OT_FAR32,
  OT_FIXED,
  OT_IMM16,
  OT_IMM32,
  OT_IMM8,
  OT_IMM8S16,
  OT_IMM8S32,
  OT_IMM8_2ND,
  OT_MASKMOV,
  OT_MEM,
  OT_MOFFS,
  OT_ONE,
  OT_OPREG,
  OT_REG,
  OT_REL16,
  OT_REL32,
  OT_REL8_16,
  OT_REL8_32,
  OT_RM,
  OT_RMREG,
  OT_STR_DST,
  OT_STR_SRC,
  OT_XLAT,
} from '../generated/decoder-tables.js';
import { CodeAttr } from './attributes.js';
import { DecodeStatus, MAX_INSTRUCTION_LENGTH, type Bitness } from './decode-status.js';
import type { InstructionDecoder } from './decoder-api.js';
import type { Instruction } from './instruction.js';
import { OpKind } from './op-kind.js';
import { Prefix } from './prefixes.js';
import { Register } from './register.js';

// Hot-path constants as plain numbers (enum member loads are property reads).
const OK = DecodeStatus.Ok;
const INVALID = DecodeStatus.Invalid;
const NEED_MORE = DecodeStatus.NeedMoreBytes;
const TOO_LONG = DecodeStatus.TooLong;
const LOCKABLE = CodeAttr.LOCKABLE;
const P_LOCK = Prefix.Lock;
const P_REP = Prefix.Rep;
const P_REPNE = Prefix.Repne;
const P_OSIZE = Prefix.OperandSize;
const P_ASIZE = Prefix.AddressSize;
const P_SEG = Prefix.Segment;
const R_NONE = Register.None;
const R_AL = Register.AL;
const R_BX = Register.BX;
const R_SI = Register.SI;
const R_DI = Register.DI;
const R_BP = Register.BP;
const R_EAX = Register.EAX;
const R_EBX = Register.EBX;
const R_ESP = Register.ESP;
const R_EBP = Register.EBP;
const R_ESI = Register.ESI;
const R_EDI = Register.EDI;
const R_ES = Register.ES;
const R_SS = Register.SS;
const R_DS = Register.DS;
const K_REGISTER = OpKind.Register;
const K_MEMORY = OpKind.Memory;

/** Segment register selected by each override prefix byte (0 for other bytes). */
const SEGMENT_OF_PREFIX = new Uint8Array(256);
SEGMENT_OF_PREFIX[0x26] = Register.ES;
SEGMENT_OF_PREFIX[0x2e] = Register.CS;
SEGMENT_OF_PREFIX[0x36] = Register.SS;
SEGMENT_OF_PREFIX[0x3e] = Register.DS;
SEGMENT_OF_PREFIX[0x64] = Register.FS;
SEGMENT_OF_PREFIX[0x65] = Register.GS;

/** 16-bit addressing (SDM vol. 2 Table 2-1): base and index register by ModRM.rm. */
const BASE16 = Uint8Array.of(R_BX, R_BX, R_BP, R_BP, R_NONE, R_NONE, R_BP, R_BX);
const INDEX16 = Uint8Array.of(R_SI, R_DI, R_SI, R_DI, R_SI, R_DI, R_NONE, R_NONE);

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
  const limit = offset + MAX_INSTRUCTION_LENGTH;
  // Bytes at or past `stop` cannot be read; which status that gives is decided by `truncated`.
  const stop = end < limit ? end : limit;
  const is32 = bitness !== 16;
  let pos = offset;
  let prefixes = 0;
  let segment = R_NONE;
  let rep = 0; // last of F3 (2) / F2 (3): the mandatory-prefix index used by PREFIX nodes
  let b = 0;
  let entry = 0;

  // Legacy prefixes, any number and order; the last segment override and the last F2/F3 win.
  for (;;) {
    if (pos >= stop) return truncated(out, offset, pos + 1, end, limit, ip, bitness);
    b = bytes[pos++] as number;
    entry = OPCODE_MAP[b] as number;
    if ((entry & 15) !== NODE_PREFIX_BYTE) break;
    switch (b) {
      case 0x66:
        prefixes |= P_OSIZE;
        break;
      case 0x67:
        prefixes |= P_ASIZE;
        break;
      case 0xf0:
        prefixes |= P_LOCK;
        break;
      case 0xf2:
        rep = 3;
        break;
      case 0xf3:
        rep = 2;
        break;
      default:
        prefixes |= P_SEG;
        segment = SEGMENT_OF_PREFIX[b] as number;
    }
  }
  // 0F, 0F 38, 0F 3A escapes.
  while ((entry & 15) === NODE_ESCAPE) {
    if (pos >= stop) return truncated(out, offset, pos + 1, end, limit, ip, bitness);
    b = bytes[pos++] as number;
    entry = OPCODE_MAP[((entry >>> 7) << 8) | b] as number;
  }
  const opcode = b;
  let osize32 = is32 !== ((prefixes & P_OSIZE) !== 0);
  const asize32 = is32 !== ((prefixes & P_ASIZE) !== 0);

  let mod = 3;
  let reg = 0;
  let rm = 0;
  if ((entry & NODE_MODRM) !== 0) {
    if (pos >= stop) return truncated(out, offset, pos + 1, end, limit, ip, bitness);
    const modrm = bytes[pos++] as number;
    mod = (entry & NODE_NOMOD) !== 0 ? 3 : modrm >>> 6;
    reg = (modrm >>> 3) & 7;
    rm = modrm & 7;
  }

  // Walk the decision tree to a Code.
  let node = entry;
  let kind = node & 15;
  while (kind !== NODE_LEAF) {
    let index: number;
    switch (kind) {
      case NODE_PREFIX:
        index = rep !== 0 ? rep : (prefixes & P_OSIZE) !== 0 ? 1 : 0;
        break;
      case NODE_MOD:
        index = mod === 3 ? 1 : 0;
        break;
      case NODE_REG:
        index = reg;
        break;
      case NODE_RM:
        index = rm;
        break;
      case NODE_OPSIZE:
        index = osize32 ? 1 : 0;
        break;
      case NODE_ADDRSIZE:
        index = asize32 ? 1 : 0;
        break;
      default:
        return invalid(out, offset, pos, ip, bitness);
    }
    node = NODES[(node >>> 7) + index] as number;
    kind = node & 15;
  }
  const code = node >>> 7;
  if ((node & NODE_CONSUME) !== 0) {
    // The selecting prefix is part of the opcode: 66 no longer sets the operand size, F2/F3 are no REP.
    if (rep === 0) osize32 = is32;
    else rep = 0;
  }
  const attributes = CODE_ATTRIBUTES[code] as number;
  if ((prefixes & P_LOCK) !== 0 && ((attributes & LOCKABLE) === 0 || mod === 3)) {
    return invalid(out, offset, pos, ip, bitness);
  }
  if (rep === 2) prefixes |= P_REP;
  else if (rep === 3) prefixes |= P_REPNE;

  // ModRM memory operand (SDM vol. 2 §2.1.5).
  let memBase = R_NONE;
  let memIndex = R_NONE;
  let memScale = 1;
  let disp = 0;
  let dispSize = 0;
  let memSegment = R_NONE;
  if (mod !== 3) {
    if (!asize32) {
      if (mod === 0 && rm === 6) {
        dispSize = 2;
      } else {
        memBase = BASE16[rm] as number;
        memIndex = rm < 4 ? (INDEX16[rm] as number) : R_NONE;
        if (rm === 4 || rm === 5) memBase = INDEX16[rm] as number;
        dispSize = mod === 1 ? 1 : mod === 2 ? 2 : 0;
      }
      memSegment = memBase === R_BP ? R_SS : R_DS;
    } else {
      let base = rm;
      if (rm === 4) {
        if (pos >= stop) return truncated(out, offset, pos + 1, end, limit, ip, bitness);
        const sib = bytes[pos++] as number;
        const index = (sib >>> 3) & 7;
        base = sib & 7;
        if (index !== 4) {
          memIndex = R_EAX + index;
          memScale = 1 << (sib >>> 6);
        }
        if (base === 5 && mod === 0) base = -1;
      } else if (rm === 5 && mod === 0) {
        base = -1;
      }
      if (base >= 0) memBase = R_EAX + base;
      dispSize = mod === 1 ? 1 : mod === 2 || base < 0 ? 4 : 0;
      memSegment = memBase === R_ESP || memBase === R_EBP ? R_SS : R_DS;
    }
    if (dispSize !== 0) {
      if (pos + dispSize > stop) return truncated(out, offset, pos + dispSize, end, limit, ip, bitness);
      if (dispSize === 1) {
        disp = ((bytes[pos] as number) << 24) >> 24;
      } else if (dispSize === 2) {
        disp = (bytes[pos] as number) | ((bytes[pos + 1] as number) << 8);
        if (memBase !== R_NONE) disp = (disp << 16) >> 16;
      } else {
        disp =
          (bytes[pos] as number) |
          ((bytes[pos + 1] as number) << 8) |
          ((bytes[pos + 2] as number) << 16) |
          ((bytes[pos + 3] as number) << 24);
        if (memBase === R_NONE && memIndex === R_NONE) disp >>>= 0;
      }
      pos += dispSize;
    }
    if (segment !== R_NONE) memSegment = segment;
  }

  // Operands, in encoding order (immediates follow the ModRM bytes).
  let memSize = 0;
  let immediate = 0;
  let immediate2 = 0;
  let branchTarget = 0;
  let farSelector = 0;
  let haveStringSource = false;
  const opCount = CODE_OP_COUNT[code] as number;
  const base4 = code << 2;
  for (let i = 0; i < opCount; i++) {
    const t = CODE_OPERANDS[base4 + i] as number;
    let opKind = K_REGISTER;
    let opReg = R_NONE;
    switch (t & 0xff) {
      case OT_RM:
        if (mod === 3) {
          opReg = ((t >>> 8) & 0xff) + rm;
        } else {
          opKind = K_MEMORY;
          memSize = t >>> 16;
        }
        break;
      case OT_REG:
        opReg = ((t >>> 8) & 0xff) + reg;
        break;
      case OT_MEM:
        opKind = K_MEMORY;
        memSize = t >>> 16;
        break;
      case OT_RMREG:
        opReg = ((t >>> 8) & 0xff) + rm;
        break;
      case OT_OPREG:
        opReg = ((t >>> 8) & 0xff) + (opcode & 7);
        break;
      case OT_FIXED:
        opReg = (t >>> 8) & 0xff;
        break;
      case OT_IMM8:
      case OT_IMM8S16:
      case OT_IMM8S32:
      case OT_IMM8_2ND: {
        if (pos >= stop) return truncated(out, offset, pos + 1, end, limit, ip, bitness);
        const v = bytes[pos++] as number;
        const ot = t & 0xff;
        if (ot === OT_IMM8) {
          opKind = OpKind.Immediate8;
          immediate = v;
        } else if (ot === OT_IMM8_2ND) {
          opKind = OpKind.Immediate8Second;
          immediate2 = v;
        } else if (ot === OT_IMM8S16) {
          opKind = OpKind.Immediate8to16;
          immediate = ((v << 24) >> 24) & 0xffff;
        } else {
          opKind = OpKind.Immediate8to32;
          immediate = ((v << 24) >> 24) >>> 0;
        }
        break;
      }
      case OT_IMM16:
        if (pos + 2 > stop) return truncated(out, offset, pos + 2, end, limit, ip, bitness);
        opKind = OpKind.Immediate16;
        immediate = (bytes[pos] as number) | ((bytes[pos + 1] as number) << 8);
        pos += 2;
        break;
      case OT_IMM32:
        if (pos + 4 > stop) return truncated(out, offset, pos + 4, end, limit, ip, bitness);
        opKind = OpKind.Immediate32;
        immediate =
          ((bytes[pos] as number) |
            ((bytes[pos + 1] as number) << 8) |
            ((bytes[pos + 2] as number) << 16) |
            ((bytes[pos + 3] as number) << 24)) >>>
          0;
        pos += 4;
        break;
      case OT_REL8_16:
      case OT_REL8_32: {
        if (pos >= stop) return truncated(out, offset, pos + 1, end, limit, ip, bitness);
        const rel = ((bytes[pos++] as number) << 24) >> 24;
        const target = ip + (pos - offset) + rel;
        if ((t & 0xff) === OT_REL8_16) {
          opKind = OpKind.NearBranch16;
          branchTarget = target & 0xffff;
        } else {
          opKind = OpKind.NearBranch32;
          branchTarget = target >>> 0;
        }
        break;
      }
      case OT_REL16: {
        if (pos + 2 > stop) return truncated(out, offset, pos + 2, end, limit, ip, bitness);
        const rel = (((bytes[pos] as number) | ((bytes[pos + 1] as number) << 8)) << 16) >> 16;
        pos += 2;
        opKind = OpKind.NearBranch16;
        branchTarget = (ip + (pos - offset) + rel) & 0xffff;
        break;
      }
      case OT_REL32: {
        if (pos + 4 > stop) return truncated(out, offset, pos + 4, end, limit, ip, bitness);
        const rel =
          (bytes[pos] as number) |
          ((bytes[pos + 1] as number) << 8) |
          ((bytes[pos + 2] as number) << 16) |
          ((bytes[pos + 3] as number) << 24);
        pos += 4;
        opKind = OpKind.NearBranch32;
        branchTarget = (ip + (pos - offset) + rel) >>> 0;
        break;
      }
      case OT_FAR16:
        if (pos + 4 > stop) return truncated(out, offset, pos + 4, end, limit, ip, bitness);
        opKind = OpKind.FarBranch16;
        branchTarget = (bytes[pos] as number) | ((bytes[pos + 1] as number) << 8);
        farSelector = (bytes[pos + 2] as number) | ((bytes[pos + 3] as number) << 8);
        pos += 4;
        break;
      case OT_FAR32:
        if (pos + 6 > stop) return truncated(out, offset, pos + 6, end, limit, ip, bitness);
        opKind = OpKind.FarBranch32;
        branchTarget =
          ((bytes[pos] as number) |
            ((bytes[pos + 1] as number) << 8) |
            ((bytes[pos + 2] as number) << 16) |
            ((bytes[pos + 3] as number) << 24)) >>>
          0;
        farSelector = (bytes[pos + 4] as number) | ((bytes[pos + 5] as number) << 8);
        pos += 6;
        break;
      case OT_MOFFS: {
        const n = asize32 ? 4 : 2;
        if (pos + n > stop) return truncated(out, offset, pos + n, end, limit, ip, bitness);
        disp = (bytes[pos] as number) | ((bytes[pos + 1] as number) << 8);
        if (asize32) disp = (disp | ((bytes[pos + 2] as number) << 16) | ((bytes[pos + 3] as number) << 24)) >>> 0;
        pos += n;
        dispSize = n;
        opKind = K_MEMORY;
        memSize = t >>> 16;
        memSegment = segment !== R_NONE ? segment : R_DS;
        break;
      }
      case OT_STR_SRC:
        opKind = asize32 ? OpKind.MemorySegESI : OpKind.MemorySegSI;
        memSize = t >>> 16;
        memBase = asize32 ? R_ESI : R_SI;
        memSegment = segment !== R_NONE ? segment : R_DS;
        haveStringSource = true;
        break;
      case OT_STR_DST:
        opKind = asize32 ? OpKind.MemoryESEDI : OpKind.MemoryESDI;
        memSize = t >>> 16;
        if (!haveStringSource) {
          memBase = asize32 ? R_EDI : R_DI;
          memSegment = R_ES;
        }
        break;
      case OT_ONE:
        opKind = OpKind.Immediate8;
        immediate = 1;
        break;
      case OT_XLAT:
        opKind = K_MEMORY;
        memSize = t >>> 16;
        memBase = asize32 ? R_EBX : R_BX;
        memIndex = R_AL;
        memSegment = segment !== R_NONE ? segment : R_DS;
        break;
      case OT_MASKMOV:
        opKind = asize32 ? OpKind.MemorySegEDI : OpKind.MemorySegDI;
        memSize = t >>> 16;
        memBase = asize32 ? R_EDI : R_DI;
        memSegment = segment !== R_NONE ? segment : R_DS;
        break;
    }
    switch (i) {
      case 0:
        out.op0Kind = opKind;
        out.op0Register = opReg;
        break;
      case 1:
        out.op1Kind = opKind;
        out.op1Register = opReg;
        break;
      case 2:
        out.op2Kind = opKind;
        out.op2Register = opReg;
        break;
      default:
        out.op3Kind = opKind;
        out.op3Register = opReg;
    }
  }
  for (let i = opCount; i < 4; i++) {
    switch (i) {
      case 0:
        out.op0Kind = OpKind.None;
        out.op0Register = R_NONE;
        break;
      case 1:
        out.op1Kind = OpKind.None;
        out.op1Register = R_NONE;
        break;
      case 2:
        out.op2Kind = OpKind.None;
        out.op2Register = R_NONE;
        break;
      default:
        out.op3Kind = OpKind.None;
        out.op3Register = R_NONE;
    }
  }

  out.ip = ip;
  out.length = pos - offset;
  out.bitness = bitness;
  out.code = code;
  out.mnemonic = CODE_MNEMONIC[code] as number;
  out.attributes = attributes;
  out.operandSize = osize32 ? 32 : 16;
  out.addressSize = asize32 ? 32 : 16;
  out.prefixes = prefixes;
  out.segmentPrefix = segment;
  out.opCount = opCount;
  out.memBase = memBase;
  out.memIndex = memIndex;
  out.memScale = memScale;
  out.memDisplacement = disp;
  out.memDisplSize = dispSize;
  out.memSegment = memSegment;
  out.memSize = memSize;
  out.immediate = immediate;
  out.immediate2 = immediate2;
  out.branchTarget = branchTarget;
  out.farSelector = farSelector;
  return OK;
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
  return tooLong ? TOO_LONG : NEED_MORE;
}

function invalid(out: Instruction, offset: number, pos: number, ip: number, bitness: Bitness): DecodeStatus {
  fail(out, offset, pos - offset, ip, bitness);
  return INVALID;
}

function fail(out: Instruction, _offset: number, length: number, ip: number, bitness: Bitness): void {
  out.ip = ip;
  out.length = length;
  out.bitness = bitness;
  out.code = 0;
  out.mnemonic = 0;
  out.attributes = 0;
  out.opCount = 0;
  out.op0Kind = OpKind.None;
  out.op1Kind = OpKind.None;
  out.op2Kind = OpKind.None;
  out.op3Kind = OpKind.None;
  out.op0Register = R_NONE;
  out.op1Register = R_NONE;
  out.op2Register = R_NONE;
  out.op3Register = R_NONE;
  out.memBase = R_NONE;
  out.memIndex = R_NONE;
  out.memSize = 0;
  out.prefixes = 0;
  out.segmentPrefix = R_NONE;
}
