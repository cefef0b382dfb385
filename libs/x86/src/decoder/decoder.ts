import { CODE_INFO as CODE_INFO_WORDS } from '../generated/code-tables.js';
import * as tables from '../generated/decoder-tables.js';
import { CodeAttr } from './attributes.js';
import { DecodeStatus, MAX_INSTRUCTION_LENGTH, type Bitness } from './decode-status.js';
import type { InstructionDecoder } from './decoder-api.js';
import { Instruction } from './instruction.js';
import { OpKind } from './op-kind.js';
import { Prefix } from './prefixes.js';
import { PRIMING_SAMPLES, sampleBytes } from './priming.js';
import { Register } from './register.js';

// Int32 views: every word fits in 31 bits, and signed loads keep the JIT on small-integer arithmetic.
const OPCODE_MAP = new Int32Array(tables.OPCODE_MAP.buffer);
const NODES = new Int32Array(tables.NODES.buffer);
const CODE_INFO = new Int32Array(CODE_INFO_WORDS.buffer);

// The hot path compares against these as literals (same-file const enums are inlined); the values are
// checked against the generated tables and the public enums when the module loads.

/** Table word kinds and flags (decoder-tables.ts NODE_*). */
const enum N {
  INVALID = 0,
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
    [N.INVALID, t.NODE_INVALID],
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

/*
 * Memory operand layouts, precomputed so the hot path loads one word instead of branching on mod, rm
 * and SIB fields: bits 0-7 base register, 8-15 index register, 16-20 default segment, 21 set for an
 * absolute 16-bit displacement (unsigned; the record's low 32 bits of an absolute 32-bit one are the
 * same either way, and Instruction.memDisplacement reads them as unsigned), 24-26 displacement size in
 * bytes, 27 a SIB byte follows, 28-31 scale. Register-form ModRM bytes (mod 3) have the layout 0.
 */
const enum L {
  INDEX = 8,
  SEGMENT = 16,
  UNSIGNED = 21,
  DISP = 24,
  SIB = 1 << 27,
  SCALE = 28,
}

function layout(base: number, index: number, scale: number, dispSize: number): number {
  const segment = base === R.BP || base === R.ESP || base === R.EBP ? R.SS : R.DS;
  const unsigned = base === R.None && index === R.None && dispSize === 2 ? 1 : 0;
  return (
    base |
    (index << L.INDEX) |
    (segment << L.SEGMENT) |
    (unsigned << L.UNSIGNED) |
    (dispSize << L.DISP) |
    (scale << L.SCALE)
  );
}

/** 16-bit addressing (SDM vol. 2 Table 2-1) by ModRM byte (mod 0-2). */
const ADDRESS16 = new Int32Array(256);
/** 32-bit addressing without SIB (SDM vol. 2 Table 2-2) by ModRM byte (mod 0-2); rm 4 only flags the SIB. */
const ADDRESS32 = new Int32Array(256);
/** 32-bit addressing with SIB (SDM vol. 2 Table 2-3) by mod << 8 | SIB byte. */
const ADDRESS_SIB = new Int32Array(3 << 8);
{
  const base16 = [R.BX, R.BX, R.BP, R.BP, R.SI, R.DI, R.BP, R.BX];
  const index16 = [R.SI, R.DI, R.SI, R.DI, R.None, R.None, R.None, R.None];
  for (let modrm = 0; modrm < 0xc0; modrm++) {
    const mod = modrm >>> 6;
    const rm = modrm & 7;
    const dispSize = mod === 1 ? 1 : mod === 2 ? 4 : 0;
    ADDRESS16[modrm] =
      mod === 0 && rm === 6
        ? layout(R.None, R.None, 1, 2)
        : layout(base16[rm] as number, index16[rm] as number, 1, mod === 1 ? 1 : mod === 2 ? 2 : 0);
    if (rm === 4) ADDRESS32[modrm] = L.SIB;
    else if (mod === 0 && rm === 5) ADDRESS32[modrm] = layout(R.None, R.None, 1, 4);
    else ADDRESS32[modrm] = layout(R.EAX + rm, R.None, 1, dispSize);
  }
  for (let mod = 0; mod < 3; mod++) {
    for (let sib = 0; sib < 256; sib++) {
      const index = (sib >>> 3) & 7;
      const base = sib & 7;
      const noBase = base === 5 && mod === 0;
      ADDRESS_SIB[(mod << 8) | sib] = layout(
        noBase ? R.None : R.EAX + base,
        index === 4 ? R.None : R.EAX + index,
        index === 4 ? 1 : 1 << (sib >>> 6),
        mod === 1 ? 1 : mod === 2 || noBase ? 4 : 0,
      );
    }
  }
}

/**
 * Table-driven IA-32 decoder for 16- and 32-bit code. One instance can be shared; it keeps no state
 * between calls.
 */
export class Decoder implements InstructionDecoder {
  // The function itself rather than a wrapper: the decoder is too large to inline, so a wrapper costs a call.
  readonly decode: InstructionDecoder['decode'] = decodeInstruction;
}

/** Per-Code plan of the fast path, built from CODE_INFO when the module loads (see `planFor`). */
const enum Plan {
  /** Bit 0 is set for every Code the fast path decodes. */
  FAST = 0,
  /** Bits 1-5: template kind (T) of the immediate or branch operand, 0 when there is none. */
  IMM_KIND = 1,
  /** Bits 8-10: bytes that operand occupies. */
  IMM_BYTES = 8,
  /** Bit 11: operands 2 and 3 exist (most Codes have at most two). */
  MORE_OPERANDS = 11,
  /** Bits 16-23: memory size of the ModRM memory operand. */
  MEM_SIZE = 16,
}

/** Bytes of the immediate and branch operands the fast path handles, by template kind (-1: not handled). */
const FAST_IMMEDIATE_BYTES = new Int8Array(32).fill(-1);
FAST_IMMEDIATE_BYTES[T.IMM8] = 1;
FAST_IMMEDIATE_BYTES[T.IMM16] = 2;
FAST_IMMEDIATE_BYTES[T.IMM32] = 4;
FAST_IMMEDIATE_BYTES[T.IMM8S16] = 1;
FAST_IMMEDIATE_BYTES[T.IMM8S32] = 1;
FAST_IMMEDIATE_BYTES[T.REL8_16] = 1;
FAST_IMMEDIATE_BYTES[T.REL8_32] = 1;
FAST_IMMEDIATE_BYTES[T.REL16] = 2;
FAST_IMMEDIATE_BYTES[T.REL32] = 4;
FAST_IMMEDIATE_BYTES[T.ONE] = 0;

/** Operand kind the fast path reports for each immediate or branch template kind. */
const FAST_IMMEDIATE_KIND = new Uint8Array(32);
FAST_IMMEDIATE_KIND[T.IMM8] = K.Immediate8;
FAST_IMMEDIATE_KIND[T.IMM16] = K.Immediate16;
FAST_IMMEDIATE_KIND[T.IMM32] = K.Immediate32;
FAST_IMMEDIATE_KIND[T.IMM8S16] = K.Immediate8to16;
FAST_IMMEDIATE_KIND[T.IMM8S32] = K.Immediate8to32;
FAST_IMMEDIATE_KIND[T.REL8_16] = K.NearBranch16;
FAST_IMMEDIATE_KIND[T.REL8_32] = K.NearBranch32;
FAST_IMMEDIATE_KIND[T.REL16] = K.NearBranch16;
FAST_IMMEDIATE_KIND[T.REL32] = K.NearBranch32;
FAST_IMMEDIATE_KIND[T.ONE] = K.Immediate8;

const CODE_COUNT = CODE_INFO.length >>> 3;
/** Plan word per Code; 0 sends the Code to the general decoder. */
const PLAN = new Int32Array(CODE_COUNT);
/**
 * Operand words per Code: 4 for a register ModRM (or none), then 4 for a memory ModRM. A word is the
 * operand kind | base register << 8 | shift << 16: the register is base + ((fields >>> shift) & 15) with
 * `fields` as in the general decoder, whose bits 12-15 are zero (fixed registers, non-register operands).
 */
const OPERANDS = new Int32Array(CODE_COUNT << 3);
const NO_FIELD = 12;

/**
 * The fast path takes Codes whose operands are ModRM/opcode registers or memory plus at most one
 * immediate or near branch; string, moffs, far, XLAT and MASKMOV operands and ENTER stay general.
 */
function planFor(code: number): void {
  const info = code << 3;
  const opCount = (CODE_INFO[info + 1] as number) >>> 16;
  let plan = 1 << Plan.FAST;
  let immediates = 0;
  for (let i = 0; i < 4; i++) {
    const t = i < opCount ? (CODE_INFO[info + 2 + i] as number) : 0;
    const kind = t & 0xff;
    let asRegister = K.None | (NO_FIELD << 16);
    let asMemory = asRegister;
    if (i < opCount && kind <= T.FIXED) {
      asRegister = K.Register | (t & 0xff00) | (((t >>> 24) & 15) << 16);
      if ((t & MEMORY_CAPABLE) !== 0) {
        asMemory = K.Memory | (NO_FIELD << 16);
        if (((plan >>> Plan.MEM_SIZE) & 0xff) !== 0) return; // the general decoder reports the last one
        plan |= ((t >>> 16) & 0xff) << Plan.MEM_SIZE;
      } else {
        asMemory = asRegister;
      }
    } else if (i < opCount) {
      const bytes = FAST_IMMEDIATE_BYTES[kind] as number;
      if (bytes < 0 || ++immediates > 1) return;
      plan |= (kind << Plan.IMM_KIND) | (bytes << Plan.IMM_BYTES);
      asRegister = asMemory = (FAST_IMMEDIATE_KIND[kind] as number) | (NO_FIELD << 16);
    }
    OPERANDS[info + i] = asRegister;
    OPERANDS[info + 4 + i] = asMemory;
  }
  PLAN[code] = plan | (opCount > 2 ? 1 << Plan.MORE_OPERANDS : 0);
}
for (let code = 1; code < CODE_COUNT; code++) planFor(code);

/**
 * Everything the fast path reads, in one array so that TurboFan checks one typed array per call, at
 * fixed offsets (O) that the code has as literals: the opcode entries without prefixes (0) and after a
 * lone 66 (E.AFTER_66), a word per prefix byte, the three memory layout tables, immediate decoding by
 * template kind, a 16-word record per Code, then CODE_BY_MODRM (whose position the entries hold).
 */
const enum O {
  /** Per byte: 0, or for a prefix the prefixed fast path takes, its prefix bits | 66 table offset | segment << 16. */
  PREFIX = 2048,
  ADDRESS16 = 2304,
  /** 256 after ADDRESS16: the code adds (width & 32) << 3. */
  ADDRESS32 = 2560,
  ADDRESS_SIB = 2816,
  /** Two words per template kind: shift | keep << 5 | relative << 6 | one << 7, then the result mask. */
  IMMEDIATE = 3584,
  /** Per Code: plan, attributes, mnemonic | operand count << 16, unused, 4 register-form and 4 memory-form operand words. */
  RECORDS = 3648,
}
/** Bytes the fast path may load from an instruction's first byte on (a literal in the code, unlike a module constant). */
const enum W {
  FAST_WINDOW = 12,
}
/** Where CODE_BY_MODRM starts in FAST. */
const CODE_BY_MODRM_AT = O.RECORDS + (CODE_COUNT << 4);

/*
 * Fast-path opcode table: for each code size (16-bit at 0, 32-bit at 512) and map (one-byte, 0F) the
 * decision tree as it resolves without prefixes (at 0) and after a lone 66 prefix (at 1024), so the
 * fast path finds the Code with one load:
 * CODE_BY_MODRM[(entry >>> E.BASE) + (ModRM & (BY_MODRM bit set ? 0xff : 0))]. The ModRM byte is
 * what the general decoder uses: 0xc0 (mod 3, reg 0, rm 0) without one, mod forced to 3 for NOMOD.
 * Every usable entry is nonzero; 0 sends the byte to the general decoder (prefixes, 0F 38/0F 3A,
 * invalid opcodes).
 */
const enum E {
  /** Bits 0-7: mask for the byte after the opcode, 0xff with a ModRM byte, 0 without. */
  KEEP = 0xff,
  /** Bits 8-9 set: mod reads as 3 (no ModRM byte, or NOMOD); `(entry >>> 2) & 0xc0` is the forced bits. */
  FORCE_MOD3 = 0x300,
  /** Bit 10: a ModRM byte follows. */
  MODRM = 1 << 10,
  /** The byte is 0F: the next byte selects in map 1. */
  ESCAPE = 1 << 11,
  /** Bit 12: the Code depends on the ModRM byte: 256 slots at BASE. */
  BY_MODRM = 12,
  /** Bits 13-30: index in FAST of the first slot (in CODE_BY_MODRM). */
  BASE = 13,
  /** Bit 31, after 66 only: the operand size is not the code size's (the opcode does not take the 66). */
  OSIZE_FLIP = 1 << 31,
  /** The tables used after a lone 66 prefix follow the ones without prefixes. */
  AFTER_66 = 1024,
}

const FAST_ENTRY = new Int32Array(2048);
let codeByModrm: number[] = [];
{
  /**
   * Walks `entry`'s tree as the general decoder does without prefixes (o66 0) or after a lone 66 (o66 1);
   * returns the leaf word, 0 when the walk ends elsewhere than a leaf.
   */
  const resolve = (entry: number, modrm: number, size: number, o66: number): number => {
    let node = entry;
    for (;;) {
      const kind = node & 15;
      if (kind === N.LEAF) return node;
      let index: number;
      if (kind === N.PREFIX) index = o66;
      else if (kind === N.MOD) index = modrm >>> 6 === 3 ? 1 : 0;
      else if (kind === N.REG) index = (modrm >>> 3) & 7;
      else if (kind === N.RM) index = modrm & 7;
      else if (kind === N.OPSIZE) index = size ^ o66;
      else if (kind === N.ADDRSIZE) index = size;
      else return 0;
      node = NODES[(node >>> Shift.PAYLOAD) + index] as number;
    }
  };
  const slots: number[] = [];
  for (let o66 = 0; o66 < 2; o66++) {
    for (let size = 0; size < 2; size++) {
      for (let map = 0; map < 2; map++) {
        for (let byte = 0; byte < 256; byte++) {
          const entry = OPCODE_MAP[(map << 8) | byte] as number;
          const kind = entry & 15;
          let fast = 0;
          if (kind === N.ESCAPE) {
            if (map === 0 && entry >>> Shift.PAYLOAD === 1) fast = E.ESCAPE;
          } else if (kind >= N.LEAF && kind <= N.ADDRSIZE) {
            const modrmKind = (entry & F.MODRM) === 0 ? 0 : (entry & F.NOMOD) !== 0 ? 2 : 1;
            const leaves: number[] = [];
            for (let raw = 0; raw < 256; raw++) {
              const modrm = modrmKind === 0 ? 0xc0 : modrmKind === 2 ? raw | 0xc0 : raw;
              leaves.push(resolve(entry, modrm, size, o66));
            }
            const codes = leaves.map((leaf) => leaf >>> Shift.PAYLOAD);
            const byModrm = codes.some((code) => code !== codes[0]);
            // After 66 the operand size depends on whether the leaf takes the prefix as part of the opcode;
            // bytes whose leaves disagree on that stay general. Leaves of Codes the fast path leaves to the
            // general decoder (invalid forms, such as the memory form of PMOVMSKB) do not count.
            const consumed = leaves
              .filter((leaf) => (PLAN[leaf >>> Shift.PAYLOAD] as number) !== 0)
              .map((leaf) => o66 === 1 && (leaf & F.CONSUME) !== 0);
            if (consumed.some((c) => c !== consumed[0])) fast = 0;
            else {
              fast =
                (modrmKind === 0 ? 0 : E.KEEP | E.MODRM) |
                (modrmKind === 1 ? 0 : E.FORCE_MOD3) |
                ((byModrm ? 1 : 0) << E.BY_MODRM) |
                (o66 === 1 && consumed[0] === false ? E.OSIZE_FLIP : 0) |
                ((CODE_BY_MODRM_AT + slots.length) << E.BASE);
              slots.push(...(byModrm ? codes : [codes[0] as number]));
            }
          }
          FAST_ENTRY[o66 * E.AFTER_66 + ((size << 9) | (map << 8) | byte)] = fast;
        }
      }
    }
  }
  codeByModrm = slots;
}
const CODE_BY_MODRM = Int32Array.from(codeByModrm);
if (CODE_BY_MODRM_AT + CODE_BY_MODRM.length >= 1 << (31 - E.BASE))
  throw new Error('libs/x86 fast-path table too large for its index bits');

const FAST = new Int32Array(CODE_BY_MODRM_AT + CODE_BY_MODRM.length);
{
  FAST.set(FAST_ENTRY, 0);
  FAST.set(ADDRESS16, O.ADDRESS16);
  FAST.set(ADDRESS32, O.ADDRESS32);
  FAST.set(ADDRESS_SIB, O.ADDRESS_SIB);
  // kind, bytes, relative to the next instruction, result width in bits
  const rows: [number, number, boolean, number][] = [
    [T.IMM8, 1, false, 8],
    [T.IMM16, 2, false, 16],
    [T.IMM32, 4, false, 32],
    [T.IMM8S16, 1, false, 16],
    [T.IMM8S32, 1, false, 32],
    [T.REL8_16, 1, true, 16],
    [T.REL8_32, 1, true, 32],
    [T.REL16, 2, true, 16],
    [T.REL32, 4, true, 32],
  ];
  for (const [kind, bytes, relative, width] of rows) {
    FAST[O.IMMEDIATE + 2 * kind] = (32 - 8 * bytes) | (1 << 5) | (relative ? 1 << 6 : 0);
    FAST[O.IMMEDIATE + 2 * kind + 1] = width === 32 ? -1 : (1 << width) - 1;
  }
  FAST[O.IMMEDIATE + 2 * T.ONE] = 1 << 7;
  FAST[O.IMMEDIATE + 2 * T.ONE + 1] = -1;
  for (let code = 0; code < CODE_COUNT; code++) {
    const record = O.RECORDS + (code << 4);
    FAST[record] = PLAN[code] as number;
    FAST[record + 1] = CODE_INFO[code << 3] as number;
    FAST[record + 2] = CODE_INFO[(code << 3) + 1] as number;
    for (let i = 0; i < 8; i++) FAST[record + 4 + i] = OPERANDS[(code << 3) + i] as number;
  }
  FAST.set(CODE_BY_MODRM, CODE_BY_MODRM_AT);
  FAST[O.PREFIX + 0x66] = P.OSIZE | E.AFTER_66;
  for (const byte of [0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65]) {
    FAST[O.PREFIX + byte] = P.SEG | ((SEGMENT_OF_PREFIX[byte] as number) << 16);
  }
}

/**
 * Decodes the instruction at `bytes[offset]` into `out` without reading at or past `end` (clamped to
 * the array) and returns its status. See {@link InstructionDecoder}.
 *
 * Most real code is instructions without prefixes whose operands are registers, one ModRM memory
 * operand and at most one immediate; this function decodes those with per-Code plans and straight-line
 * stores, and hands everything else (before writing anything) to `decodeGeneral`.
 */
export function decodeInstruction(
  bytes: Uint8Array,
  offset: number,
  end: number,
  ip: number,
  bitness: Bitness,
  out: Instruction,
): DecodeStatus {
  // A local copy: TurboFan reloads and rechecks a module binding after every store to `out`.
  const fast = FAST;
  // Up to 12 bytes from `offset` are loaded whether or not the instruction has them (opcode and 0F,
  // ModRM, SIB, 4-byte windows for displacement and immediate) and masked off when it does not, so the
  // fast path wants them before `end`; instructions closer to it go general. No fast-path instruction
  // is longer than 12 bytes, below the 15-byte limit.
  const size = bytes.length;
  if (!(offset >= 0 && offset + W.FAST_WINDOW <= (end < size ? end : size))) {
    return decodeGeneral(bytes, offset, end, ip, bitness, out);
  }
  // The code size as one number that table offsets and record fields derive from without branches
  // (anything but 16 decodes as 32-bit, as in the general decoder). Index arithmetic ends in `| 0` so
  // that TurboFan does it in int32 without overflow checks.
  const width = bitness === 16 ? 16 : 32;
  const table = (width & 32) << 4;
  let pos = offset;
  let entry = fast[table | (bytes[pos] as number)] as number;
  pos = (pos + 1) | 0;
  if ((entry & E.ESCAPE) !== 0) {
    entry = fast[table | 256 | (bytes[pos] as number)] as number;
    pos = (pos + 1) | 0;
  }
  // Prefix bytes have entry 0 and no ESCAPE bit.
  if (entry === 0) return decodePrefixed(bytes, offset, end, ip, bitness, out);
  const opcode = bytes[(pos - 1) | 0] as number;
  const modrm = ((bytes[pos] as number) & entry & E.KEEP) | ((entry >>> 2) & 0xc0);
  const modrmByte = (bytes[pos] as number) & -((entry >>> 10) & 1);
  pos = (pos + ((entry >>> 10) & 1)) | 0;
  const code = fast[((entry >>> E.BASE) + (modrm & (-((entry >>> E.BY_MODRM) & 1) & 0xff))) | 0] as number;
  const record = (O.RECORDS + (code << 4)) | 0;
  const plan = fast[record] as number;
  if (plan === 0) return decodeGeneral(bytes, offset, end, ip, bitness, out);
  const mod = modrm >>> 6;

  let address = fast[(O.ADDRESS16 + ((width & 32) << 3) + modrm) | 0] as number;
  if ((address & L.SIB) !== 0) {
    address = fast[(O.ADDRESS_SIB + ((mod << 8) | (bytes[pos] as number))) | 0] as number;
    pos = (pos + 1) | 0;
  }
  const dispSize = (address >>> L.DISP) & 7;
  const immKind = (plan >>> Plan.IMM_KIND) & 31;
  const length = (pos + dispSize + ((plan >>> Plan.IMM_BYTES) & 7) - offset) | 0;

  // Loads before stores where it is cheap, for the same reason as the local table copy.
  const attributes = fast[(record + 1) | 0] as number;
  const mnemonicAndCount = fast[(record + 2) | 0] as number;
  const operands = (record + 8 - ((mod + 1) & 4)) | 0; // the register forms for mod 3
  const w0 = fast[operands] as number;
  const w1 = fast[(operands + 1) | 0] as number;
  const fields = (modrm & 7) | (((modrm >>> 3) & 7) << 4) | ((opcode & 7) << 8);

  out.rawIp = ip | 0;
  out.length = length;
  out.bitness = bitness;
  out.code = code;
  out.opcodeModrm = (opcode << 8) | modrmByte;
  out.mnemonic = mnemonicAndCount & 0xffff;
  out.attributes = attributes;
  out.operandSize = width;
  out.addressSize = width;
  out.prefixes = 0;
  out.segmentPrefix = R.None as number;
  out.opCount = mnemonicAndCount >>> 16;
  out.op0Kind = w0 & 0xff;
  out.op1Kind = w1 & 0xff;
  out.op0Register = (((w0 >>> 8) & 0xff) + ((fields >>> (w0 >>> 16)) & 15)) | 0;
  out.op1Register = (((w1 >>> 8) & 0xff) + ((fields >>> (w1 >>> 16)) & 15)) | 0;
  if ((plan & (1 << Plan.MORE_OPERANDS)) === 0) {
    out.op2Kind = K.None as number;
    out.op3Kind = K.None as number;
    out.op2Register = R.None as number;
    out.op3Register = R.None as number;
  } else {
    const w2 = fast[(operands + 2) | 0] as number;
    const w3 = fast[(operands + 3) | 0] as number;
    out.op2Kind = w2 & 0xff;
    out.op3Kind = w3 & 0xff;
    out.op2Register = (((w2 >>> 8) & 0xff) + ((fields >>> (w2 >>> 16)) & 15)) | 0;
    out.op3Register = (((w3 >>> 8) & 0xff) + ((fields >>> (w3 >>> 16)) & 15)) | 0;
  }
  if (mod !== 3) {
    // The displacement without branching on its size: load 4 bytes, keep what is encoded.
    const dispBytes =
      (bytes[pos] as number) |
      ((bytes[(pos + 1) | 0] as number) << 8) |
      ((bytes[(pos + 2) | 0] as number) << 16) |
      ((bytes[(pos + 3) | 0] as number) << 24);
    const dispShift = 32 - 8 * dispSize;
    const dispSigned = ((dispBytes << dispShift) >> dispShift) & (-dispSize >> 31); // 0 without one
    const negative = dispSigned >>> 31;
    out.memBase = address & 0xff;
    out.memIndex = (address >>> L.INDEX) & 0xff;
    out.memScale = address >>> L.SCALE;
    out.rawDisplacement = dispSigned + (negative & (address >>> L.UNSIGNED)) * 0x10000;
    out.memDisplSize = dispSize;
    out.memSegment = (address >>> L.SEGMENT) & 31;
    out.memSize = (plan >>> Plan.MEM_SIZE) & 0xff;
  }
  if (immKind !== 0) {
    // The immediate or branch target without branching on its kind.
    const i = (pos + dispSize) | 0;
    const immBytes =
      (bytes[i] as number) |
      ((bytes[(i + 1) | 0] as number) << 8) |
      ((bytes[(i + 2) | 0] as number) << 16) |
      ((bytes[(i + 3) | 0] as number) << 24);
    const immDecode = fast[(O.IMMEDIATE + 2 * immKind) | 0] as number;
    const immShift = immDecode & 31;
    const relative = -((immDecode >>> 6) & 1);
    // Masked to the operand's width, as an int32 (the record's raw form).
    const immediate =
      ((((immBytes & -((immDecode >>> 5) & 1)) << immShift) >> immShift) +
        ((ip + length) & relative) +
        ((immDecode >>> 7) & 1)) &
      (fast[(O.IMMEDIATE + 2 * immKind + 1) | 0] as number);
    if (relative !== 0) {
      out.rawBranchTarget = immediate;
      out.farSelector = 0;
    } else {
      out.rawImmediate = immediate;
    }
  }
  return S.OK as number;
}

/**
 * The fast path for one lone 66 or segment override prefix (most prefixed code: 66 NOPs, SSE opcodes that take
 * 66, gs: loads), called by `decodeInstruction` when the first byte is no opcode it decodes. Kept apart so
 * that the unprefixed path stays as short as it was; same results as `decodeGeneral`, which it calls for
 * anything else.
 */
function decodePrefixed(
  bytes: Uint8Array,
  offset: number,
  end: number,
  ip: number,
  bitness: Bitness,
  out: Instruction,
): DecodeStatus {
  const fast = FAST;
  // The caller checked the window from `offset`; the prefix makes the longest instruction one byte longer.
  const size = bytes.length;
  if (offset + W.FAST_WINDOW + 1 > (end < size ? end : size))
    return decodeGeneral(bytes, offset, end, ip, bitness, out);
  const prefix = fast[O.PREFIX + (bytes[offset] as number)] as number;
  if (prefix === 0) return decodeGeneral(bytes, offset, end, ip, bitness, out);
  const width = bitness === 16 ? 16 : 32;
  const table = ((width & 32) << 4) | (prefix & E.AFTER_66);
  let pos = offset + 1;
  let entry = fast[table | (bytes[pos] as number)] as number;
  pos = (pos + 1) | 0;
  if ((entry & E.ESCAPE) !== 0) {
    entry = fast[table | 256 | (bytes[pos] as number)] as number;
    pos = (pos + 1) | 0;
  }
  // 0 also for a second prefix.
  if (entry === 0) return decodeGeneral(bytes, offset, end, ip, bitness, out);
  const opcode = bytes[(pos - 1) | 0] as number;
  const modrm = ((bytes[pos] as number) & entry & E.KEEP) | ((entry >>> 2) & 0xc0);
  const modrmByte = (bytes[pos] as number) & -((entry >>> 10) & 1);
  pos = (pos + ((entry >>> 10) & 1)) | 0;
  const code = fast[(((entry >>> E.BASE) & 0x3ffff) + (modrm & (-((entry >>> E.BY_MODRM) & 1) & 0xff))) | 0] as number;
  const record = (O.RECORDS + (code << 4)) | 0;
  const plan = fast[record] as number;
  if (plan === 0) return decodeGeneral(bytes, offset, end, ip, bitness, out);
  const mod = modrm >>> 6;

  let address = fast[(O.ADDRESS16 + ((width & 32) << 3) + modrm) | 0] as number;
  if ((address & L.SIB) !== 0) {
    address = fast[(O.ADDRESS_SIB + ((mod << 8) | (bytes[pos] as number))) | 0] as number;
    pos = (pos + 1) | 0;
  }
  const dispSize = (address >>> L.DISP) & 7;
  const immKind = (plan >>> Plan.IMM_KIND) & 31;
  const length = (pos + dispSize + ((plan >>> Plan.IMM_BYTES) & 7) - offset) | 0;

  // Loads before stores where it is cheap, for the same reason as the local table copy.
  const attributes = fast[(record + 1) | 0] as number;
  const mnemonicAndCount = fast[(record + 2) | 0] as number;
  const operands = (record + 8 - ((mod + 1) & 4)) | 0; // the register forms for mod 3
  const w0 = fast[operands] as number;
  const w1 = fast[(operands + 1) | 0] as number;
  const fields = (modrm & 7) | (((modrm >>> 3) & 7) << 4) | ((opcode & 7) << 8);

  out.rawIp = ip | 0;
  out.length = length;
  out.bitness = bitness;
  out.code = code;
  out.opcodeModrm = (opcode << 8) | modrmByte;
  out.mnemonic = mnemonicAndCount & 0xffff;
  out.attributes = attributes;
  out.operandSize = width ^ (48 & (entry >> 31));
  out.addressSize = width;
  out.prefixes = prefix & 0xff;
  out.segmentPrefix = prefix >>> 16;
  out.opCount = mnemonicAndCount >>> 16;
  out.op0Kind = w0 & 0xff;
  out.op1Kind = w1 & 0xff;
  out.op0Register = (((w0 >>> 8) & 0xff) + ((fields >>> (w0 >>> 16)) & 15)) | 0;
  out.op1Register = (((w1 >>> 8) & 0xff) + ((fields >>> (w1 >>> 16)) & 15)) | 0;
  if ((plan & (1 << Plan.MORE_OPERANDS)) === 0) {
    out.op2Kind = K.None as number;
    out.op3Kind = K.None as number;
    out.op2Register = R.None as number;
    out.op3Register = R.None as number;
  } else {
    const w2 = fast[(operands + 2) | 0] as number;
    const w3 = fast[(operands + 3) | 0] as number;
    out.op2Kind = w2 & 0xff;
    out.op3Kind = w3 & 0xff;
    out.op2Register = (((w2 >>> 8) & 0xff) + ((fields >>> (w2 >>> 16)) & 15)) | 0;
    out.op3Register = (((w3 >>> 8) & 0xff) + ((fields >>> (w3 >>> 16)) & 15)) | 0;
  }
  if (mod !== 3) {
    // The displacement without branching on its size: load 4 bytes, keep what is encoded.
    const dispBytes =
      (bytes[pos] as number) |
      ((bytes[(pos + 1) | 0] as number) << 8) |
      ((bytes[(pos + 2) | 0] as number) << 16) |
      ((bytes[(pos + 3) | 0] as number) << 24);
    const dispShift = 32 - 8 * dispSize;
    const dispSigned = ((dispBytes << dispShift) >> dispShift) & (-dispSize >> 31); // 0 without one
    const negative = dispSigned >>> 31;
    out.memBase = address & 0xff;
    out.memIndex = (address >>> L.INDEX) & 0xff;
    out.memScale = address >>> L.SCALE;
    out.rawDisplacement = dispSigned + (negative & (address >>> L.UNSIGNED)) * 0x10000;
    out.memDisplSize = dispSize;
    out.memSegment = prefix >>> 16 !== 0 ? prefix >>> 16 : (address >>> L.SEGMENT) & 31;
    out.memSize = (plan >>> Plan.MEM_SIZE) & 0xff;
  }
  if (immKind !== 0) {
    // The immediate or branch target without branching on its kind.
    const i = (pos + dispSize) | 0;
    const immBytes =
      (bytes[i] as number) |
      ((bytes[(i + 1) | 0] as number) << 8) |
      ((bytes[(i + 2) | 0] as number) << 16) |
      ((bytes[(i + 3) | 0] as number) << 24);
    const immDecode = fast[(O.IMMEDIATE + 2 * immKind) | 0] as number;
    const immShift = immDecode & 31;
    const relative = -((immDecode >>> 6) & 1);
    // Masked to the operand's width, as an int32 (the record's raw form).
    const immediate =
      ((((immBytes & -((immDecode >>> 5) & 1)) << immShift) >> immShift) +
        ((ip + length) & relative) +
        ((immDecode >>> 7) & 1)) &
      (fast[(O.IMMEDIATE + 2 * immKind + 1) | 0] as number);
    if (relative !== 0) {
      out.rawBranchTarget = immediate;
      out.farSelector = 0;
    } else {
      out.rawImmediate = immediate;
    }
  }
  return S.OK as number;
}

/**
 * Decodes any instruction: prefixes, every operand kind, truncation and invalid encodings. Same contract
 * as {@link decodeInstruction}, which gives the same results faster; exported for the test that holds
 * the two to that.
 */
export function decodeGeneral(
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
  let modrm = 0;
  if ((entry & F.MODRM) !== 0) {
    if (pos >= stop) return truncated(out, offset, pos + 1, end, limit, ip, bitness);
    modrm = bytes[pos++] as number;
    mod = (entry & F.NOMOD) !== 0 ? 3 : modrm >>> 6;
    reg = (modrm >>> 3) & 7;
    rm = modrm & 7;
  }

  // Walk the decision tree to a Code. Each inner kind (PREFIX .. ADDRSIZE) picks its child with the
  // field at bit 4 * kind of `select`, so the walk needs no switch.
  const select =
    ((rep !== 0 ? rep : (prefixes & P.OSIZE) !== 0 ? 1 : 0) << (4 * N.PREFIX)) |
    ((mod === 3 ? 1 : 0) << (4 * N.MOD)) |
    (reg << (4 * N.REG)) |
    (rm << (4 * N.RM)) |
    ((osize32 ? 1 : 0) << (4 * N.OPSIZE)) |
    ((asize32 ? 1 : 0) << (4 * N.ADDRSIZE));
  let node = entry;
  let kind = node & 15;
  while (kind !== N.LEAF) {
    if (kind < N.PREFIX || kind > N.ADDRSIZE) return invalid(out, offset, pos, ip, bitness);
    node = NODES[(node >>> Shift.PAYLOAD) + ((select >>> (kind << 2)) & 15)] as number;
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
    const form = (mod << 6) | (reg << 3) | rm;
    let address = asize32 ? (ADDRESS32[form] as number) : (ADDRESS16[form] as number);
    if ((address & L.SIB) !== 0) {
      if (pos >= stop) return truncated(out, offset, pos + 1, end, limit, ip, bitness);
      address = ADDRESS_SIB[(mod << 8) | (bytes[pos++] as number)] as number;
    }
    memBase = address & 0xff;
    memIndex = (address >>> L.INDEX) & 0xff;
    memSegment = (address >>> L.SEGMENT) & 31;
    memScale = address >>> L.SCALE;
    dispSize = (address >>> L.DISP) & 7;
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
          if (asize32) disp |= ((bytes[pos + 2] as number) << 16) | ((bytes[pos + 3] as number) << 24);
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

  out.rawIp = ip | 0;
  out.length = pos - offset;
  out.bitness = bitness;
  out.code = code;
  out.opcodeModrm = (opcode << 8) | modrm;
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
    out.rawDisplacement = disp;
    out.memDisplSize = dispSize;
    out.memSegment = memSegment;
    out.memSize = memSize;
  }
  if (hasImmediate) out.rawImmediate = immediate | 0;
  if (hasImmediate2) out.immediate2 = immediate2;
  if (hasBranch) {
    out.rawBranchTarget = branchTarget | 0;
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
  out.rawIp = ip | 0;
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

/**
 * Decodes PRIMING_SAMPLES when the module loads, so that V8 has type feedback for every path of the
 * decoder before any of it gets hot. TurboFan optimises a function for the paths, call sites and value
 * ranges its feedback has seen; the first one used later (a 3-operand Code, a prefix, an immediate with
 * the top bit set, the end of a buffer) deoptimises it, and it runs in the interpreter until it is hot
 * again and recompiled. Real code turns those up one after another, so without this the decoder went
 * through about six such rounds, and how many had passed by a given moment varied from run to run.
 */
function primeDecoder(): void {
  const out = new Instruction();
  const samples = PRIMING_SAMPLES.map(([bitness, hex]) => ({
    bitness,
    bytes: sampleBytes(hex),
    length: (hex.length + 1) / 3,
  }));
  // V8 collects feedback only once a function has run for a while, so the first pass may go unrecorded.
  for (let pass = 0; pass < 2; pass++) {
    for (let i = 0; i < samples.length; i++) {
      const { bitness, bytes, length } = samples[i] as (typeof samples)[number];
      // Addresses below and above 2^31 (small integers and doubles), whole, at the end of the bytes, cut short.
      const ip = (i & 1) === 0 ? 0x1000 : 0xfffffff0;
      decodeInstruction(bytes, 0, bytes.length, ip, bitness, out);
      decodeInstruction(bytes, 0, length, ip, bitness, out);
      decodeInstruction(bytes, 0, length - 1, ip, bitness, out);
    }
  }
  const prefixes = new Uint8Array(16).fill(0x66);
  decodeInstruction(prefixes, 0, prefixes.length, 0, 32, out);
  decodeInstruction(prefixes, prefixes.length, prefixes.length, 0, 32, out);
}
primeDecoder();
